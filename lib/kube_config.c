#include "kube_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "buf.h"
#include "rfc3339.h"
#include "xalloc.h"
#include "yamljson.h"

extern char **environ;

/* client-go re-reads a bound service-account token this often. */
#define TOKEN_FILE_TTL_S 60
#define EXEC_V1 "client.authentication.k8s.io/v1"
#define EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"

typedef struct {
    char *api_version;
    char **argv; /* NULL-terminated; argv[0] is the command */
    char **env;  /* NULL-terminated NAME=VALUE added to the child's environment */
    bool cluster_info;
    bool cached;
    time_t expiry; /* 0: valid until a 401 */
    char *token;
    unsigned char *cert, *key;
    size_t cert_len, key_len;
} exec_plugin;

struct kube_config {
    char *context, *server, *ns;
    char *who; /* `FILE: user "u"`, the prefix of credential errors */
    bool insecure;
    unsigned char *ca, *cert, *key;
    size_t ca_len, cert_len, key_len;
    char *token;
    char *token_file;
    bool token_fresh;
    time_t token_read_at; /* CLOCK_MONOTONIC seconds */
    exec_plugin *exec;
};

/* One kubeconfig file of a merged set. */
typedef struct {
    char *path;
    char *dir; /* relative paths inside the file resolve against this */
    cJSON *doc;
} kfile;

static time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Fails with "path: strerror" so that every caller's message names the file. */
static int read_all(const char *path, buf *out, exo_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, "%s: %s", path, strerror(errno));
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return err_set(err, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    return 0;
}

static void trim_right(buf *b)
{
    while (b->len && strchr(" \t\r\n", b->ptr[b->len - 1]))
        b->ptr[--b->len] = '\0';
}

static char *resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir)
        return xstrdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    buf b = BUF_INIT;
    buf_printf(&b, "%s/%s", dir, path);
    return buf_detach(&b);
}

static const char *str_field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Reads `field`-data (base64) or else the file `field`; data wins, as in
 * client-go. Leaves *out NULL when neither is set. */
static int load_blob(const cJSON *obj, const char *field, const kfile *f, const char *what,
                     unsigned char **out, size_t *len, exo_err *err)
{
    buf data_key = BUF_INIT;
    buf_printf(&data_key, "%s-data", field);
    const char *data = str_field(obj, data_key.ptr);
    const char *file = str_field(obj, field);
    int bad = data ? base64_decode(data, out, len) : 0;
    if (bad < 0)
        err_set(err, "%s: %s: %s is not base64", f->path, what, data_key.ptr);
    buf_free(&data_key);
    if (data)
        return bad;
    if (!file)
        return 0;
    char *path = resolve(f->dir, file);
    buf b = BUF_INIT;
    int rc = read_all(path, &b, err);
    free(path);
    if (rc < 0) {
        buf_free(&b);
        return err_prefix(err, "%s: %s: %s", f->path, what, field);
    }
    *len = b.len;
    *out = (unsigned char *)buf_detach(&b);
    return 0;
}

/* The first entry called `name` in the list `list` ("clusters", "users",
 * "contexts") of the first file that has one: that is the merge rule. */
static const cJSON *find_named(const kfile *files, size_t n, const char *list, const char *name,
                               const kfile **from)
{
    static const char *const inner[][2] = {
        {"clusters", "cluster"}, {"users", "user"}, {"contexts", "context"}};
    const char *key = NULL;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(inner[i][0], list) == 0)
            key = inner[i][1];
    for (size_t i = 0; i < n; i++) {
        const cJSON *e;
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(files[i].doc, list)) {
            const char *en = str_field(e, "name");
            if (en && strcmp(en, name) == 0) {
                *from = &files[i];
                const cJSON *body = cJSON_GetObjectItemCaseSensitive(e, key);
                static cJSON empty = {.type = cJSON_Object};
                return cJSON_IsObject(body) ? body : &empty;
            }
        }
    }
    return NULL;
}

static char **string_array(const cJSON *arr, const char *first)
{
    int n = cJSON_GetArraySize(arr);
    char **v = xcalloc((size_t)n + 2, sizeof *v);
    size_t k = 0;
    if (first)
        v[k++] = xstrdup(first);
    const cJSON *e;
    cJSON_ArrayForEach (e, arr) {
        if (cJSON_IsString(e))
            v[k++] = xstrdup(e->valuestring);
    }
    return v;
}

static void free_strings(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void exec_free(exec_plugin *x)
{
    if (!x)
        return;
    free(x->api_version);
    free_strings(x->argv);
    free_strings(x->env);
    free(x->token);
    free(x->cert);
    free(x->key);
    free(x);
}

static int parse_exec(kube_config *cfg, const cJSON *ex, const kfile *f, exo_err *err)
{
    const char *api = str_field(ex, "apiVersion");
    const char *cmd = str_field(ex, "command");
    if (!api || (strcmp(api, EXEC_V1) != 0 && strcmp(api, EXEC_V1BETA1) != 0))
        return err_set(err, "%s: exec: apiVersion \"%s\" is not supported (use %s)", cfg->who,
                       api ? api : "", EXEC_V1);
    if (!cmd)
        return err_set(err, "%s: exec: command is not set", cfg->who);
    exec_plugin *x = xcalloc(1, sizeof *x);
    cfg->exec = x;
    x->api_version = xstrdup(api);
    /* As client-go: "./bin/plugin" is relative to the kubeconfig, "plugin" is looked up in PATH. */
    char *command = strchr(cmd, '/') ? resolve(f->dir, cmd) : xstrdup(cmd);
    x->argv = string_array(cJSON_GetObjectItemCaseSensitive(ex, "args"), command);
    free(command);
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(ex, "env");
    x->env = xcalloc((size_t)cJSON_GetArraySize(env) + 1, sizeof *x->env);
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, env) {
        const char *name = str_field(e, "name");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(e, "value");
        if (!name || strchr(name, '=') || !cJSON_IsString(value))
            return err_set(err, "%s: exec: env entries need a name and a string value", cfg->who);
        buf b = BUF_INIT;
        buf_printf(&b, "%s=%s", name, value->valuestring);
        x->env[k++] = buf_detach(&b);
    }
    x->cluster_info = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "provideClusterInfo"));
    return 0;
}

static int load_user(kube_config *cfg, const cJSON *user, const kfile *f, const char *name,
                     exo_err *err)
{
    buf what = BUF_INIT;
    buf_printf(&what, "user \"%s\"", name);
    int rc = -1;
    if (cJSON_GetObjectItemCaseSensitive(user, "auth-provider")) {
        err_set(err, "%s: %s: auth-provider is not supported (use an exec plugin)", f->path,
                what.ptr);
        goto out;
    }
    if (str_field(user, "username") || str_field(user, "password")) {
        err_set(err, "%s: %s: basic auth (username/password) is not supported", f->path, what.ptr);
        goto out;
    }
    if (load_blob(user, "client-certificate", f, what.ptr, &cfg->cert, &cfg->cert_len, err) < 0 ||
        load_blob(user, "client-key", f, what.ptr, &cfg->key, &cfg->key_len, err) < 0)
        goto out;
    if (!cfg->cert != !cfg->key) {
        err_set(err, "%s: %s: %s is set but %s is not", f->path, what.ptr,
                cfg->cert ? "client-certificate" : "client-key",
                cfg->cert ? "client-key" : "client-certificate");
        goto out;
    }
    const char *token = str_field(user, "token");
    const char *token_file = str_field(user, "tokenFile");
    if (token)
        cfg->token = xstrdup(token);
    if (token_file)
        cfg->token_file = resolve(f->dir, token_file);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(user, "exec");
    if (cJSON_IsObject(ex) && parse_exec(cfg, ex, f, err) < 0)
        goto out;
    rc = 0;
out:
    buf_free(&what);
    return rc;
}

static int load_cluster(kube_config *cfg, const cJSON *cl, const kfile *f, const char *name,
                        exo_err *err)
{
    buf what = BUF_INIT;
    buf_printf(&what, "cluster \"%s\"", name);
    int rc = -1;
    const char *server = str_field(cl, "server");
    if (!server) {
        err_set(err, "%s: %s: server is not set", f->path, what.ptr);
        goto out;
    }
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
        err_set(err, "%s: %s: server \"%s\" is not an http(s) URL", f->path, what.ptr, server);
        goto out;
    }
    cfg->server = xstrdup(server);
    size_t n = strlen(cfg->server);
    while (n && cfg->server[n - 1] == '/')
        cfg->server[--n] = '\0';
    cfg->insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cl, "insecure-skip-tls-verify"));
    rc = load_blob(cl, "certificate-authority", f, what.ptr, &cfg->ca, &cfg->ca_len, err);
out:
    buf_free(&what);
    return rc;
}

/* Builds cfg from the context chosen among the merged files. */
static int from_files(kube_config *cfg, const kfile *files, size_t n, const char *shown,
                      const char *context, exo_err *err)
{
    for (size_t i = 0; i < n && !context; i++)
        context = str_field(files[i].doc, "current-context");
    if (!context)
        return err_set(err, "%s: current-context is not set (use --context)", shown);
    const kfile *cf, *lf, *uf;
    const cJSON *ctx = find_named(files, n, "contexts", context, &cf);
    if (!ctx)
        return err_set(err, "%s: context \"%s\" not found", shown, context);
    cfg->context = xstrdup(context);
    const char *ns = str_field(ctx, "namespace");
    cfg->ns = xstrdup(ns ? ns : "default");
    const char *cluster = str_field(ctx, "cluster");
    if (!cluster)
        return err_set(err, "%s: context \"%s\": cluster is not set", cf->path, context);
    const cJSON *cl = find_named(files, n, "clusters", cluster, &lf);
    if (!cl)
        return err_set(err, "%s: context \"%s\": cluster \"%s\" not found", cf->path, context,
                       cluster);
    if (load_cluster(cfg, cl, lf, cluster, err) < 0)
        return -1;
    const char *user = str_field(ctx, "user");
    if (!user) { /* no credentials: nothing will need cfg->who */
        cfg->who = xstrdup(cf->path);
        return 0;
    }
    const cJSON *u = find_named(files, n, "users", user, &uf);
    if (!u)
        return err_set(err, "%s: context \"%s\": user \"%s\" not found", cf->path, context, user);
    buf who = BUF_INIT;
    buf_printf(&who, "%s: user \"%s\"", uf->path, user);
    cfg->who = buf_detach(&who);
    return load_user(cfg, u, uf, user, err);
}

/* Returns 1 when the file was read, 0 when it is missing and optional. */
static int read_kfile(kfile *f, const char *path, bool required, exo_err *err)
{
    buf text = BUF_INIT;
    int rc = -1;
    memset(f, 0, sizeof *f);
    if (!required && access(path, F_OK) != 0 && errno == ENOENT) {
        rc = 0;
        goto out;
    }
    if (read_all(path, &text, err) < 0)
        goto out;
    if (text.len == 0) {
        f->doc = cJSON_CreateObject();
    } else if (yamljson_parse_one(&f->doc, text.ptr, text.len, path, err) < 0) {
        goto out;
    } else if (!cJSON_IsObject(f->doc)) {
        cJSON_Delete(f->doc);
        f->doc = NULL;
        err_set(err, "%s: not a kubeconfig (expected a mapping)", path);
        goto out;
    }
    f->path = xstrdup(path);
    const char *slash = strrchr(path, '/');
    f->dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    rc = 1;
out:
    buf_free(&text);
    return rc;
}

int kube_config_load(kube_config **out, const kube_config_opts *opts, exo_err *err)
{
    const char *explicit_path = opts ? opts->kubeconfig : NULL;
    const char *context = opts ? opts->context : NULL;
    const char *list = getenv("KUBECONFIG");
    kfile *files = NULL;
    size_t n = 0;
    buf shown = BUF_INIT;
    kube_config *cfg = xcalloc(1, sizeof *cfg);
    int rc = -1;
    *out = NULL;
    if (explicit_path || !list || !*list) {
        const char *home = getenv("HOME");
        if (explicit_path)
            buf_puts(&shown, explicit_path);
        else
            buf_printf(&shown, "%s/.kube/config", home ? home : "");
        files = xcalloc(1, sizeof *files);
        if (read_kfile(&files[0], shown.ptr, true, err) < 0)
            goto out;
        n = 1;
    } else {
        buf_puts(&shown, list);
        char *copy = xstrdup(list), *save = NULL;
        for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
            bool dup = false;
            for (size_t i = 0; i < n; i++)
                dup = dup || strcmp(files[i].path, p) == 0;
            if (dup)
                continue;
            files = xrealloc(files, (n + 1) * sizeof *files);
            int got = read_kfile(&files[n], p, false, err);
            if (got < 0) {
                free(copy);
                goto out;
            }
            n += (size_t)got;
        }
        free(copy);
        if (n == 0) {
            err_set(err, "$KUBECONFIG (%s): none of these files exists", list);
            goto out;
        }
    }
    if (from_files(cfg, files, n, n == 1 ? files[0].path : shown.ptr, context, err) < 0)
        goto out;
    kube_credentials creds;
    /* Read a tokenFile now so that a wrong path fails at load, not at the first request. */
    if (cfg->token_file && kube_config_credentials(cfg, &creds, err) < 0)
        goto out;
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(files[i].path);
        free(files[i].dir);
        cJSON_Delete(files[i].doc);
    }
    free(files);
    buf_free(&shown);
    kube_config_free(cfg);
    return rc;
}

int kube_config_in_cluster(kube_config **out, const char *dir, exo_err *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    kube_config *cfg = xcalloc(1, sizeof *cfg);
    buf path = BUF_INIT, text = BUF_INIT;
    kube_credentials creds;
    int rc = -1;
    *out = NULL;
    dir = dir ? dir : KUBE_SERVICE_ACCOUNT_DIR;
    if (!host || !*host || !port || !*port) {
        err_set(err, "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set "
                     "(not running in a pod?)");
        goto out;
    }
    buf_printf(&path, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
    cfg->server = buf_detach(&path);
    cfg->context = xstrdup("in-cluster");
    cfg->who = xstrdup("in-cluster");
    buf_printf(&path, "%s/token", dir);
    cfg->token_file = buf_detach(&path);
    buf_printf(&path, "%s/namespace", dir);
    if (read_all(path.ptr, &text, NULL) == 0)
        trim_right(&text);
    cfg->ns = xstrdup(text.len ? text.ptr : "default");
    buf_clear(&path);
    buf_clear(&text);
    buf_printf(&path, "%s/ca.crt", dir);
    if (read_all(path.ptr, &text, err) < 0) {
        err_prefix(err, "in-cluster");
        goto out;
    }
    cfg->ca_len = text.len;
    cfg->ca = (unsigned char *)buf_detach(&text);
    if (kube_config_credentials(cfg, &creds, err) < 0)
        goto out;
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    buf_free(&path);
    buf_free(&text);
    kube_config_free(cfg);
    return rc;
}

void kube_config_free(kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->context);
    free(cfg->server);
    free(cfg->ns);
    free(cfg->who);
    free(cfg->ca);
    free(cfg->cert);
    free(cfg->key);
    free(cfg->token);
    free(cfg->token_file);
    exec_free(cfg->exec);
    free(cfg);
}

const char *kube_config_server(const kube_config *cfg)
{
    return cfg->server;
}

const char *kube_config_namespace(const kube_config *cfg)
{
    return cfg->ns;
}

const char *kube_config_context(const kube_config *cfg)
{
    return cfg->context;
}

bool kube_config_insecure(const kube_config *cfg)
{
    return cfg->insecure;
}

const unsigned char *kube_config_ca(const kube_config *cfg, size_t *len)
{
    *len = cfg->ca_len;
    return cfg->ca;
}

static int read_token_file(kube_config *cfg, exo_err *err)
{
    buf b = BUF_INIT;
    if (read_all(cfg->token_file, &b, err) < 0) {
        buf_free(&b);
        return err_prefix(err, "%s: tokenFile", cfg->who);
    }
    trim_right(&b);
    if (b.len == 0) {
        buf_free(&b);
        return err_set(err, "%s: tokenFile %s is empty", cfg->who, cfg->token_file);
    }
    free(cfg->token);
    cfg->token = buf_detach(&b);
    cfg->token_fresh = true;
    cfg->token_read_at = mono_now();
    return 0;
}

/* KUBERNETES_EXEC_INFO, the ExecCredential a plugin reads its input from. */
static char *exec_info(const kube_config *cfg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "apiVersion", cfg->exec->api_version);
    cJSON_AddStringToObject(j, "kind", "ExecCredential");
    cJSON *spec = cJSON_AddObjectToObject(j, "spec");
    cJSON_AddBoolToObject(spec, "interactive", 0);
    if (cfg->exec->cluster_info) {
        cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
        cJSON_AddStringToObject(cl, "server", cfg->server);
        if (cfg->ca) {
            char *ca = base64_encode(cfg->ca, cfg->ca_len);
            cJSON_AddStringToObject(cl, "certificate-authority-data", ca);
            free(ca);
        }
        cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", cfg->insecure);
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* Our environment plus the plugin's variables and KUBERNETES_EXEC_INFO,
 * built for the child alone: setenv here would change our own process. */
static char **child_env(const kube_config *cfg)
{
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (cfg->exec->env[extra])
        extra++;
    char **env = xcalloc(n + extra + 2, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(environ[i], "=");
        bool overridden = len == 20 && strncmp(environ[i], "KUBERNETES_EXEC_INFO", 20) == 0;
        for (size_t j = 0; j < extra && !overridden; j++)
            overridden = strncmp(cfg->exec->env[j], environ[i], len + 1) == 0;
        if (!overridden)
            env[k++] = xstrdup(environ[i]);
    }
    for (size_t j = 0; j < extra; j++)
        env[k++] = xstrdup(cfg->exec->env[j]);
    char *info = exec_info(cfg);
    buf b = BUF_INIT;
    buf_printf(&b, "KUBERNETES_EXEC_INFO=%s", info);
    free(info);
    env[k] = buf_detach(&b);
    return env;
}

/* Runs argv with envp, stdin from /dev/null, and collects its stdout. */
static int run_plugin(char **argv, char **envp, buf *out, const char *who, exo_err *err)
{
    int pout[2] = {-1, -1}, perr[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int rc = -1;
    if (devnull < 0 || pipe(pout) < 0 || pipe(perr) < 0) {
        err_set(err, "%s: exec plugin \"%s\": %s", who, argv[0], strerror(errno));
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(pout[i], F_SETFD, FD_CLOEXEC);
        fcntl(perr[i], F_SETFD, FD_CLOEXEC);
    }
    pid_t pid = fork();
    if (pid < 0) {
        err_set(err, "%s: exec plugin \"%s\": fork: %s", who, argv[0], strerror(errno));
        goto out;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. A failed exec reports its
         * errno through the close-on-exec pipe. */
        dup2(devnull, 0);
        dup2(pout[1], 1);
        environ = envp;
        execvp(argv[0], argv);
        int e = errno;
        (void)!write(perr[1], &e, sizeof e);
        _exit(127);
    }
    close(pout[1]);
    close(perr[1]);
    pout[1] = perr[1] = -1;
    char chunk[4096];
    ssize_t got;
    while ((got = read(pout[0], chunk, sizeof chunk)) != 0) {
        if (got > 0)
            buf_append(out, chunk, (size_t)got);
        else if (errno != EINTR)
            break;
    }
    int exec_errno = 0;
    while ((got = read(perr[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof exec_errno)
        err_set(err, "%s: exec plugin \"%s\": %s", who, argv[0], strerror(exec_errno));
    else if (WIFSIGNALED(status))
        err_set(err, "%s: exec plugin \"%s\": killed by signal %d", who, argv[0], WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        err_set(err, "%s: exec plugin \"%s\": exited with status %d", who, argv[0],
                WEXITSTATUS(status));
    else
        rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (pout[i] >= 0)
            close(pout[i]);
        if (perr[i] >= 0)
            close(perr[i]);
    }
    if (devnull >= 0)
        close(devnull);
    return rc;
}

static int run_exec(kube_config *cfg, exo_err *err)
{
    exec_plugin *x = cfg->exec;
    char **envp = child_env(cfg);
    buf out = BUF_INIT;
    cJSON *j = NULL;
    int rc = -1;
    if (run_plugin(x->argv, envp, &out, cfg->who, err) < 0)
        goto out;
    j = cJSON_ParseWithLength(out.ptr, out.len);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
    const char *kind = str_field(j, "kind"), *api = str_field(j, "apiVersion");
    if (!j || !kind || strcmp(kind, "ExecCredential") != 0 || !cJSON_IsObject(status)) {
        err_set(err, "%s: exec plugin \"%s\": output is not an ExecCredential with a status",
                cfg->who, x->argv[0]);
        goto out;
    }
    if (!api || strcmp(api, x->api_version) != 0) {
        err_set(err, "%s: exec plugin \"%s\": returned apiVersion \"%s\", want \"%s\"", cfg->who,
                x->argv[0], api ? api : "", x->api_version);
        goto out;
    }
    const char *token = str_field(status, "token");
    const char *cert = str_field(status, "clientCertificateData");
    const char *key = str_field(status, "clientKeyData");
    const char *exp = str_field(status, "expirationTimestamp");
    time_t expiry = 0;
    if (!token && !(cert && key)) {
        err_set(err,
                "%s: exec plugin \"%s\": status has neither token nor "
                "clientCertificateData and clientKeyData",
                cfg->who, x->argv[0]);
        goto out;
    }
    if (exp && !rfc3339_parse(exp, &expiry)) {
        err_set(err, "%s: exec plugin \"%s\": expirationTimestamp \"%s\" is not RFC 3339", cfg->who,
                x->argv[0], exp);
        goto out;
    }
    free(x->token);
    free(x->cert);
    free(x->key);
    x->token = token ? xstrdup(token) : NULL;
    x->cert = cert && key ? (unsigned char *)xstrdup(cert) : NULL;
    x->key = cert && key ? (unsigned char *)xstrdup(key) : NULL;
    x->cert_len = x->cert ? strlen(cert) : 0;
    x->key_len = x->key ? strlen(key) : 0;
    x->expiry = expiry;
    x->cached = true;
    rc = 0;
out:
    cJSON_Delete(j);
    buf_free(&out);
    free_strings(envp);
    return rc;
}

int kube_config_credentials(kube_config *cfg, kube_credentials *out, exo_err *err)
{
    memset(out, 0, sizeof *out);
    if (cfg->token_file &&
        (!cfg->token_fresh || mono_now() - cfg->token_read_at >= TOKEN_FILE_TTL_S)) {
        exo_err e = EXO_ERR_INIT;
        int rc = read_token_file(cfg, &e);
        /* As client-go: a failed re-read keeps the token we have. */
        if (rc < 0 && !cfg->token) {
            err_set(err, "%s", err_msg(&e));
            err_clear(&e);
            return -1;
        }
        err_clear(&e);
    }
    exec_plugin *x = cfg->exec;
    if (x && (!x->cached || (x->expiry && time(NULL) >= x->expiry)) && run_exec(cfg, err) < 0)
        return -1;
    out->token = cfg->token;
    out->cert = cfg->cert;
    out->cert_len = cfg->cert_len;
    out->key = cfg->key;
    out->key_len = cfg->key_len;
    if (x && x->token)
        out->token = x->token;
    if (x && x->cert) {
        out->cert = x->cert;
        out->cert_len = x->cert_len;
        out->key = x->key;
        out->key_len = x->key_len;
    }
    return 0;
}

bool kube_config_invalidate(kube_config *cfg)
{
    cfg->token_fresh = false;
    if (cfg->exec)
        cfg->exec->cached = false;
    return cfg->token_file || cfg->exec;
}

#include "kube_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "kube_config_files.h"
#include "rfc3339.h"
#include "xalloc.h"

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

struct kube_auth {
    char *who; /* `FILE: user "u"`, the prefix of credential errors */
    unsigned char *cert, *key;
    size_t cert_len, key_len;
    char *token; /* the static token, or the token file's contents */
    char *token_file;
    bool token_fresh;
    time_t token_read_at; /* CLOCK_MONOTONIC seconds */
    exec_plugin *exec;
    /* The cluster, for provideClusterInfo: borrowed. */
    const char *server;
    const unsigned char *ca;
    size_t ca_len;
    bool insecure;
};

static time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
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

kube_auth *kube_auth_new(const char *who)
{
    kube_auth *a = xcalloc(1, sizeof *a);
    a->who = xstrdup(who);
    return a;
}

void kube_auth_free(kube_auth *a)
{
    if (!a)
        return;
    free(a->who);
    free(a->cert);
    free(a->key);
    free(a->token);
    free(a->token_file);
    exec_free(a->exec);
    free(a);
}

void kube_auth_set_token(kube_auth *a, const char *token)
{
    free(a->token);
    a->token = xstrdup(token);
}

void kube_auth_set_client_cert(kube_auth *a, unsigned char *cert, size_t cert_len,
                               unsigned char *key, size_t key_len)
{
    free(a->cert);
    free(a->key);
    a->cert = cert;
    a->cert_len = cert_len;
    a->key = key;
    a->key_len = key_len;
}

void kube_auth_set_token_file(kube_auth *a, const char *path)
{
    free(a->token_file);
    a->token_file = xstrdup(path);
}

bool kube_auth_has_token_file(const kube_auth *a)
{
    return a->token_file != NULL;
}

void kube_auth_set_cluster(kube_auth *a, const char *server, const unsigned char *ca, size_t ca_len,
                           bool insecure)
{
    a->server = server;
    a->ca = ca;
    a->ca_len = ca_len;
    a->insecure = insecure;
}

int kube_auth_set_exec(kube_auth *a, const cJSON *ex, const char *dir, exo_err *err)
{
    const char *api = kube_config_str(ex, "apiVersion");
    const char *cmd = kube_config_str(ex, "command");
    if (!api || (strcmp(api, EXEC_V1) != 0 && strcmp(api, EXEC_V1BETA1) != 0))
        return err_set(err, "%s: exec: apiVersion \"%s\" is not supported (use %s)", a->who,
                       api ? api : "", EXEC_V1);
    if (!cmd)
        return err_set(err, "%s: exec: command is not set", a->who);
    exec_plugin *x = xcalloc(1, sizeof *x);
    a->exec = x;
    x->api_version = xstrdup(api);
    /* As client-go: "./bin/plugin" is relative to the kubeconfig, "plugin" is looked up in PATH. */
    char *command = strchr(cmd, '/') ? kube_config_resolve(dir, cmd) : xstrdup(cmd);
    x->argv = string_array(cJSON_GetObjectItemCaseSensitive(ex, "args"), command);
    free(command);
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(ex, "env");
    x->env = xcalloc((size_t)cJSON_GetArraySize(env) + 1, sizeof *x->env);
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, env) {
        const char *name = kube_config_str(e, "name");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(e, "value");
        if (!name || strchr(name, '=') || !cJSON_IsString(value))
            return err_set(err, "%s: exec: env entries need a name and a string value", a->who);
        buf b = BUF_INIT;
        buf_printf(&b, "%s=%s", name, value->valuestring);
        x->env[k++] = buf_detach(&b);
    }
    x->cluster_info = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "provideClusterInfo"));
    return 0;
}

static int read_token_file(kube_auth *a, exo_err *err)
{
    buf b = BUF_INIT;
    if (kube_config_read_file(a->token_file, &b, err) < 0) {
        buf_free(&b);
        return err_prefix(err, "%s: tokenFile", a->who);
    }
    kube_config_trim(&b);
    if (b.len == 0) {
        buf_free(&b);
        return err_set(err, "%s: tokenFile %s is empty", a->who, a->token_file);
    }
    free(a->token);
    a->token = buf_detach(&b);
    a->token_fresh = true;
    a->token_read_at = mono_now();
    return 0;
}

/* KUBERNETES_EXEC_INFO, the ExecCredential a plugin reads its input from. */
static char *exec_info(const kube_auth *a)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "apiVersion", a->exec->api_version);
    cJSON_AddStringToObject(j, "kind", "ExecCredential");
    cJSON *spec = cJSON_AddObjectToObject(j, "spec");
    cJSON_AddBoolToObject(spec, "interactive", 0);
    if (a->exec->cluster_info) {
        cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
        cJSON_AddStringToObject(cl, "server", a->server);
        if (a->ca) {
            char *ca = base64_encode(a->ca, a->ca_len);
            cJSON_AddStringToObject(cl, "certificate-authority-data", ca);
            free(ca);
        }
        cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", a->insecure);
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* Our environment plus the plugin's variables and KUBERNETES_EXEC_INFO,
 * built for the child alone: setenv here would change our own process. */
static char **child_env(const kube_auth *a)
{
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (a->exec->env[extra])
        extra++;
    char **env = xcalloc(n + extra + 2, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(environ[i], "=");
        bool overridden = len == 20 && strncmp(environ[i], "KUBERNETES_EXEC_INFO", 20) == 0;
        for (size_t j = 0; j < extra && !overridden; j++)
            overridden = strncmp(a->exec->env[j], environ[i], len + 1) == 0;
        if (!overridden)
            env[k++] = xstrdup(environ[i]);
    }
    for (size_t j = 0; j < extra; j++)
        env[k++] = xstrdup(a->exec->env[j]);
    char *info = exec_info(a);
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

static int run_exec(kube_auth *a, exo_err *err)
{
    exec_plugin *x = a->exec;
    char **envp = child_env(a);
    buf out = BUF_INIT;
    cJSON *j = NULL;
    int rc = -1;
    if (run_plugin(x->argv, envp, &out, a->who, err) < 0)
        goto out;
    j = cJSON_ParseWithLength(out.ptr, out.len);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
    const char *kind = kube_config_str(j, "kind"), *api = kube_config_str(j, "apiVersion");
    if (!j || !kind || strcmp(kind, "ExecCredential") != 0 || !cJSON_IsObject(status)) {
        err_set(err, "%s: exec plugin \"%s\": output is not an ExecCredential with a status",
                a->who, x->argv[0]);
        goto out;
    }
    if (!api || strcmp(api, x->api_version) != 0) {
        err_set(err, "%s: exec plugin \"%s\": returned apiVersion \"%s\", want \"%s\"", a->who,
                x->argv[0], api ? api : "", x->api_version);
        goto out;
    }
    const char *token = kube_config_str(status, "token");
    const char *cert = kube_config_str(status, "clientCertificateData");
    const char *key = kube_config_str(status, "clientKeyData");
    const char *exp = kube_config_str(status, "expirationTimestamp");
    time_t expiry = 0;
    if (!token && !(cert && key)) {
        err_set(err,
                "%s: exec plugin \"%s\": status has neither token nor "
                "clientCertificateData and clientKeyData",
                a->who, x->argv[0]);
        goto out;
    }
    if (exp && !rfc3339_parse(exp, &expiry)) {
        err_set(err, "%s: exec plugin \"%s\": expirationTimestamp \"%s\" is not RFC 3339", a->who,
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

int kube_auth_get(kube_auth *a, kube_credentials *out, exo_err *err)
{
    memset(out, 0, sizeof *out);
    if (a->token_file && (!a->token_fresh || mono_now() - a->token_read_at >= TOKEN_FILE_TTL_S)) {
        exo_err e = EXO_ERR_INIT;
        int rc = read_token_file(a, &e);
        /* As client-go: a failed re-read keeps the token we have. */
        if (rc < 0 && !a->token) {
            err_set(err, "%s", err_msg(&e));
            err_clear(&e);
            return -1;
        }
        err_clear(&e);
    }
    exec_plugin *x = a->exec;
    if (x && (!x->cached || (x->expiry && time(NULL) >= x->expiry)) && run_exec(a, err) < 0)
        return -1;
    out->token = a->token;
    out->cert = a->cert;
    out->cert_len = a->cert_len;
    out->key = a->key;
    out->key_len = a->key_len;
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

bool kube_auth_invalidate(kube_auth *a)
{
    a->token_fresh = false;
    if (a->exec)
        a->exec->cached = false;
    return a->token_file || a->exec;
}

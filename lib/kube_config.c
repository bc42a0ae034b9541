#include "kube_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "buf.h"
#include "kube_auth.h"
#include "kube_config_files.h"
#include "xalloc.h"
#include "yamljson.h"

struct kube_config {
    char *context, *server, *ns;
    bool insecure;
    unsigned char *ca;
    size_t ca_len;
    kube_auth *auth; /* NULL when the context names no user */
};

/* One kubeconfig file of a merged set. */
typedef struct {
    char *path;
    char *dir; /* relative paths inside the file resolve against this */
    cJSON *doc;
} kfile;

/* Reads `field`-data (base64) or else the file `field`; data wins, as in
 * client-go. Leaves *out NULL when neither is set. */
static int load_blob(const cJSON *obj, const char *field, const kfile *f, const char *what,
                     unsigned char **out, size_t *len, exo_err *err)
{
    buf data_key = BUF_INIT;
    buf_printf(&data_key, "%s-data", field);
    const char *data = kube_config_str(obj, data_key.ptr);
    const char *file = kube_config_str(obj, field);
    int bad = data ? base64_decode(data, out, len) : 0;
    if (bad < 0)
        err_set(err, "%s: %s: %s is not base64", f->path, what, data_key.ptr);
    buf_free(&data_key);
    if (data)
        return bad;
    if (!file)
        return 0;
    char *path = kube_config_resolve(f->dir, file);
    buf b = BUF_INIT;
    int rc = kube_config_read_file(path, &b, err);
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
            const char *en = kube_config_str(e, "name");
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

static int load_user(kube_config *cfg, const cJSON *user, const kfile *f, const char *name,
                     exo_err *err)
{
    buf what = BUF_INIT;
    buf_printf(&what, "user \"%s\"", name);
    unsigned char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    int rc = -1;
    if (cJSON_GetObjectItemCaseSensitive(user, "auth-provider")) {
        err_set(err, "%s: %s: auth-provider is not supported (use an exec plugin)", f->path,
                what.ptr);
        goto out;
    }
    if (kube_config_str(user, "username") || kube_config_str(user, "password")) {
        err_set(err, "%s: %s: basic auth (username/password) is not supported", f->path, what.ptr);
        goto out;
    }
    if (load_blob(user, "client-certificate", f, what.ptr, &cert, &cert_len, err) < 0 ||
        load_blob(user, "client-key", f, what.ptr, &key, &key_len, err) < 0)
        goto out;
    if (!cert != !key) {
        err_set(err, "%s: %s: %s is set but %s is not", f->path, what.ptr,
                cert ? "client-certificate" : "client-key",
                cert ? "client-key" : "client-certificate");
        goto out;
    }
    if (cert) {
        kube_auth_set_client_cert(cfg->auth, cert, cert_len, key, key_len);
        cert = key = NULL;
    }
    const char *token = kube_config_str(user, "token");
    const char *token_file = kube_config_str(user, "tokenFile");
    if (token)
        kube_auth_set_token(cfg->auth, token);
    if (token_file) {
        char *path = kube_config_resolve(f->dir, token_file);
        kube_auth_set_token_file(cfg->auth, path);
        free(path);
    }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(user, "exec");
    if (cJSON_IsObject(ex) && kube_auth_set_exec(cfg->auth, ex, f->dir, err) < 0)
        goto out;
    rc = 0;
out:
    free(cert);
    free(key);
    buf_free(&what);
    return rc;
}

static int load_cluster(kube_config *cfg, const cJSON *cl, const kfile *f, const char *name,
                        exo_err *err)
{
    buf what = BUF_INIT;
    buf_printf(&what, "cluster \"%s\"", name);
    int rc = -1;
    const char *server = kube_config_str(cl, "server");
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
        context = kube_config_str(files[i].doc, "current-context");
    if (!context)
        return err_set(err, "%s: current-context is not set (use --context)", shown);
    const kfile *cf, *lf, *uf;
    const cJSON *ctx = find_named(files, n, "contexts", context, &cf);
    if (!ctx)
        return err_set(err, "%s: context \"%s\" not found", shown, context);
    cfg->context = xstrdup(context);
    const char *ns = kube_config_str(ctx, "namespace");
    cfg->ns = xstrdup(ns ? ns : "default");
    const char *cluster = kube_config_str(ctx, "cluster");
    if (!cluster)
        return err_set(err, "%s: context \"%s\": cluster is not set", cf->path, context);
    const cJSON *cl = find_named(files, n, "clusters", cluster, &lf);
    if (!cl)
        return err_set(err, "%s: context \"%s\": cluster \"%s\" not found", cf->path, context,
                       cluster);
    if (load_cluster(cfg, cl, lf, cluster, err) < 0)
        return -1;
    const char *user = kube_config_str(ctx, "user");
    if (!user) /* no credentials: cfg->auth stays NULL */
        return 0;
    const cJSON *u = find_named(files, n, "users", user, &uf);
    if (!u)
        return err_set(err, "%s: context \"%s\": user \"%s\" not found", cf->path, context, user);
    buf who = BUF_INIT;
    buf_printf(&who, "%s: user \"%s\"", uf->path, user);
    cfg->auth = kube_auth_new(who.ptr);
    buf_free(&who);
    kube_auth_set_cluster(cfg->auth, cfg->server, cfg->ca, cfg->ca_len, cfg->insecure);
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
    if (kube_config_read_file(path, &text, err) < 0)
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
    if (cfg->auth && kube_auth_has_token_file(cfg->auth) &&
        kube_config_credentials(cfg, &creds, err) < 0)
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
    cfg->auth = kube_auth_new("in-cluster");
    buf_printf(&path, "%s/token", dir);
    kube_auth_set_token_file(cfg->auth, path.ptr);
    buf_clear(&path);
    buf_printf(&path, "%s/namespace", dir);
    if (kube_config_read_file(path.ptr, &text, NULL) == 0)
        kube_config_trim(&text);
    cfg->ns = xstrdup(text.len ? text.ptr : "default");
    buf_clear(&path);
    buf_clear(&text);
    buf_printf(&path, "%s/ca.crt", dir);
    if (kube_config_read_file(path.ptr, &text, err) < 0) {
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
    /* Before the CA and server it borrows. */
    kube_auth_free(cfg->auth);
    free(cfg->ca);
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

int kube_config_credentials(kube_config *cfg, kube_credentials *out, exo_err *err)
{
    if (!cfg->auth) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    return kube_auth_get(cfg->auth, out, err);
}

bool kube_config_invalidate(kube_config *cfg)
{
    return cfg->auth && kube_auth_invalidate(cfg->auth);
}

/* Loading kubeconfigs (lib/kube_config). The input, cut at 0x00 bytes, is
 * up to two kubeconfig files and a context name; its first byte chooses
 * whether the files are named by $KUBECONFIG (merged) or the first by
 * --kubeconfig, and whether the context is passed.
 *
 * The files are written to a temporary folder after a harmless rewrite of
 * what could reach outside it: exec plugins get a command that does not
 * exist (with PATH set to the empty folder; a tokenFile makes loading fetch
 * credentials) and file paths keep only their last part, so they resolve
 * inside the folder, which holds a token, a CA, a certificate and a key.
 * A file that does not parse is written as it is (loading refuses it).
 *
 * Properties: a loaded config has an http(s) server without a trailing '/',
 * a namespace and the chosen context; no error message holds a token or
 * client key (when that value is not also part of another string of the
 * files, where a message may rightly show it). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz_common.h"
#include "kube_config.h"
#include "xalloc.h"
#include "yamljson.h"

static const char *const helpers[][2] = {
    {"token", "fuzz-token-from-file\n"},
    {"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
    {"client.crt", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"},
    {"client.key", "-----BEGIN PRIVATE KEY-----\nMIID\n-----END PRIVATE KEY-----\n"},
};

static char folder[256];
static buf path_a = BUF_INIT, path_b = BUF_INIT, list = BUF_INIT, empty = BUF_INIT;

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot write %s", path);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void in_folder(buf *out, const char *name)
{
    buf_clear(out);
    buf_printf(out, "%s/%s", folder, name);
}

static void remove_folder(void)
{
    buf p = BUF_INIT;
    for (size_t i = 0; i < sizeof helpers / sizeof helpers[0]; i++) {
        in_folder(&p, helpers[i][0]);
        unlink(p.ptr);
    }
    unlink(path_a.ptr);
    unlink(path_b.ptr);
    rmdir(empty.ptr);
    rmdir(folder);
    buf_free(&p);
    buf_free(&path_a);
    buf_free(&path_b);
    buf_free(&list);
    buf_free(&empty);
}

static void setup(void)
{
    if (folder[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(folder, sizeof folder, "%s/exo-fuzz-kube-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(folder) != NULL, "mkdtemp %s", folder);
    atexit(remove_folder);
    buf p = BUF_INIT;
    for (size_t i = 0; i < sizeof helpers / sizeof helpers[0]; i++) {
        in_folder(&p, helpers[i][0]);
        write_file(p.ptr, helpers[i][1], strlen(helpers[i][1]));
    }
    buf_free(&p);
    in_folder(&path_a, "a");
    in_folder(&path_b, "b");
    in_folder(&empty, "empty");
    FUZZ_CHECK(mkdir(empty.ptr, 0700) == 0, "mkdir %s", empty.ptr);
    buf_printf(&list, "%s:%s", path_a.ptr, path_b.ptr);
    setenv("PATH", empty.ptr, 1);
    setenv("HOME", folder, 1);
    unsetenv("KUBERNETES_SERVICE_HOST");
}

static bool is_path_field(const char *key)
{
    static const char *const keys[] = {"tokenFile", "certificate-authority", "client-certificate",
                                       "client-key", NULL};
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* Rewrites exec commands and file paths as the header says. */
static void defuse(cJSON *node)
{
    for (cJSON *c = node ? node->child : NULL; c; c = c->next) {
        if (c->string && cJSON_IsString(c)) {
            const char *slash = strrchr(c->valuestring, '/');
            if (strcmp(c->string, "command") == 0)
                cJSON_SetValuestring(c, "exo-fuzz-no-such-plugin");
            else if (is_path_field(c->string) && slash) {
                /* A copy: cJSON copies in place, and the ranges would overlap. */
                char *base = strdup(slash[1] ? slash + 1 : "missing");
                cJSON_SetValuestring(c, base);
                free(base);
            }
        }
        defuse(c);
    }
}

/* Writes one kubeconfig; *doc is its tree when it parses (caller frees). */
static void put_kubeconfig(const char *path, const char *data, size_t n, cJSON **doc)
{
    exo_err err = EXO_ERR_INIT;
    *doc = NULL;
    if (yamljson_parse_one(doc, data, n, "fuzz", &err) < 0) {
        write_file(path, data, n);
        err_clear(&err);
        return;
    }
    defuse(*doc);
    buf text = BUF_INIT;
    FUZZ_CHECK(yamljson_emit(&text, *doc, &err) == 0, "emit: %s", err_msg(&err));
    write_file(path, text.ptr, text.len);
    buf_free(&text);
}

/* Whether s is part of any string (key or value) of the tree other than
 * the node `self`. */
static bool elsewhere(const cJSON *node, const char *s, const cJSON *self)
{
    for (const cJSON *c = node ? node->child : NULL; c; c = c->next) {
        if (c->string && strstr(c->string, s))
            return true;
        if (c != self && cJSON_IsString(c) && strstr(c->valuestring, s))
            return true;
        if (elsewhere(c, s, self))
            return true;
    }
    return false;
}

/* No token or client key of doc in msg, unless the value is also the
 * --context given, which a message may name. */
static void check_secrets(const cJSON *node, const cJSON *a, const cJSON *b, const char *context,
                          const char *msg)
{
    for (const cJSON *c = node ? node->child : NULL; c; c = c->next) {
        if (c->string && cJSON_IsString(c) &&
            (strcmp(c->string, "token") == 0 || strcmp(c->string, "client-key-data") == 0)) {
            const char *v = c->valuestring;
            if (strlen(v) >= 8 && !strchr(v, ' ') && !strstr(folder, v) && !strstr(context, v) &&
                !elsewhere(a, v, c) && !elsewhere(b, v, c))
                FUZZ_CHECK(!strstr(msg, v), "the message shows %s: %s", c->string, msg);
        }
        check_secrets(c, a, b, context, msg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    const char *part[3] = {p, p, p};
    size_t len[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        const char *z = memchr(p, 0, (size_t)(end - p));
        part[i] = p;
        len[i] = (size_t)((z ? z : end) - p);
        p = z ? z + 1 : end;
    }
    cJSON *a = NULL, *b = NULL;
    put_kubeconfig(path_a.ptr, part[0], len[0], &a);
    put_kubeconfig(path_b.ptr, part[1], len[1], &b);
    char *context = xstrndup(part[2], len[2]);

    kube_config_opts opts = {NULL, (flags & 2) ? context : NULL};
    if (flags & 1)
        setenv("KUBECONFIG", list.ptr, 1);
    else
        opts.kubeconfig = path_a.ptr;
    kube_config *cfg = NULL;
    exo_err err = EXO_ERR_INIT;
    if (kube_config_load(&cfg, &opts, &err) == 0) {
        const char *server = kube_config_server(cfg);
        size_t n = strlen(server);
        FUZZ_CHECK(strncmp(server, "https://", 8) == 0 || strncmp(server, "http://", 7) == 0,
                   "server %s", server);
        FUZZ_CHECK(server[n - 1] != '/', "server %s ends in '/'", server);
        FUZZ_CHECK(kube_config_namespace(cfg) != NULL, "no namespace");
        FUZZ_CHECK(!opts.context || strcmp(kube_config_context(cfg), opts.context) == 0,
                   "context %s, not %s", kube_config_context(cfg), opts.context);
        size_t ca_len = 0;
        const unsigned char *ca = kube_config_ca(cfg, &ca_len);
        FUZZ_CHECK(ca || ca_len == 0, "a CA length without a CA");
        (void)kube_config_insecure(cfg);
        kube_config_invalidate(cfg);
        kube_config_free(cfg);
    } else {
        FUZZ_CHECK(cfg == NULL, "failure returns no config");
        check_secrets(a, a, b, context, err_msg(&err));
        check_secrets(b, a, b, context, err_msg(&err));
    }
    unsetenv("KUBECONFIG");
    err_clear(&err);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(context);
    return 0;
}

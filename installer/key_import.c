#include "key_import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "applyset.h"
#include "backend_env.h"
#include "base64.h"
#include "buf.h"
#include "cluster.h"
#include "render.h"
#include "xalloc.h"

/* The backend's master key: 32 bytes (backend/config.c). */
#define KEY_BYTES 32
/* A key line is 44 characters; anything much longer is the wrong file. */
#define MAX_KEY_FILE 4096

static bool whitespace(char c)
{
    return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

int key_import_read(const char *path, char **key, exo_err *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    if (!f)
        return err_set(err, "--key-file %s: %s", path, strerror(errno));
    char text[MAX_KEY_FILE + 1];
    size_t n = fread(text, 1, sizeof text, f);
    bool failed = ferror(f);
    if (!is_stdin)
        fclose(f);
    int rc = 0;
    while (n > 0 && whitespace(text[n - 1]))
        n--;
    text[n] = '\0';
    unsigned char *raw = NULL;
    size_t len = 0;
    if (failed)
        rc = err_set(err, "--key-file %s: could not be read", path);
    else if (n == 0)
        rc = err_set(err, "--key-file %s: empty (want the line exo-install key export prints)",
                     path);
    else if (n > MAX_KEY_FILE || strcspn(text, "\n\r \t") != n ||
             base64_decode(text, &raw, &len) < 0 || len != KEY_BYTES)
        rc = err_set(err, "--key-file %s: not an Exo encryption key (want base64 of %d bytes on "
                          "one line, as exo-install key export prints it)",
                     path, KEY_BYTES);
    else
        *key = xstrdup(text);
    if (raw) {
        OPENSSL_cleanse(raw, len);
        free(raw);
    }
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

/* The Secret install would create, holding key: the same template, labels
 * and ApplySet membership, so that install keeps it and uninstall --purge
 * deletes it like one install made. */
static int secret_doc(const char *ns, const char *key, cJSON **doc, exo_err *err)
{
    const contract_env *v = contract_env_get(CONTRACT_ENV_ENCRYPTION_KEY);
    render_opts o;
    render_opts_init(&o);
    o.namespace_ = ns;
    cJSON *vars = render_vars(&o, false);
    buf name = BUF_INIT;
    buf_printf(&name, "%sData", v->var);
    char *b64 = base64_encode(key, strlen(key));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(vars, name.ptr), v->key, b64);
    OPENSSL_cleanse(b64, strlen(b64));
    free(b64);
    int rc = render_template(doc, "secret-encryption.yaml", vars, err);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(vars, name.ptr);
    const cJSON *kv = cJSON_GetObjectItemCaseSensitive(data, v->key);
    if (cJSON_IsString(kv))
        OPENSSL_cleanse(kv->valuestring, strlen(kv->valuestring));
    buf_free(&name);
    cJSON_Delete(vars);
    if (rc == 0) {
        char *id = applyset_id(ns);
        applyset_label(*doc, id);
        free(id);
    }
    return rc;
}

/* Whether the live Secret holds exactly key. */
static bool holds(const cJSON *live, const char *key_name, const char *key)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(live, "data"), key_name);
    unsigned char *raw = NULL;
    size_t len = 0;
    bool same = false;
    if (cJSON_IsString(v) && base64_decode(v->valuestring, &raw, &len) == 0)
        same = len == strlen(key) && CRYPTO_memcmp(raw, key, len) == 0;
    if (raw) {
        OPENSSL_cleanse(raw, len);
        free(raw);
    }
    return same;
}

static void cleanse_doc(cJSON *doc)
{
    cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    cJSON *kv;
    cJSON_ArrayForEach(kv, data)
    {
        if (cJSON_IsString(kv))
            OPENSSL_cleanse(kv->valuestring, strlen(kv->valuestring));
    }
}

int key_import_apply(kube_client *c, const char *ns, const char *key, bool *unchanged,
                     exo_err *err)
{
    const contract_env *v = contract_env_get(CONTRACT_ENV_ENCRYPTION_KEY);
    *unchanged = false;
    cJSON *live = NULL;
    if (kube_get(c, &KR_SECRETS, ns, v->secret, &live, err) == 0) {
        bool same = holds(live, v->key, key);
        cleanse_doc(live);
        cJSON_Delete(live);
        if (same) {
            *unchanged = true;
            return 0;
        }
        return err_set(err, "Secret %s/%s already holds another key; it is never overwritten "
                            "(rows encrypted with it would become unreadable): import into a "
                            "namespace without one",
                       ns, v->secret);
    }
    if (!kube_is_not_found(err))
        return err_prefix(err, "reading Secret %s/%s", ns, v->secret);
    err_clear(err);
    cJSON *doc = NULL;
    if (secret_doc(ns, key, &doc, err) < 0)
        return -1;
    int rc = kube_create(c, &KR_SECRETS, ns, doc, 0, NULL, err);
    cleanse_doc(doc);
    cJSON_Delete(doc);
    if (rc < 0 && kube_is_not_found(err)) {
        err_clear(err);
        return err_set(err, "namespace %s does not exist: create it (kubectl create namespace %s), "
                            "import the key, then run exo-install install",
                       ns, ns);
    }
    if (rc < 0 && kube_is_already_exists(err)) {
        /* Made meanwhile, or by an attempt whose answer was lost: ours
         * only if it holds this very key. */
        err_clear(err);
        bool same = false;
        if (key_import_apply(c, ns, key, &same, err) < 0)
            return -1;
        return 0;
    }
    if (rc < 0)
        return err_prefix(err, "creating Secret %s/%s", ns, v->secret);
    return 0;
}

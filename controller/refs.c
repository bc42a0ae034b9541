#include "refs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "jpath.h"
#include "xalloc.h"

static void hex(char *out, const unsigned char *md, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void sha256_hex(char out[65], const char *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex(out, md, n);
}

static void problem_set(problem *p, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first problem wins: it is the one to fix first. */
static void problem_set(problem *p, const char *reason, const char *fmt, ...)
{
    if (p->reason)
        return;
    buf m = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&m, fmt, ap);
    va_end(ap);
    p->reason = reason;
    p->message = buf_detach(&m);
}

/* A Secret key: adds its value's hash to the checksum input, or records a
 * problem. field names the spec field, for the message. */
static void secret_ref(problem *p, buf *sum, const cJSON *ecp, const store *secrets,
                       const char *field)
{
    const cJSON *ref = jpath_get(ecp, field);
    const char *ns = jpath_str(ecp, "metadata.namespace", "");
    const char *name = jpath_str(ref, "name", ""), *key = jpath_str(ref, "key", "");
    const cJSON *s = store_get_ns(secrets, ns, name);
    if (!s) {
        problem_set(p, "SecretNotFound", "Secret %s not found (%s)", name, field);
        return;
    }
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "data"), key);
    if (!cJSON_IsString(v)) {
        problem_set(p, "SecretKeyNotFound", "Secret %s has no key \"%s\" (%s)", name, key, field);
        return;
    }
    buf_printf(sum, "secret\n%s\n%s\n%s\n", name, key, v->valuestring);
}

void refs_check(refs_result *out, const cJSON *ecp, const store *secrets, const store *configmaps,
                const store *pvcs)
{
    memset(out, 0, sizeof *out);
    buf sum = BUF_INIT;
    const char *ns = jpath_str(ecp, "metadata.namespace", "");

    secret_ref(&out->database, &sum, ecp, secrets, "spec.database.dsnSecretRef");
    const cJSON *ca = jpath_get(ecp, "spec.database.caConfigMapRef");
    if (ca) {
        const char *name = jpath_str(ca, "name", ""), *key = jpath_str(ca, "key", "");
        const cJSON *cm = store_get_ns(configmaps, ns, name);
        const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cm, "data"), key);
        if (!cm) {
            problem_set(&out->database, "ConfigMapNotFound",
                        "ConfigMap %s not found (spec.database.caConfigMapRef)", name);
        } else if (!cJSON_IsString(v)) {
            problem_set(&out->database, "ConfigMapKeyNotFound",
                        "ConfigMap %s has no key \"%s\" (spec.database.caConfigMapRef)", name, key);
        } else {
            char h[65];
            sha256_hex(h, v->valuestring, strlen(v->valuestring));
            buf_printf(&sum, "configmap\n%s\n%s\n%s\n", name, key, h);
        }
    }
    if (!out->database.reason) {
        buf m = BUF_INIT;
        buf_printf(&m, "DSN from Secret %s key %s",
                   jpath_str(ecp, "spec.database.dsnSecretRef.name", ""),
                   jpath_str(ecp, "spec.database.dsnSecretRef.key", ""));
        if (ca)
            buf_printf(&m, "; server CA from ConfigMap %s key %s", jpath_str(ca, "name", ""),
                       jpath_str(ca, "key", ""));
        out->database_ok = buf_detach(&m);
    }

    secret_ref(&out->blocking, &sum, ecp, secrets, "spec.encryption.keySecretRef");
    if (jpath_get(ecp, "spec.api.bootstrapTokenSecretRef"))
        secret_ref(&out->blocking, &sum, ecp, secrets, "spec.api.bootstrapTokenSecretRef");

    const char *claim = jpath_str(ecp, "spec.casts.claimName", "");
    const cJSON *pvc = store_get_ns(pvcs, ns, claim);
    bool shared = false;
    if (!pvc) {
        problem_set(&out->blocking, "PersistentVolumeClaimNotFound",
                    "PersistentVolumeClaim %s not found (spec.casts.claimName)", claim);
    } else {
        const cJSON *m;
        cJSON_ArrayForEach (m, jpath_get(pvc, "spec.accessModes")) {
            if (cJSON_IsString(m) && strcmp(m->valuestring, "ReadWriteMany") == 0)
                shared = true;
        }
        long long replicas = jpath_int(ecp, "spec.backend.replicas", 1);
        if (!shared && replicas > 1)
            problem_set(&out->blocking, "VolumeNotShareable",
                        "spec.backend.replicas is %lld but PersistentVolumeClaim %s is not "
                        "ReadWriteMany: more than one backend replica needs a ReadWriteMany "
                        "casts volume",
                        replicas, claim);
    }
    out->recreate = !shared;

    char h[65];
    sha256_hex(h, sum.ptr, sum.len);
    buf c = BUF_INIT;
    buf_printf(&c, "sha256:%s", h);
    out->checksum = buf_detach(&c);
    buf_free(&sum);
}

void refs_free(refs_result *r)
{
    free(r->database.message);
    free(r->blocking.message);
    free(r->database_ok);
    free(r->checksum);
    memset(r, 0, sizeof *r);
}

static bool named(const cJSON *ecp, const char *path, const char *name)
{
    const char *v = jpath_str(ecp, path, NULL);
    return v && strcmp(v, name) == 0;
}

bool refs_uses(const cJSON *ecp, const char *kind, const char *name)
{
    if (strcmp(kind, "Secret") == 0)
        return named(ecp, "spec.database.dsnSecretRef.name", name) ||
               named(ecp, "spec.encryption.keySecretRef.name", name) ||
               named(ecp, "spec.api.bootstrapTokenSecretRef.name", name);
    if (strcmp(kind, "ConfigMap") == 0)
        return named(ecp, "spec.database.caConfigMapRef.name", name);
    if (strcmp(kind, "PersistentVolumeClaim") == 0)
        return named(ecp, "spec.casts.claimName", name);
    return false;
}

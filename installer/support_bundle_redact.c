#include "support_bundle_redact.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "dsn.h"
#include "err.h"
#include "xalloc.h"

#define REDACTED "REDACTED"

struct support_bundle_redactor {
    char **needles;
    size_t n, cap;
};

support_bundle_redactor *support_bundle_redactor_new(void)
{
    return xcalloc(1, sizeof(support_bundle_redactor));
}

void support_bundle_redactor_free(support_bundle_redactor *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->needles[i]);
    free(r->needles);
    free(r);
}

static void add_one(support_bundle_redactor *r, const char *v, size_t len)
{
    if (len < SUPPORT_BUNDLE_MIN_SECRET)
        return;
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->needles[i]) == len && memcmp(r->needles[i], v, len) == 0)
            return;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->needles = xrealloc(r->needles, r->cap * sizeof *r->needles);
    }
    r->needles[r->n++] = xstrndup(v, len);
}

void support_bundle_redactor_add(support_bundle_redactor *r, const char *value)
{
    size_t len = strlen(value);
    add_one(r, value, len);
    /* Trailing newlines, as `kubectl create secret --from-file` keeps them. */
    while (len && (value[len - 1] == '\n' || value[len - 1] == '\r'))
        len--;
    add_one(r, value, len);
    char *b64 = base64_encode(value, strlen(value));
    add_one(r, b64, strlen(b64));
    free(b64);
    dsn *d = NULL;
    exo_err e = EXO_ERR_INIT;
    if (strpbrk(value, "=:") && dsn_parse(&d, value, &e) == 0) {
        const char *pw = dsn_get(d, "password");
        if (pw)
            add_one(r, pw, strlen(pw));
    }
    dsn_free(d);
    err_clear(&e);
}

void support_bundle_redactor_add_secrets(support_bundle_redactor *r, const cJSON *items)
{
    const cJSON *s;
    cJSON_ArrayForEach (s, items) {
        const cJSON *kv;
        cJSON_ArrayForEach (kv, cJSON_GetObjectItemCaseSensitive(s, "data")) {
            if (!cJSON_IsString(kv))
                continue;
            size_t n = 0;
            unsigned char *raw = NULL;
            if (base64_decode(kv->valuestring, &raw, &n) < 0)
                continue;
            char *text = xstrndup((const char *)raw, n);
            /* A value with a NUL inside is binary: its text form stops there,
             * its base64 form (the API's) is added as is. */
            support_bundle_redactor_add(r, text);
            add_one(r, kv->valuestring, strlen(kv->valuestring));
            free(text);
            free(raw);
        }
        cJSON_ArrayForEach (kv, cJSON_GetObjectItemCaseSensitive(s, "stringData"))
            if (cJSON_IsString(kv))
                support_bundle_redactor_add(r, kv->valuestring);
    }
}

/* Longest first, so that a value containing another goes whole. */
static void replace_needles(const support_bundle_redactor *r, buf *out, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t best = 0;
        for (size_t i = 0; i < r->n; i++) {
            size_t n = strlen(r->needles[i]);
            if (n > best && strncmp(p, r->needles[i], n) == 0)
                best = n;
        }
        if (best) {
            buf_puts(out, REDACTED);
            p += best;
        } else {
            buf_putc(out, *p++);
        }
    }
}

char *support_bundle_redact_text(const support_bundle_redactor *r, const char *text)
{
    buf known = BUF_INIT;
    replace_needles(r, &known, text);
    /* dsn_redact_text takes everything after a password it cannot delimit:
     * line by line, that is the rest of one line only. */
    buf out = BUF_INIT;
    char *s = known.ptr ? known.ptr : "";
    for (;;) {
        char *nl = strchr(s, '\n');
        char *line = xstrndup(s, nl ? (size_t)(nl - s) : strlen(s));
        char *safe = strstr(line, "password") || strstr(line, "PASSWORD") || strstr(line, "://")
                         ? dsn_redact_text(line)
                         : xstrdup(line);
        buf_puts(&out, safe);
        free(safe);
        free(line);
        if (!nl)
            break;
        buf_putc(&out, '\n');
        s = nl + 1;
    }
    buf_free(&known);
    if (!out.ptr)
        return xstrdup("");
    return buf_detach(&out);
}

static bool secret_name(const char *name)
{
    static const char *const words[] = {"PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY", "DSN",
                                        "CREDENTIAL"};
    char up[256];
    size_t i = 0;
    for (; name[i] && i < sizeof up - 1; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    up[i] = '\0';
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
        if (strstr(up, words[w]))
            return true;
    return false;
}

/* In place: cJSON_SetValuestring keeps the item's key and place. The API
 * gives a Secret's values as strings; anything else is dropped. */
static void redact_values(cJSON *map)
{
    cJSON *kv = map ? map->child : NULL;
    while (kv) {
        cJSON *next = kv->next;
        if (cJSON_IsString(kv))
            cJSON_SetValuestring(kv, REDACTED);
        else
            cJSON_Delete(cJSON_DetachItemViaPointer(map, kv));
        kv = next;
    }
}

/* Strings first by structure (what is secret by where it is), then by
 * content (what is secret by what it is). */
static void redact_tree(const support_bundle_redactor *r, cJSON *node)
{
    if (cJSON_IsObject(node)) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(node, "kind");
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Secret") == 0) {
            redact_values(cJSON_GetObjectItemCaseSensitive(node, "data"));
            redact_values(cJSON_GetObjectItemCaseSensitive(node, "stringData"));
        }
        cJSON *md = cJSON_GetObjectItemCaseSensitive(node, "metadata");
        if (cJSON_IsObject(md)) {
            cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
            cJSON_DeleteItemFromObjectCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(md, "annotations"),
                "kubectl.kubernetes.io/last-applied-configuration");
        }
        /* An env entry {name, value}: the value of a secret-named one. */
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(node, "name");
        cJSON *value = cJSON_GetObjectItemCaseSensitive(node, "value");
        if (cJSON_IsString(name) && cJSON_IsString(value) && secret_name(name->valuestring))
            cJSON_SetValuestring(value, REDACTED);
    }
    cJSON *child;
    cJSON_ArrayForEach (child, node) {
        if (cJSON_IsString(child)) {
            char *safe = support_bundle_redact_text(r, child->valuestring);
            if (strcmp(safe, child->valuestring) != 0)
                cJSON_SetValuestring(child, safe);
            free(safe);
        } else {
            redact_tree(r, child);
        }
    }
}

void support_bundle_redact_object(const support_bundle_redactor *r, cJSON *obj)
{
    redact_tree(r, obj);
}

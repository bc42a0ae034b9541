#include "store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

/* Open addressing over keys, objects in a dense array beside them, so that
 * iteration is a walk over the array and lookups stay O(1) with 500
 * ExoControlPlanes and their Secrets. */
typedef struct {
    char *key;
    cJSON *obj;
} entry;

struct store {
    entry *items; /* dense */
    size_t n, cap;
    long *slots; /* index into items, -1 empty, -2 deleted */
    size_t nslots;
};

store *store_new(void)
{
    return xcalloc(1, sizeof(store));
}

void store_free(store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].key);
        cJSON_Delete(s->items[i].obj);
    }
    free(s->items);
    free(s->slots);
    free(s);
}

char *store_key(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
    if (!name)
        return NULL;
    buf k = BUF_INIT;
    buf_printf(&k, "%s/%s", ns ? ns : "", name);
    return buf_detach(&k);
}

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The slot holding key, or the first free one on its probe path. */
static size_t probe(const store *s, const char *key, bool *found)
{
    size_t mask = s->nslots - 1, i = hash(key) & mask;
    long first_free = -1;
    for (;; i = (i + 1) & mask) {
        long v = s->slots[i];
        if (v == -1) {
            *found = false;
            return first_free >= 0 ? (size_t)first_free : i;
        }
        if (v == -2) {
            if (first_free < 0)
                first_free = (long)i;
        } else if (strcmp(s->items[v].key, key) == 0) {
            *found = true;
            return i;
        }
    }
}

static void rehash(store *s, size_t nslots)
{
    free(s->slots);
    s->nslots = nslots;
    s->slots = xmalloc(nslots * sizeof *s->slots);
    for (size_t i = 0; i < nslots; i++)
        s->slots[i] = -1;
    for (size_t i = 0; i < s->n; i++) {
        bool found;
        s->slots[probe(s, s->items[i].key, &found)] = (long)i;
    }
}

cJSON *store_put(store *s, cJSON *obj)
{
    char *key = store_key(obj);
    if (!key) {
        cJSON_Delete(obj);
        return NULL;
    }
    /* Deleted slots count as used, so probes always end at an empty one. */
    if ((s->n + 1) * 2 > s->nslots)
        rehash(s, s->nslots ? s->nslots * 2 : 64);
    bool found;
    size_t slot = probe(s, key, &found);
    if (found) {
        entry *e = &s->items[s->slots[slot]];
        cJSON *old = e->obj;
        e->obj = obj;
        free(key);
        return old;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->items = xrealloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->n] = (entry){key, obj};
    s->slots[slot] = (long)s->n++;
    return NULL;
}

static bool rv_number(const cJSON *obj, unsigned long long *out)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "resourceVersion"));
    if (!rv || !*rv || strlen(rv) > 19)
        return false;
    for (const char *p = rv; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    *out = strtoull(rv, NULL, 10);
    return true;
}

cJSON *store_put_newer(store *s, cJSON *obj, bool *taken)
{
    char *key = store_key(obj);
    const cJSON *cur = key ? store_get(s, key) : NULL;
    free(key);
    unsigned long long have, got;
    if (cur && rv_number(cur, &have) && rv_number(obj, &got) && got < have) {
        cJSON_Delete(obj);
        if (taken)
            *taken = false;
        return NULL;
    }
    if (taken)
        *taken = true;
    return store_put(s, obj);
}

cJSON *store_remove(store *s, const char *key)
{
    if (!s->nslots)
        return NULL;
    bool found;
    size_t slot = probe(s, key, &found);
    if (!found)
        return NULL;
    size_t idx = (size_t)s->slots[slot];
    cJSON *old = s->items[idx].obj;
    free(s->items[idx].key);
    s->items[idx] = s->items[--s->n];
    /* Rebuild the index: removals are rare (a deleted object) and this
     * keeps the slots free of tombstones. */
    rehash(s, s->nslots);
    return old;
}

const cJSON *store_get(const store *s, const char *key)
{
    if (!s->nslots)
        return NULL;
    bool found;
    size_t slot = probe(s, key, &found);
    return found ? s->items[s->slots[slot]].obj : NULL;
}

const cJSON *store_get_ns(const store *s, const char *ns, const char *name)
{
    buf k = BUF_INIT;
    buf_printf(&k, "%s/%s", ns ? ns : "", name);
    const cJSON *o = store_get(s, k.ptr);
    buf_free(&k);
    return o;
}

size_t store_len(const store *s)
{
    return s->n;
}

const cJSON *store_at(const store *s, size_t i)
{
    return i < s->n ? s->items[i].obj : NULL;
}

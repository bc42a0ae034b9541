#include "informer.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kube_watch.h"
#include "log.h"
#include "xalloc.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

struct informer {
    kube_client *c;
    kube_resource r;
    char *group, *version, *resource;
    char *ns, *selector;
    informer_transform transform;
    informer_handler handler;
    void *ud;
    store *s;
    kube_watch *w;
    char *rv; /* where the next watch starts */
    bool synced;
    bool need_list; /* first time, and after 410 */
    long retry_at;  /* after an error, nothing before this */
    long retry_ms;
};

informer *informer_new(kube_client *c, const kube_resource *r, const char *ns,
                       const char *label_selector, informer_transform transform,
                       informer_handler handler, void *ud)
{
    informer *inf = xcalloc(1, sizeof *inf);
    inf->c = c;
    inf->group = xstrdup(r->group);
    inf->version = xstrdup(r->version);
    inf->resource = xstrdup(r->resource);
    inf->r = (kube_resource){inf->group, inf->version, inf->resource, r->namespaced};
    inf->ns = xstrdup(ns);
    inf->selector = label_selector ? xstrdup(label_selector) : NULL;
    inf->transform = transform;
    inf->handler = handler;
    inf->ud = ud;
    inf->s = store_new();
    inf->need_list = true;
    inf->retry_ms = RETRY_MIN_MS;
    return inf;
}

void informer_free(informer *inf)
{
    if (!inf)
        return;
    kube_watch_free(inf->w);
    store_free(inf->s);
    free(inf->group);
    free(inf->version);
    free(inf->resource);
    free(inf->ns);
    free(inf->selector);
    free(inf->rv);
    free(inf);
}

bool informer_synced(const informer *inf)
{
    return inf->synced;
}

store *informer_store(const informer *inf)
{
    return inf->s;
}

void informer_inject(informer *inf, cJSON *obj)
{
    if (inf->transform)
        inf->transform(obj);
    cJSON_Delete(store_put(inf->s, obj));
}

void informer_strip(cJSON *obj)
{
    /* managedFields are most of an object's size and the controller never
     * reads them from the cache. */
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                            "managedFields");
}

void informer_hash_secret(cJSON *obj)
{
    informer_strip(obj);
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "stringData");
    cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
    cJSON *v;
    cJSON_ArrayForEach (v, data) {
        const char *text = cJSON_IsString(v) ? v->valuestring : "";
        unsigned char md_[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_Digest(text, strlen(text), md_, &n, EVP_sha256(), NULL);
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", md_[i]);
        /* Overwrite in place: the old text is freed, never copied. */
        if (cJSON_IsString(v)) {
            memset(v->valuestring, 0, strlen(v->valuestring));
            cJSON_SetValuestring(v, hex);
        }
    }
}

static void set_rv(informer *inf, const char *rv)
{
    free(inf->rv);
    inf->rv = xstrdup(rv ? rv : "");
}

static void fail(informer *inf, long now_ms)
{
    kube_watch_free(inf->w);
    inf->w = NULL;
    inf->retry_at = now_ms + inf->retry_ms;
    inf->retry_ms = inf->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : inf->retry_ms * 2;
}

/* A full list replaces the store: every listed object is handled (the
 * handlers are level-triggered, so a spurious call costs a no-op
 * reconcile), and objects that vanished while the watch was down are
 * handled as deleted. */
static int relist(informer *inf, exo_err *err)
{
    cJSON *items = NULL;
    char *rv = NULL;
    if (kube_list(inf->c, &inf->r, inf->ns, inf->selector, 500, &items, &rv, err) < 0)
        return -1;
    int changes = 0;
    store *fresh = store_new();
    cJSON *it;
    while ((it = cJSON_DetachItemFromArray(items, 0)) != NULL) {
        if (inf->transform)
            inf->transform(it);
        cJSON_Delete(store_put(fresh, it));
    }
    cJSON_Delete(items);
    for (size_t i = 0; i < store_len(fresh); i++) {
        const cJSON *obj = store_at(fresh, i);
        char *k = store_key(obj);
        inf->handler(inf->ud, store_get(inf->s, k), obj);
        free(k);
        changes++;
    }
    for (size_t i = 0; i < store_len(inf->s); i++) {
        const cJSON *obj = store_at(inf->s, i);
        char *k = store_key(obj);
        if (!store_get(fresh, k)) {
            inf->handler(inf->ud, obj, NULL);
            changes++;
        }
        free(k);
    }
    store_free(inf->s);
    inf->s = fresh;
    set_rv(inf, rv);
    free(rv);
    inf->need_list = false;
    inf->synced = true;
    return changes;
}

static void take(informer *inf, kube_watch_event *ev)
{
    cJSON *obj = ev->object;
    ev->object = NULL;
    if (inf->transform)
        inf->transform(obj);
    char *k = store_key(obj);
    if (!k) {
        cJSON_Delete(obj);
        return;
    }
    if (ev->type == KUBE_WATCH_DELETED) {
        cJSON *old = store_remove(inf->s, k);
        inf->handler(inf->ud, old, NULL);
        cJSON_Delete(old);
        cJSON_Delete(obj);
    } else {
        bool taken;
        cJSON *old = store_put_newer(inf->s, obj, &taken);
        if (taken)
            inf->handler(inf->ud, old, obj);
        cJSON_Delete(old);
    }
    free(k);
}

int informer_poll(informer *inf, long now_ms, exo_err *err)
{
    int changes = 0;
    if (now_ms < inf->retry_at)
        return 0;
    if (inf->need_list) {
        changes = relist(inf, err);
        if (changes < 0) {
            err_prefix(err, "list %s", inf->resource);
            fail(inf, now_ms);
            return -1;
        }
    }
    for (int guard = 0; guard < 1000; guard++) {
        if (!inf->w &&
            kube_watch_start(&inf->w, inf->c, &inf->r, inf->ns, inf->selector, inf->rv, err) < 0) {
            err_prefix(err, "watch %s", inf->resource);
            fail(inf, now_ms);
            return -1;
        }
        kube_watch_event ev;
        if (kube_watch_next(inf->w, 0, &ev, err) < 0) {
            err_prefix(err, "watch %s", inf->resource);
            fail(inf, now_ms);
            return -1;
        }
        switch (ev.type) {
        case KUBE_WATCH_NONE:
            inf->retry_ms = RETRY_MIN_MS;
            return changes;
        case KUBE_WATCH_CLOSED:
            set_rv(inf, kube_watch_resource_version(inf->w));
            kube_watch_free(inf->w);
            inf->w = NULL;
            /* Resume at once from the last RV; a stream that closes at
             * every start waits for the next poll instead of spinning. */
            return changes;
        case KUBE_WATCH_EXPIRED:
            log_msg(LOG_INFO, "watch expired; listing again", "resource", inf->resource, NULL);
            kube_watch_free(inf->w);
            inf->w = NULL;
            inf->need_list = true;
            int n = relist(inf, err);
            if (n < 0) {
                err_prefix(err, "list %s", inf->resource);
                fail(inf, now_ms);
                return -1;
            }
            changes += n;
            break;
        default:
            take(inf, &ev);
            changes++;
            break;
        }
    }
    return changes;
}

/* An informer: lists a resource in one namespace, then watches it, keeping
 * a store of the objects and calling a handler for each change. It is
 * polled by the controller's loop (informer_poll never blocks), and repairs
 * itself: a closed watch resumes from its resourceVersion, a 410 lists
 * again, an error retries with backoff (1 s doubling to 30 s).
 *
 * Borrows its client, which must outlive it. Not thread-safe. */
#ifndef EXO_CTL_INFORMER_H
#define EXO_CTL_INFORMER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "kube_client.h"
#include "store.h"

/* obj: the object now (NULL when deleted); old: before (NULL when new).
 * Both borrowed for the call only. */
typedef void (*informer_handler)(void *ud, const cJSON *old, const cJSON *obj);

/* Changes an object before it is stored (drop what the controller does not
 * need; hash what it must not keep). */
typedef void (*informer_transform)(cJSON *obj);

typedef struct informer informer;

/* label_selector and transform may be NULL. r, ns and label_selector are
 * copied. *out owned by the caller (informer_free). */
informer *informer_new(kube_client *c, const kube_resource *r, const char *ns,
                       const char *label_selector, informer_transform transform,
                       informer_handler handler, void *ud);
void informer_free(informer *inf);

/* Lists when needed (first call, after a 410, after an error once its
 * backoff has passed), then takes every event that has arrived. Returns the
 * number of changes handled, or -1 with err set when the API failed (the
 * informer retries by itself on a later poll). */
int informer_poll(informer *inf, long now_ms, exo_err *err);

/* True once a list has succeeded: the store is a full picture. */
bool informer_synced(const informer *inf);
/* The cache; the reconciler also puts the server's answers to its own
 * writes here (store_put_newer). */
store *informer_store(const informer *inf);
/* Puts an object into the store as if it had been listed (tests). */
void informer_inject(informer *inf, cJSON *obj);

/* Transforms for the controller's informers. */
void informer_strip(cJSON *obj);
/* A Secret kept without its values: each data value replaced by the hex
 * SHA-256 of its base64 text, annotations dropped (kubectl's
 * last-applied-configuration holds the data too). */
void informer_hash_secret(cJSON *obj);

#endif

/* An informer's cache: the objects of one resource, by "namespace/name".
 * The store owns its objects; lookups return borrowed pointers that stay
 * valid until that entry is replaced or deleted (the controller's one loop
 * never holds one across an informer poll). Not thread-safe. */
#ifndef EXO_CTL_STORE_H
#define EXO_CTL_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct store store;

store *store_new(void);
void store_free(store *s);

/* "namespace/name" of obj (caller frees), or NULL when it has no name. */
char *store_key(const cJSON *obj);

/* Inserts obj, or replaces the object with the same key; takes ownership
 * of obj. Returns the previous object (caller frees) or NULL. */
cJSON *store_put(store *s, cJSON *obj);
/* store_put, unless the stored object has a newer resourceVersion: the
 * controller puts the server's answer to its own writes into the store at
 * once, and a watch event older than that answer must not undo it.
 * resourceVersions are opaque, but etcd revisions in practice; when either
 * is not a plain number the incoming object wins. Returns the previous
 * object (caller frees) or NULL; *taken (may be NULL) says whether obj was
 * stored (when not, it was freed). */
cJSON *store_put_newer(store *s, cJSON *obj, bool *taken);
/* Removes the object with obj's key; returns it (caller frees) or NULL. */
cJSON *store_remove(store *s, const char *key);
/* Borrowed; NULL when absent. */
const cJSON *store_get(const store *s, const char *key);
const cJSON *store_get_ns(const store *s, const char *ns, const char *name);
size_t store_len(const store *s);
/* The i-th object, in no particular order; borrowed. */
const cJSON *store_at(const store *s, size_t i);

#endif

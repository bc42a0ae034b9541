/* Reading fields of Kubernetes objects by dotted path ("spec.backend.image").
 * Keys with dots cannot be addressed this way; labels and annotations are
 * read with cJSON directly. All returned pointers are borrowed from root. */
#ifndef EXO_CTL_JPATH_H
#define EXO_CTL_JPATH_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* The node at path, or NULL when any step is missing or not an object. */
const cJSON *jpath_get(const cJSON *root, const char *path);
/* The string at path, or def when absent or not a string. */
const char *jpath_str(const cJSON *root, const char *path, const char *def);
/* The integer at path, or def when absent or not a number. */
long long jpath_int(const cJSON *root, const char *path, long long def);

/* True when every field of want is in have with the same value: objects
 * may have more keys in have, arrays must have the same length and cover
 * element by element, scalars must be equal. This is how the controller
 * compares what it would apply with what the API server holds, which adds
 * defaults (terminationMessagePath, protocol, ...) and status. */
bool jpath_covers(const cJSON *have, const cJSON *want);

#endif

/* `exo-install key import`: puts a key exported earlier (key export) into
 * Secret exo-encryption of a namespace, before install, so that a fresh
 * install in another namespace or cluster reads the rows a restored backup
 * holds. It never overwrites a key Secret that exists: a second key would
 * make every row encrypted with the first unreadable. */
#ifndef EXO_KEY_IMPORT_H
#define EXO_KEY_IMPORT_H

#include <stdbool.h>

#include "err.h"
#include "kube_client.h"

/* The key in the file at path ("-": standard input), as key export prints
 * it: base64 of 32 bytes, one line. *key is the caller's (cleanse it, then
 * free). 0, or -1 with one line in err that never holds the key. */
int key_import_read(const char *path, char **key, exo_err *err);

/* Creates Secret exo-encryption in ns with key, labelled as install labels
 * it. When the Secret exists and holds the same key, *unchanged is set and
 * nothing is written; when it holds another key, nothing is written and the
 * call fails. 0, or -1 with one line in err. */
int key_import_apply(kube_client *c, const char *ns, const char *key, bool *unchanged,
                     exo_err *err);

#endif

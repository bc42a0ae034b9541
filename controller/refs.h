/* What an ExoControlPlane refers to and did not create: the Secrets with
 * its DSN, encryption key and bootstrap token, the database CA ConfigMap,
 * the casts PVC. refs_check finds what is missing or cannot work, and
 * computes the checksum that rolls the backend when any of them changes.
 *
 * The Secret store holds hashes, not values (informer_hash_secret), so
 * neither the checksum nor any message can carry a secret. */
#ifndef EXO_CTL_REFS_H
#define EXO_CTL_REFS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "status.h"
#include "store.h"

typedef struct {
    problem database;  /* reason NULL when the DSN Secret (and CA) are fine */
    problem blocking;  /* reason NULL when nothing else is missing or impossible */
    char *database_ok; /* DatabaseConfigured message when fine; owned */
    char *checksum;    /* "sha256:HEX" over the referenced data; owned */
    bool recreate;     /* the casts PVC is not ReadWriteMany */
} refs_result;

/* Looks at ecp's references in the stores (all in ecp's namespace). */
void refs_check(refs_result *out, const cJSON *ecp, const store *secrets, const store *configmaps,
                const store *pvcs);
void refs_free(refs_result *r);

/* Whether ecp refers to the object kind ("Secret", "ConfigMap",
 * "PersistentVolumeClaim") named name: its change must reconcile ecp. */
bool refs_uses(const cJSON *ecp, const char *kind, const char *name);

#endif

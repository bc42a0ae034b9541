/* The objects exo-controller makes for an ExoControlPlane, as it would
 * apply them (server-side apply documents: only the fields it owns).
 *
 * Names: the Deployment and the Service are "<name>-backend", so the
 * resource named "exo" (the installer's) gives "exo-backend", and several
 * ExoControlPlanes can share a namespace. Everything is derived from the
 * resource and the two inputs below; nothing here talks to the API. */
#ifndef EXO_CTL_BACKEND_OBJECTS_H
#define EXO_CTL_BACKEND_OBJECTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "names.h"

/* Paths, ids and ports of the backend's image and pod, and its
 * environment, come from contract/ (names.h, backend_env.h), the one place
 * the backend and the renderings read them from too. */
#define FIELD_MANAGER (contract.controller_field_manager)
/* Pod template annotation: SHA-256 over the referenced Secrets' and CA
 * ConfigMap's data, so that a change to either rolls the pods. */
#define CHECKSUM_ANNOTATION "exo.dev/config-checksum"

typedef struct {
    const char *checksum; /* "sha256:HEX", see reconcile_checksum */
    bool recreate;        /* the casts volume is ReadWriteOnce(Pod): Recreate strategy */
} backend_inputs;

/* "<name>-backend"; caller frees. */
char *backend_name(const cJSON *ecp);

/* The Deployment / Service apply documents; caller frees (cJSON_Delete). */
cJSON *backend_deployment(const cJSON *ecp, const backend_inputs *in);
cJSON *backend_service(const cJSON *ecp);

#endif

/* The status of an ExoControlPlane: what the controller found, as
 * conditions that kstatus (helm --wait, Flux), Argo CD and people read.
 *
 *   Ready               True when the backend runs the current spec with
 *                       every replica ready.
 *   Reconciling         True while the controller works towards that
 *                       (rollout in progress). kstatus: "InProgress".
 *   Stalled             True when it cannot get there without someone
 *                       acting: a missing Secret/key/PVC/ConfigMap, replicas
 *                       a ReadWriteOnce volume cannot serve, a rollout past
 *                       its progress deadline. kstatus: "Failed".
 *   DatabaseConfigured  the DSN Secret (and CA ConfigMap) are there.
 *   BackendAvailable    the backend Deployment has rolled out and is ready.
 *
 * lastTransitionTime moves only when a condition's status changes; the
 * controller writes status only when the result differs from what is
 * stored, and emits one Event per condition that changed status (see
 * status_eventful). */
#ifndef EXO_CTL_STATUS_H
#define EXO_CTL_STATUS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

typedef enum {
    COND_READY,
    COND_RECONCILING,
    COND_STALLED,
    COND_DATABASE,
    COND_BACKEND,
    COND_N
} cond_id;

extern const char *const status_cond_types[COND_N];

typedef struct {
    bool set;
    bool value;
    char reason[64];
    char *message; /* owned */
} cond;

typedef struct {
    long long observed_generation;
    long long ready_replicas;
    cond c[COND_N];
} ecp_status;

/* A problem the controller refuses to work around. reason is CamelCase;
 * message names the object and field, never a value. */
typedef struct {
    const char *reason;
    char *message; /* owned by the caller */
} problem;

typedef struct {
    long long generation;        /* the ExoControlPlane's metadata.generation */
    long long replicas;          /* spec.backend.replicas */
    const problem *database;     /* NULL: DSN Secret (and CA) fine */
    const problem *blocking;     /* NULL: nothing else refuses to work */
    const cJSON *deployment;     /* the backend Deployment as stored, or NULL */
    const char *database_ok_msg; /* DatabaseConfigured message when fine */
} status_inputs;

/* Fills s from in (s is cleared first). */
void status_derive(ecp_status *s, const status_inputs *in);
void status_free(ecp_status *s);

/* The status object to store: old (the stored status, may be NULL) gives
 * lastTransitionTime for conditions whose status has not changed; now
 * (RFC 3339) for the others. Caller frees. */
cJSON *status_json(const ecp_status *s, const cJSON *old, const char *now);

/* Whether old's condition type has a different status than s (or none):
 * such a condition gets a new lastTransitionTime. */
bool status_changed(const ecp_status *s, const cJSON *old, cond_id id);

/* Whether the condition calls for an Event: it changed status from an
 * earlier one, or it is a refusal (Stalled=True) seen for the first time.
 * A resource's first status is not news, so it makes no other Events. */
bool status_eventful(const ecp_status *s, const cJSON *old, cond_id id);

/* Whether a condition in its "bad" state (Ready False, Stalled True, ...)
 * calls for a Warning Event rather than a Normal one. */
bool status_is_warning(const ecp_status *s, cond_id id);

#endif

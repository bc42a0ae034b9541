/* One reconcile of one ExoControlPlane: read everything from the informers'
 * stores, apply the backend Deployment and Service only when they differ
 * from what the controller wants (so a reconcile that finds nothing to
 * change writes nothing), and write status and Events only on change.
 *
 * Level-triggered: the outcome depends on the stores, never on which event
 * led here. */
#ifndef EXO_CTL_RECONCILE_H
#define EXO_CTL_RECONCILE_H

#include "err.h"
#include "kube_client.h"
#include "store.h"

extern const kube_resource RES_ECP, RES_DEPLOYMENTS, RES_SERVICES, RES_SECRETS, RES_CONFIGMAPS,
    RES_PVCS, RES_EVENTS, RES_LEASES;

typedef struct {
    unsigned long applies;       /* Deployment/Service server-side applies */
    unsigned long status_writes; /* status subresource patches */
    unsigned long events;        /* Events created */
} reconcile_counts;

typedef struct {
    kube_client *c;
    /* Borrowed from the informers. The answers to the controller's own
     * writes go into ecps, deployments and services at once, so that the
     * next reconcile does not repeat a write the watch has not shown yet. */
    store *ecps, *deployments, *services;
    const store *secrets, *configmaps, *pvcs;
    const char *identity; /* Events' reportingInstance */
    /* RFC 3339 "now" for condition times; NULL: the clock (tests pin it). */
    const char *fixed_now;
    reconcile_counts counts;
} reconciler;

/* Reconciles the ExoControlPlane with key "namespace/name". Returns 0 when
 * done (including when it is gone, or refused in its status), -1 with err
 * set when an API call failed: the caller retries with backoff. */
int reconcile_one(reconciler *r, const char *key, exo_err *err);

/* Writes to the API so far (applies + status writes + events). */
unsigned long reconcile_writes(const reconciler *r);

#endif

/* Leader election on a coordination.k8s.io/v1 Lease, the way client-go's
 * leaderelection package does it, so that of several exo-controller
 * processes exactly one reconciles:
 *
 *   - a candidate takes the Lease when it is free (no holder) or when its
 *     record (holder, renewTime) has not changed for leaseDurationSeconds
 *     as measured on the candidate's own clock since it first saw that
 *     record, so clock skew between machines does not matter;
 *   - the leader renews every retry period; if it cannot renew for the
 *     renew deadline, it has lost and must stop reconciling (the process
 *     exits, as controller-runtime's does);
 *   - updates carry the Lease's resourceVersion: of two candidates racing,
 *     the API server lets one win (409 Conflict for the other);
 *   - on a clean exit the leader releases the Lease (empty holder), so a
 *     standby takes over at once instead of after the lease duration.
 *
 * Not thread-safe: driven by the controller's loop. */
#ifndef EXO_CTL_LEADER_H
#define EXO_CTL_LEADER_H

#include <stdbool.h>

#include "err.h"
#include "kube_client.h"

typedef struct {
    const char *ns;
    const char *name;       /* the Lease: "exo-controller" */
    const char *identity;   /* holderIdentity: the pod name */
    long lease_ms;          /* 15000 */
    long renew_deadline_ms; /* 10000 */
    long retry_ms;          /* 2000 */
    long (*clock_ms)(void); /* monotonic milliseconds; NULL: CLOCK_MONOTONIC (tests set one) */
} leader_opts;

typedef struct leader leader;

/* What a candidate should do with the record it read. */
typedef enum { LEASE_WAIT, LEASE_TAKE, LEASE_RENEW } lease_action;

/* The observation a candidate keeps between reads. */
typedef struct {
    char *holder;     /* owned */
    char *renew_time; /* owned */
    long seen_ms;     /* monotonic time the record was first seen as is */
} lease_observed;

/* The decision, from the record read (holder and renewTime may be NULL)
 * and what was observed before (updated here). Pure: tests drive it. */
lease_action leader_decide(lease_observed *obs, const char *holder, const char *renew_time,
                           long long duration_s, const char *me, long now_ms);
void leader_observed_free(lease_observed *obs);

/* Copies opts' strings; borrows c. Caller frees (leader_free). */
leader *leader_new(kube_client *c, const leader_opts *opts);
void leader_free(leader *l);

/* One attempt to acquire or renew. Returns 1 when this process leads after
 * it, 0 when another does, -1 on an API error (err set; leadership, if any,
 * stands until the renew deadline). The clock is read where the times
 * matter, however long the requests take: the record read is observed when
 * the read has returned, and a renewal counts from when its write was sent
 * (nothing it wrote can be seen by others before that). */
int leader_try(leader *l, exo_err *err);

bool leader_is_leader(const leader *l);
/* True when this process led and has not renewed within the deadline. */
bool leader_lost(const leader *l, long now_ms);
/* Gives the Lease up if held (empty holder, 1 s duration). */
int leader_release(leader *l, exo_err *err);

#endif

#include "leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "jpath.h"
#include "log.h"
#include "reconcile.h"
#include "xalloc.h"

struct leader {
    kube_client *c;
    char *ns, *name, *identity;
    long lease_ms, renew_deadline_ms, retry_ms;
    long (*clock_ms)(void);
    lease_observed obs;
    bool leading;
    long renewed_ms; /* when the last successful renewal was sent */
};

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

lease_action leader_decide(lease_observed *obs, const char *holder, const char *renew_time,
                           long long duration_s, const char *me, long now_ms)
{
    if (!obs->holder || !same(obs->holder, holder) || !same(obs->renew_time, renew_time)) {
        free(obs->holder);
        free(obs->renew_time);
        obs->holder = xstrdup(holder ? holder : "");
        obs->renew_time = xstrdup(renew_time ? renew_time : "");
        obs->seen_ms = now_ms;
    }
    if (holder && *holder && strcmp(holder, me) == 0)
        return LEASE_RENEW;
    if (!holder || !*holder)
        return LEASE_TAKE;
    if (duration_s <= 0)
        duration_s = 15;
    if (now_ms < obs->seen_ms + duration_s * 1000)
        return LEASE_WAIT;
    return LEASE_TAKE;
}

void leader_observed_free(lease_observed *obs)
{
    free(obs->holder);
    free(obs->renew_time);
    obs->holder = obs->renew_time = NULL;
}

static long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

leader *leader_new(kube_client *c, const leader_opts *o)
{
    leader *l = xcalloc(1, sizeof *l);
    l->c = c;
    l->ns = xstrdup(o->ns);
    l->name = xstrdup(o->name);
    l->identity = xstrdup(o->identity);
    l->lease_ms = o->lease_ms > 0 ? o->lease_ms : 15000;
    l->renew_deadline_ms = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : 10000;
    l->retry_ms = o->retry_ms > 0 ? o->retry_ms : 2000;
    l->clock_ms = o->clock_ms ? o->clock_ms : monotonic_ms;
    return l;
}

void leader_free(leader *l)
{
    if (!l)
        return;
    leader_observed_free(&l->obs);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l);
}

/* MicroTime, as the Lease's fields are. */
static void micro_now(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%06ldZ", ts.tv_nsec / 1000);
}

static void set_spec(cJSON *lease, const char *holder, long long duration_s, bool acquired,
                     long long transitions)
{
    char now[40];
    micro_now(now);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    if (!spec)
        spec = cJSON_AddObjectToObject(lease, "spec");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "holderIdentity");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseDurationSeconds");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "renewTime");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseTransitions");
    cJSON_AddStringToObject(spec, "holderIdentity", holder);
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)duration_s);
    cJSON_AddStringToObject(spec, "renewTime", now);
    cJSON_AddNumberToObject(spec, "leaseTransitions", (double)transitions);
    if (acquired) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "acquireTime");
        cJSON_AddStringToObject(spec, "acquireTime", now);
    }
}

/* PUT with the resourceVersion read: a 409 means someone else wrote first,
 * or that this very PUT did: the client retries a PUT whose answer was lost,
 * and the retry then meets the first attempt's new resourceVersion. The
 * Lease says which: a holder that is us wrote it (identities are unique). */
static int put(leader *l, const cJSON *lease, exo_err *err)
{
    buf path = BUF_INIT;
    kube_resource_path(&path, &RES_LEASES, l->ns, l->name);
    char *body = cJSON_PrintUnformatted(lease);
    int rc = kube_request(l->c, "PUT", path.ptr, "application/json", body, strlen(body), NULL, NULL,
                          err);
    free(body);
    buf_free(&path);
    const char *holder = jpath_str(lease, "spec.holderIdentity", NULL);
    if (rc < 0 && err->http_status == 409 && holder && *holder) {
        cJSON *now = NULL;
        exo_err e = EXO_ERR_INIT;
        if (kube_get(l->c, &RES_LEASES, l->ns, l->name, &now, &e) == 0 &&
            same(jpath_str(now, "spec.holderIdentity", NULL), holder) &&
            same(jpath_str(now, "spec.renewTime", NULL),
                 jpath_str(lease, "spec.renewTime", NULL))) {
            err_clear(err);
            rc = 0;
        }
        err_clear(&e);
        cJSON_Delete(now);
    }
    return rc;
}

static void set_leading(leader *l, bool leading)
{
    if (leading != l->leading)
        log_msg(LOG_INFO, leading ? "became leader" : "not leader", "lease", l->name, "identity",
                l->identity, NULL);
    l->leading = leading;
}

int leader_try(leader *l, exo_err *err)
{
    cJSON *lease = NULL;
    long long duration_s = (l->lease_ms + 999) / 1000;
    /* The read can take longer than the renew deadline (a first TLS
     * handshake on a loaded node, a retried timeout): timed from before it,
     * a new leader used to count itself lost as soon as it had written. */
    int got = kube_get(l->c, &RES_LEASES, l->ns, l->name, &lease, err);
    long read_ms = l->clock_ms();
    if (got < 0) {
        if (!kube_is_not_found(err))
            return -1;
        err_clear(err);
        lease = cJSON_CreateObject();
        cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
        cJSON_AddStringToObject(lease, "kind", "Lease");
        cJSON *md = cJSON_AddObjectToObject(lease, "metadata");
        cJSON_AddStringToObject(md, "name", l->name);
        cJSON_AddStringToObject(md, "namespace", l->ns);
        set_spec(lease, l->identity, duration_s, true, 0);
        long sent_ms = l->clock_ms();
        int rc = kube_create(l->c, &RES_LEASES, l->ns, lease, 0, NULL, err);
        cJSON_Delete(lease);
        if (rc < 0) {
            if (err->reason && strcmp(err->reason, "AlreadyExists") == 0) {
                err_clear(err); /* another candidate created it first */
                set_leading(l, false);
                return 0;
            }
            return -1;
        }
        l->renewed_ms = sent_ms;
        set_leading(l, true);
        return 1;
    }
    const char *holder = jpath_str(lease, "spec.holderIdentity", NULL);
    lease_action a =
        leader_decide(&l->obs, holder, jpath_str(lease, "spec.renewTime", NULL),
                      jpath_int(lease, "spec.leaseDurationSeconds", 15), l->identity, read_ms);
    if (a == LEASE_WAIT) {
        cJSON_Delete(lease);
        set_leading(l, false);
        return 0;
    }
    long long transitions = jpath_int(lease, "spec.leaseTransitions", 0);
    bool taking = a == LEASE_TAKE;
    set_spec(lease, l->identity, duration_s, taking,
             transitions + (taking && holder && *holder ? 1 : 0));
    long sent_ms = l->clock_ms();
    int rc = put(l, lease, err);
    cJSON_Delete(lease);
    if (rc < 0) {
        if (err->http_status == 409) {
            err_clear(err);
            set_leading(l, false);
            return 0;
        }
        return -1;
    }
    l->renewed_ms = sent_ms;
    set_leading(l, true);
    return 1;
}

bool leader_is_leader(const leader *l)
{
    return l->leading;
}

bool leader_lost(const leader *l, long now_ms)
{
    return l->leading && now_ms - l->renewed_ms > l->renew_deadline_ms;
}

int leader_release(leader *l, exo_err *err)
{
    if (!l->leading)
        return 0;
    cJSON *lease = NULL;
    if (kube_get(l->c, &RES_LEASES, l->ns, l->name, &lease, err) < 0)
        return -1;
    int rc = 0;
    if (same(jpath_str(lease, "spec.holderIdentity", NULL), l->identity)) {
        set_spec(lease, "", 1, false, jpath_int(lease, "spec.leaseTransitions", 0));
        rc = put(l, lease, err);
    }
    cJSON_Delete(lease);
    if (rc == 0) {
        log_msg(LOG_INFO, "released the lease", "lease", l->name, "identity", l->identity, NULL);
        l->leading = false;
    }
    return rc;
}

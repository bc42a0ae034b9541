#include "controller.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "health.h"
#include "informer.h"
#include "jpath.h"
#include "kube_client.h"
#include "leader.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "reconcile.h"
#include "refs.h"
#include "store.h"
#include "version.h"

/* How often the loop looks at the watches when nothing is due. Watches are
 * polled, not waited on, so this bounds the latency of an event. */
#define TICK_MS 50
/* Reconciles in one go before the loop looks at the Lease again. */
#define BUDGET_MS 500
/* Per-key backoff after a failed reconcile: client-go's 5 ms .. 1000 s. */
#define BACKOFF_BASE_MS 5
#define BACKOFF_MAX_MS 1000000

enum { INF_ECP, INF_DEPLOY, INF_SVC, INF_SECRET, INF_CM, INF_PVC, INF_N };

/* What the loop keeps from one pass to the next. */
typedef struct {
    const options *o;
    kube_client *kc;
    health *h;
    leader *l; /* NULL without leader election */
    queue *q;
    informer *inf[INF_N];
    reconciler r;
    long now_ms;      /* the time of the current pass */
    bool synced;      /* every informer has listed once */
    long next_renew;  /* when to renew the Lease */
    long next_resync; /* when to enqueue every ExoControlPlane again */
} ctl;

typedef struct {
    ctl *c;
    const char *kind; /* for references: "Secret", ... ; NULL for ECP/owned */
    int which;
} handler_ctx;

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(signal_pipe[1], &b, 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits up to ms for a signal; true when one came. */
static bool wait_signal(long ms)
{
    struct pollfd p = {signal_pipe[0], POLLIN, 0};
    int rc = poll(&p, 1, (int)ms);
    return rc > 0 && (p.revents & POLLIN);
}

static void enqueue_obj(ctl *c, const cJSON *obj)
{
    char *k = store_key(obj);
    if (k)
        queue_add(c->q, k, c->now_ms);
    free(k);
}

static void enqueue_all(ctl *c)
{
    const store *s = informer_store(c->inf[INF_ECP]);
    for (size_t i = 0; i < store_len(s); i++)
        enqueue_obj(c, store_at(s, i));
}

static void on_ecp(void *ud, const cJSON *old, const cJSON *obj)
{
    handler_ctx *h = ud;
    enqueue_obj(h->c, obj ? obj : old);
}

/* A Deployment or Service: its controlling ExoControlPlane. */
static void on_owned(void *ud, const cJSON *old, const cJSON *obj)
{
    handler_ctx *h = ud;
    const cJSON *o = obj ? obj : old;
    const cJSON *ref;
    cJSON_ArrayForEach (ref, jpath_get(o, "metadata.ownerReferences")) {
        if (strcmp(jpath_str(ref, "kind", ""), "ExoControlPlane") != 0 ||
            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "controller")))
            continue;
        buf k = BUF_INIT;
        buf_printf(&k, "%s/%s", jpath_str(o, "metadata.namespace", ""), jpath_str(ref, "name", ""));
        queue_add(h->c->q, k.ptr, h->c->now_ms);
        buf_free(&k);
    }
}

/* A Secret, ConfigMap or PVC: every ExoControlPlane that refers to it. */
static void on_ref(void *ud, const cJSON *old, const cJSON *obj)
{
    handler_ctx *h = ud;
    const cJSON *o = obj ? obj : old;
    const char *name = jpath_str(o, "metadata.name", "");
    const store *s = informer_store(h->c->inf[INF_ECP]);
    for (size_t i = 0; i < store_len(s); i++)
        if (refs_uses(store_at(s, i), h->kind, name))
            enqueue_obj(h->c, store_at(s, i));
}

/* Each retry of an API request, at info: rare when all is well, and what
 * to look at when /metrics shows retries. */
static void log_retry(void *ud, const char *method, const char *path, const char *cause,
                      long wait_ms, const char *why)
{
    (void)ud;
    char w[32];
    snprintf(w, sizeof w, "%ld", wait_ms);
    log_msg(LOG_INFO, "API request retried", "method", method, "path", path, "cause", cause,
            "wait_ms", w, "error", why, NULL);
}

static void install_signals(void)
{
    if (pipe(signal_pipe) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(signal_pipe[i], F_SETFL, fcntl(signal_pipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Reconciles what the queue has due, for at most BUDGET_MS. */
static void process_queue(ctl *c)
{
    reconciler *r = &c->r;
    const leader *l = c->l;
    long start = mono_ms();
    for (;;) {
        c->now_ms = mono_ms();
        if (c->now_ms - start > BUDGET_MS)
            break;
        /* Past the renew deadline a standby may already lead: not one more
         * write (the loop then exits). */
        if (l && leader_lost(l, c->now_ms))
            break;
        char *key = queue_pop(c->q, c->now_ms);
        if (!key)
            break;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        exo_err err = EXO_ERR_INIT;
        int rc = reconcile_one(r, key, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        metrics_reconcile(secs, rc < 0);
        metrics_writes(r->counts.applies, r->counts.status_writes, r->counts.events);
        if (rc < 0) {
            long delay = queue_add_backoff(c->q, key, mono_ms());
            char d[32];
            snprintf(d, sizeof d, "%ld", delay);
            log_msg(LOG_WARN, "reconcile failed; retrying", "key", key, "error", err_msg(&err),
                    "retry_ms", d, NULL);
        } else {
            queue_forget(c->q, key);
        }
        err_clear(&err);
        free(key);
    }
}

/* A standby's wait: tries the Lease every retry period until it is ours
 * (returns 1) or a signal asks to stop (returns 0). */
static int wait_for_lease(ctl *c)
{
    /* A standby is ready: it is doing its job, which is to wait. */
    health_set_ready(c->h, true);
    log_msg(LOG_INFO, "waiting for the lease", "lease", "exo-controller", NULL);
    for (;;) {
        exo_err e = EXO_ERR_INIT;
        int got = leader_try(c->l, &e);
        if (got < 0)
            log_msg(LOG_WARN, "lease: cannot take or renew", "error", err_msg(&e), NULL);
        err_clear(&e);
        metrics_leader(got == 1);
        if (got == 1)
            break;
        if (wait_signal(c->o->retry_ms))
            return 0;
    }
    health_set_ready(c->h, false);
    return 1;
}

/* The work queue and one informer per kind the reconciler reads, each
 * feeding the queue through its handler. hctx must live as long as c. */
static void start_informers(ctl *c, handler_ctx hctx[INF_N], const char *ns, const char *identity)
{
    c->q = queue_new(BACKOFF_BASE_MS, BACKOFF_MAX_MS);
    const char *owned = "app.kubernetes.io/managed-by=exo-controller";
    struct {
        const kube_resource *r;
        const char *selector;
        informer_transform tf;
        informer_handler fn;
        const char *kind;
    } spec[INF_N] = {
        [INF_ECP] = {&RES_ECP, NULL, informer_strip, on_ecp, NULL},
        [INF_DEPLOY] = {&RES_DEPLOYMENTS, owned, informer_strip, on_owned, NULL},
        [INF_SVC] = {&RES_SERVICES, owned, informer_strip, on_owned, NULL},
        [INF_SECRET] = {&RES_SECRETS, NULL, informer_hash_secret, on_ref, "Secret"},
        [INF_CM] = {&RES_CONFIGMAPS, NULL, informer_strip, on_ref, "ConfigMap"},
        [INF_PVC] = {&RES_PVCS, NULL, informer_strip, on_ref, "PersistentVolumeClaim"},
    };
    for (int i = 0; i < INF_N; i++) {
        hctx[i] = (handler_ctx){c, spec[i].kind, i};
        c->inf[i] =
            informer_new(c->kc, spec[i].r, ns, spec[i].selector, spec[i].tf, spec[i].fn, &hctx[i]);
    }
    c->r = (reconciler){
        .c = c->kc,
        .ecps = informer_store(c->inf[INF_ECP]),
        .identity = identity,
    };
}

/* The leader's part of a pass: renews the Lease when due, and sets
 * c->now_ms. -1 (err set) when leadership is lost, after which nothing may
 * be written. */
static int keep_lease(ctl *c, exo_err *err)
{
    const options *o = c->o;
    c->now_ms = mono_ms();
    if (!c->l)
        return 0;
    if (leader_lost(c->l, c->now_ms))
        return err_set(
            err, "leader election lost: the Lease exo-controller was not renewed within %ld ms",
            o->renew_deadline_ms);
    if (c->now_ms < c->next_renew)
        return 0;
    exo_err e = EXO_ERR_INIT;
    int rc = 0;
    int got = leader_try(c->l, &e);
    c->now_ms = mono_ms(); /* the attempt's requests took time too */
    c->next_renew = c->now_ms + o->retry_ms;
    if (got == 0) {
        rc = err_set(err, "leader election lost: another process holds the Lease exo-controller");
    } else if (got < 0) {
        log_msg(LOG_WARN, "lease: cannot renew", "error", err_msg(&e), NULL);
        if (leader_lost(c->l, c->now_ms))
            rc = err_set(err, "leader election lost: could not renew the Lease within %ld ms: %s",
                         o->renew_deadline_ms, err_msg(&e));
    }
    err_clear(&e);
    return rc;
}

/* Polls every watch, and on the pass where the last cache fills, says the
 * controller is ready and enqueues every ExoControlPlane. -1 (err set) when
 * leadership is lost meanwhile. */
static int poll_informers(ctl *c, exo_err *err)
{
    bool all = true;
    for (int i = 0; i < INF_N; i++) {
        /* Before every poll, not once a pass: a pass can take longer than
         * the renew deadline when each watch does a TLS handshake on a
         * loaded machine (5 s measured under valgrind). */
        if (keep_lease(c, err) < 0)
            return -1;
        exo_err e = EXO_ERR_INIT;
        if (informer_poll(c->inf[i], c->now_ms, &e) < 0)
            log_msg(LOG_WARN, "informer", "error", err_msg(&e), NULL);
        err_clear(&e);
        all = all && informer_synced(c->inf[i]);
    }
    /* Stores are rebuilt on a relist: fetch them each time round. */
    c->r.ecps = informer_store(c->inf[INF_ECP]);
    c->r.deployments = informer_store(c->inf[INF_DEPLOY]);
    c->r.services = informer_store(c->inf[INF_SVC]);
    c->r.secrets = informer_store(c->inf[INF_SECRET]);
    c->r.configmaps = informer_store(c->inf[INF_CM]);
    c->r.pvcs = informer_store(c->inf[INF_PVC]);
    if (all && !c->synced) {
        c->synced = true;
        health_set_ready(c->h, true);
        log_msg(LOG_INFO, "caches synced", NULL);
        c->next_resync = c->now_ms + c->o->resync_ms;
        enqueue_all(c);
    }
    return 0;
}

/* One pass of the loop, as redis's serverCron is one pass of its timer:
 * keeps the Lease, polls the watches, resyncs when due, reconciles what the
 * queue has due, publishes the gauges. Returns how long the loop may sleep
 * before the next pass (ms), or -1 (err set) when leadership is lost. */
static long tick(ctl *c, exo_err *err)
{
    if (poll_informers(c, err) < 0)
        return -1;
    if (c->synced && c->now_ms >= c->next_resync) {
        /* Level-triggered safety net: whatever a watch missed. */
        enqueue_all(c);
        c->next_resync = c->now_ms + c->o->resync_ms;
    }
    /* Nothing is reconciled before every cache is full: a Secret not yet
     * listed is not a missing Secret. */
    if (c->synced)
        process_queue(c);
    metrics_queue_depth((long)queue_len(c->q));
    metrics_api(kube_client_stats(c->kc));
    long wait = TICK_MS, due = c->synced ? queue_next_due(c->q, mono_ms()) : -1;
    if (due >= 0 && due < wait)
        wait = due;
    return wait;
}

int controller_run(const options *o, kube_config *cfg, const char *ns, const char *identity,
                   exo_err *err)
{
    int rc = -1;
    ctl c = {.o = o};
    handler_ctx hctx[INF_N];
    install_signals();

    /* Short timeouts and one retry: one loop renews the Lease and
     * reconciles, so no call may hold it much longer than the renew
     * deadline; a failed reconcile is retried by the work queue's backoff
     * instead. */
    kube_client_opts co = {.user_agent = "exo-controller/" EXO_VERSION,
                           .timeout_ms = 5000,
                           .max_retries = 1,
                           .backoff_max_ms = 1000,
                           .on_retry = log_retry};
    if (kube_client_new(&c.kc, cfg, &co, err) < 0)
        return -1;
    if (health_start(&c.h, o->health_addr, err) < 0)
        goto out;
    log_msg(LOG_INFO, "starting", "namespace", ns, "identity", identity, "server",
            kube_config_server(cfg), "health_addr", o->health_addr, "leader_elect",
            o->leader_elect ? "true" : "false", NULL);

    if (o->leader_elect) {
        leader_opts lo = {ns,          "exo-controller",     identity,
                          o->lease_ms, o->renew_deadline_ms, o->retry_ms, NULL};
        c.l = leader_new(c.kc, &lo);
        if (!wait_for_lease(&c)) {
            rc = 0;
            goto out;
        }
    }

    start_informers(&c, hctx, ns, identity);
    c.next_renew = mono_ms() + o->retry_ms;
    for (;;) {
        long wait = tick(&c, err);
        if (wait < 0)
            goto out;
        if (wait_signal(wait))
            break;
    }
    rc = 0;
out:
    if (rc == 0)
        log_msg(LOG_INFO, "stopping", NULL);
    if (c.l) {
        exo_err e = EXO_ERR_INIT;
        if (leader_release(c.l, &e) < 0)
            log_msg(LOG_WARN, "lease not released", "error", err_msg(&e), NULL);
        err_clear(&e);
        metrics_leader(false);
    }
    for (int i = 0; i < INF_N; i++)
        informer_free(c.inf[i]);
    queue_free(c.q);
    leader_free(c.l);
    health_stop(c.h);
    kube_client_free(c.kc);
    return rc;
}

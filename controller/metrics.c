#include "metrics.h"

#include <stdatomic.h>

/* Seconds; a reconcile is a few API calls, so most land under 100 ms. */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NB (sizeof bounds / sizeof bounds[0])

static atomic_ulong reconciles, errors_, buckets[NB], applies_, status_, events_;
static atomic_ullong sum_us;
static atomic_long depth;
static atomic_bool leading_;

/* The client's kube_stats, copied by the loop's thread. */
enum {
    API_REQUESTS,
    API_429,
    API_500,
    API_503,
    API_5XX,
    API_DROPPED,
    API_TIMEOUT,
    API_401,
    WATCH_RESTARTS,
    WATCH_EXPIRED,
    WATCH_ERRORS,
    API_N
};
static atomic_ulong api[API_N];

void metrics_api(const kube_stats *s)
{
    const unsigned long v[API_N] = {
        [API_REQUESTS] = s->requests,         [API_429] = s->retried_429,
        [API_500] = s->retried_500,           [API_503] = s->retried_503,
        [API_5XX] = s->retried_5xx,           [API_DROPPED] = s->retried_dropped,
        [API_TIMEOUT] = s->retried_timeout,   [API_401] = s->reauths,
        [WATCH_RESTARTS] = s->watch_restarts, [WATCH_EXPIRED] = s->watch_expired,
        [WATCH_ERRORS] = s->watch_errors,
    };
    for (int i = 0; i < API_N; i++)
        atomic_store(&api[i], v[i]);
}

void metrics_reconcile(double seconds, bool failed)
{
    atomic_fetch_add(&reconciles, 1);
    if (failed)
        atomic_fetch_add(&errors_, 1);
    for (size_t i = 0; i < NB; i++)
        if (seconds <= bounds[i])
            atomic_fetch_add(&buckets[i], 1);
    atomic_fetch_add(&sum_us, (unsigned long long)(seconds * 1e6));
}

void metrics_queue_depth(long n)
{
    atomic_store(&depth, n);
}

void metrics_leader(bool leading)
{
    atomic_store(&leading_, leading);
}

void metrics_writes(unsigned long applies, unsigned long status, unsigned long events)
{
    atomic_store(&applies_, applies);
    atomic_store(&status_, status);
    atomic_store(&events_, events);
}

void metrics_render(buf *out)
{
    unsigned long total = atomic_load(&reconciles);
    buf_puts(out, "# HELP exo_controller_reconcile_total Reconciles of ExoControlPlane resources.\n"
                  "# TYPE exo_controller_reconcile_total counter\n");
    buf_printf(out, "exo_controller_reconcile_total %lu\n", total);
    buf_puts(
        out,
        "# HELP exo_controller_reconcile_errors_total Reconciles that failed and were retried.\n"
        "# TYPE exo_controller_reconcile_errors_total counter\n");
    buf_printf(out, "exo_controller_reconcile_errors_total %lu\n", atomic_load(&errors_));
    buf_puts(out, "# HELP exo_controller_reconcile_duration_seconds Time per reconcile.\n"
                  "# TYPE exo_controller_reconcile_duration_seconds histogram\n");
    for (size_t i = 0; i < NB; i++)
        buf_printf(out, "exo_controller_reconcile_duration_seconds_bucket{le=\"%g\"} %lu\n",
                   bounds[i], atomic_load(&buckets[i]));
    buf_printf(out, "exo_controller_reconcile_duration_seconds_bucket{le=\"+Inf\"} %lu\n", total);
    buf_printf(out, "exo_controller_reconcile_duration_seconds_sum %.6f\n",
               (double)atomic_load(&sum_us) / 1e6);
    buf_printf(out, "exo_controller_reconcile_duration_seconds_count %lu\n", total);
    buf_puts(out, "# HELP exo_controller_queue_depth Keys waiting in the work queue.\n"
                  "# TYPE exo_controller_queue_depth gauge\n");
    buf_printf(out, "exo_controller_queue_depth %ld\n", atomic_load(&depth));
    buf_puts(out, "# HELP exo_controller_leader 1 when this process holds the Lease.\n"
                  "# TYPE exo_controller_leader gauge\n");
    buf_printf(out, "exo_controller_leader %d\n", atomic_load(&leading_) ? 1 : 0);
    buf_puts(out, "# HELP exo_controller_api_writes_total Writes sent to the API server.\n"
                  "# TYPE exo_controller_api_writes_total counter\n");
    buf_printf(out, "exo_controller_api_writes_total{kind=\"apply\"} %lu\n",
               atomic_load(&applies_));
    buf_printf(out, "exo_controller_api_writes_total{kind=\"status\"} %lu\n",
               atomic_load(&status_));
    buf_printf(out, "exo_controller_api_writes_total{kind=\"event\"} %lu\n", atomic_load(&events_));
    buf_puts(out, "# HELP exo_controller_api_requests_total HTTP attempts to the API server, "
                  "retries included (watches not).\n"
                  "# TYPE exo_controller_api_requests_total counter\n");
    buf_printf(out, "exo_controller_api_requests_total %lu\n", atomic_load(&api[API_REQUESTS]));
    static const struct {
        int i;
        const char *cause;
    } causes[] = {{API_429, "429"}, {API_500, "500"},         {API_503, "503"},
                  {API_5XX, "5xx"}, {API_DROPPED, "dropped"}, {API_TIMEOUT, "timeout"},
                  {API_401, "401"}};
    buf_puts(out, "# HELP exo_controller_api_retries_total API requests retried, by the cause "
                  "of the failed attempt.\n"
                  "# TYPE exo_controller_api_retries_total counter\n");
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
        buf_printf(out, "exo_controller_api_retries_total{cause=\"%s\"} %lu\n", causes[i].cause,
                   atomic_load(&api[causes[i].i]));
    buf_puts(out, "# HELP exo_controller_watch_restarts_total Watches that ended, cleanly or "
                  "not, and resumed from their resourceVersion.\n"
                  "# TYPE exo_controller_watch_restarts_total counter\n");
    buf_printf(out, "exo_controller_watch_restarts_total %lu\n", atomic_load(&api[WATCH_RESTARTS]));
    buf_puts(out, "# HELP exo_controller_watch_relists_total Watches answered 410 Gone: the "
                  "resource was listed again.\n"
                  "# TYPE exo_controller_watch_relists_total counter\n");
    buf_printf(out, "exo_controller_watch_relists_total %lu\n", atomic_load(&api[WATCH_EXPIRED]));
    buf_puts(out, "# HELP exo_controller_watch_errors_total Watches refused with an error "
                  "status or not connected (retried with backoff).\n"
                  "# TYPE exo_controller_watch_errors_total counter\n");
    buf_printf(out, "exo_controller_watch_errors_total %lu\n", atomic_load(&api[WATCH_ERRORS]));
}

#include "metrics.h"

#include "api.h"
#include "casts.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

/* Latency buckets in seconds, as Prometheus client libraries default them. */
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

/* The status codes the API answers with; any other lands in the last
 * slot, rendered as code="other", so the label's values stay bounded. */
static const int codes[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503};
#define NCODES (sizeof codes / sizeof codes[0])

/* One series set per route template of the API's table (a static string,
 * never a path as sent: ids stay out of labels). A slot is claimed under
 * the lock; readers find claimed slots without it, since pattern is
 * published after method. */
static struct route_slot {
    _Atomic(const char *) pattern;
    const char *method;
    atomic_uint_fast64_t by_code[NCODES + 1];
    atomic_uint_fast64_t bucket_counts[NBUCKETS];
    atomic_uint_fast64_t count;
    _Atomic double seconds;
} routes[METRICS_ROUTES_MAX];
static pthread_mutex_t routes_lock = PTHREAD_MUTEX_INITIALIZER;

static atomic_uint_fast64_t maintenance_ok, maintenance_failed, partitions_dropped, rows_deleted;
static atomic_uint_fast64_t session_events, audit_events;
static atomic_llong last_success, boot_ms, boot_ddl, schema_version, key_id, interval_s;
static _Atomic(const char *) cast_dir;
/* Bounded: one per schema_partitioned_tables entry. */
static struct {
    _Atomic(const char *) table;
    atomic_int months;
} ahead[PARTITIONS_TABLES_MAX];

static void add_double(_Atomic double *d, double v)
{
    double old = atomic_load(d);
    while (!atomic_compare_exchange_weak(d, &old, old + v))
        ;
}

/* Compared as text, not by address: the same literal in two places of
 * the caller need not be one object. */
static bool same_route(const struct route_slot *r, const char *p, const char *method,
                       const char *pattern)
{
    return strcmp(p, pattern) == 0 && strcmp(r->method, method) == 0;
}

static struct route_slot *route_slot(const char *method, const char *pattern)
{
    for (int i = 0; i < METRICS_ROUTES_MAX; i++) {
        const char *p = atomic_load(&routes[i].pattern);
        if (!p)
            break;
        if (same_route(&routes[i], p, method, pattern))
            return &routes[i];
    }
    struct route_slot *slot = NULL;
    pthread_mutex_lock(&routes_lock);
    for (int i = 0; i < METRICS_ROUTES_MAX && !slot; i++) {
        const char *p = atomic_load(&routes[i].pattern);
        if (!p) {
            routes[i].method = method;
            atomic_store(&routes[i].pattern, pattern);
            slot = &routes[i];
        } else if (same_route(&routes[i], p, method, pattern)) {
            slot = &routes[i];
        }
    }
    pthread_mutex_unlock(&routes_lock);
    return slot;
}

void metrics_request(const char *method, const char *pattern, int status, double seconds)
{
    struct route_slot *r = route_slot(method, pattern);
    if (!r) /* more templates than slots: the table has far fewer */
        return;
    size_t c = 0;
    while (c < NCODES && codes[c] != status)
        c++;
    atomic_fetch_add(&r->by_code[c], 1);
    for (size_t i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i])
            atomic_fetch_add(&r->bucket_counts[i], 1);
    atomic_fetch_add(&r->count, 1);
    add_double(&r->seconds, seconds);
}

void metrics_maintenance(int ok, int dropped, long deleted)
{
    atomic_fetch_add(ok ? &maintenance_ok : &maintenance_failed, 1);
    atomic_fetch_add(&partitions_dropped, (uint64_t)(dropped > 0 ? dropped : 0));
    atomic_fetch_add(&rows_deleted, (uint64_t)(deleted > 0 ? deleted : 0));
}

void metrics_maintenance_done(void)
{
    atomic_store(&last_success, (long long)time(NULL));
}

void metrics_partitions_ahead(const char *table, int months)
{
    for (int i = 0; i < PARTITIONS_TABLES_MAX; i++) {
        const char *t = atomic_load(&ahead[i].table);
        if (!t) {
            /* Tables are the schema's constants: the first pass fills the
             * slots from one thread, later passes find theirs. */
            atomic_store(&ahead[i].table, table);
            t = table;
        }
        if (strcmp(t, table) == 0) {
            atomic_store(&ahead[i].months, months);
            return;
        }
    }
}

void metrics_boot(long duration_ms, int ddl, int version, int id)
{
    atomic_store(&boot_ms, duration_ms);
    atomic_store(&boot_ddl, ddl);
    atomic_store(&schema_version, version);
    atomic_store(&key_id, id);
}

void metrics_cast_dir(const char *dir)
{
    atomic_store(&cast_dir, dir);
}

void metrics_maintenance_interval(long long seconds)
{
    atomic_store(&interval_s, seconds);
}

void metrics_events(const char *kind, uint64_t n)
{
    atomic_fetch_add(strcmp(kind, "session") == 0 ? &session_events : &audit_events, n);
}

static void counter(buf *o, const char *name, const char *help, uint64_t v)
{
    buf_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
               (unsigned long long)v);
}

static void gauge(buf *o, const char *name, const char *help, long long v)
{
    buf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, v);
}

/* The route label: the template under the API's prefix, with "{id}" for
 * each segment the table matches with "*". */
static void route_label(buf *o, const char *pattern)
{
    if (strcmp(pattern, METRICS_ROUTE_OTHER) == 0) {
        buf_puts(o, METRICS_ROUTE_OTHER);
        return;
    }
    buf_puts(o, API_PREFIX);
    for (const char *p = pattern; *p; p++)
        if (*p == '*')
            buf_puts(o, "{id}");
        else
            buf_putc(o, *p);
}

static void render_requests(buf *o)
{
    buf_puts(o, "# HELP exo_http_requests_total API requests answered, by method, route "
                "template and status code.\n"
                "# TYPE exo_http_requests_total counter\n");
    for (int i = 0; i < METRICS_ROUTES_MAX && atomic_load(&routes[i].pattern); i++) {
        struct route_slot *r = &routes[i];
        for (size_t c = 0; c <= NCODES; c++) {
            uint64_t n = atomic_load(&r->by_code[c]);
            if (!n)
                continue;
            buf_printf(o, "exo_http_requests_total{method=\"%s\",route=\"", r->method);
            route_label(o, atomic_load(&r->pattern));
            if (c < NCODES)
                buf_printf(o, "\",code=\"%d\"} %llu\n", codes[c], (unsigned long long)n);
            else
                buf_printf(o, "\",code=\"other\"} %llu\n", (unsigned long long)n);
        }
    }
    buf_puts(o, "# HELP exo_http_request_duration_seconds Time to answer an API request, by "
                "method and route template.\n"
                "# TYPE exo_http_request_duration_seconds histogram\n");
    for (int i = 0; i < METRICS_ROUTES_MAX && atomic_load(&routes[i].pattern); i++) {
        struct route_slot *r = &routes[i];
        buf labels = BUF_INIT;
        buf_printf(&labels, "method=\"%s\",route=\"", r->method);
        route_label(&labels, atomic_load(&r->pattern));
        buf_putc(&labels, '"');
        for (size_t b = 0; b < NBUCKETS; b++)
            buf_printf(o, "exo_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                       labels.ptr, buckets[b], (unsigned long long)atomic_load(&r->bucket_counts[b]));
        uint64_t n = atomic_load(&r->count);
        buf_printf(o, "exo_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
                   labels.ptr, (unsigned long long)n);
        buf_printf(o, "exo_http_request_duration_seconds_sum{%s} %.6f\n", labels.ptr,
                   atomic_load(&r->seconds));
        buf_printf(o, "exo_http_request_duration_seconds_count{%s} %llu\n", labels.ptr,
                   (unsigned long long)n);
        buf_free(&labels);
    }
}

void metrics_render(buf *o, pool *db, int ready, int db_up)
{
    gauge(o, "exo_ready",
          "1 when the backend has booted and its database answered the last readiness check.",
          ready);
    gauge(o, "exo_database_up",
          "1 when the database answered the last readiness check (/readyz; during boot: 0 while "
          "no server answers).",
          db_up);
    render_requests(o);
    counter(o, "exo_maintenance_runs_total", "Maintenance passes that completed.",
            atomic_load(&maintenance_ok));
    counter(o, "exo_maintenance_failures_total", "Maintenance passes that failed.",
            atomic_load(&maintenance_failed));
    counter(o, "exo_partitions_dropped_total", "Monthly partitions dropped by retention.",
            atomic_load(&partitions_dropped));
    counter(o, "exo_retention_rows_deleted_total", "Rows deleted by per-deployment retention.",
            atomic_load(&rows_deleted));
    counter(o, "exo_cast_bytes_written_total", "Session recording bytes written.",
            casts_bytes_written());
    counter(o, "exo_session_events_total", "Session events accepted.",
            atomic_load(&session_events));
    counter(o, "exo_audit_events_total", "Audit events accepted.", atomic_load(&audit_events));
    gauge(o, "exo_maintenance_last_success_timestamp_seconds",
          "When a maintenance pass last succeeded (Unix time; 0: none since start).",
          atomic_load(&last_success));
    buf_puts(o, "# HELP exo_partitions_months_ahead Months after the current one with a "
                "partition, per partitioned table.\n"
                "# TYPE exo_partitions_months_ahead gauge\n");
    for (int i = 0; i < PARTITIONS_TABLES_MAX; i++) {
        const char *t = atomic_load(&ahead[i].table);
        if (t)
            buf_printf(o, "exo_partitions_months_ahead{table=\"%s\"} %d\n", t,
                       atomic_load(&ahead[i].months));
    }
    buf_printf(o, "# HELP exo_boot_duration_seconds How long the last boot (migrations, keyring, "
                  "partitions) took.\n# TYPE exo_boot_duration_seconds gauge\n"
                  "exo_boot_duration_seconds %.3f\n",
               (double)atomic_load(&boot_ms) / 1000);
    gauge(o, "exo_boot_ddl_statements",
          "DDL statements the last boot issued: migrations and partitions (0: nothing to do).",
          atomic_load(&boot_ddl));
    gauge(o, "exo_maintenance_interval_seconds",
          "EXO_MAINTENANCE_INTERVAL: the time between two maintenance passes.",
          atomic_load(&interval_s));
    gauge(o, "exo_schema_version", "The schema version the database is migrated to.",
          atomic_load(&schema_version));
    gauge(o, "exo_keyring_active_key_id", "The id of the keyring's active data key.",
          atomic_load(&key_id));
    const char *dir = atomic_load(&cast_dir);
    struct statvfs vfs;
    if (dir && statvfs(dir, &vfs) == 0) {
        gauge(o, "exo_cast_volume_size_bytes", "Size of the recordings volume.",
              (long long)(vfs.f_blocks * vfs.f_frsize));
        gauge(o, "exo_cast_volume_used_bytes", "Bytes used on the recordings volume.",
              (long long)((vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize));
        gauge(o, "exo_cast_volume_free_bytes",
              "Bytes free on the recordings volume for the backend.",
              (long long)(vfs.f_bavail * vfs.f_frsize));
    }
    if (db) {
        pool_stats st;
        pool_get_stats(db, &st);
        gauge(o, "exo_db_pool_max_open", "The most database connections open at once "
              "(EXO_DB_MAX_OPEN_CONNS).", st.max_open);
        gauge(o, "exo_db_pool_max_idle", "The most idle database connections kept "
              "(EXO_DB_MAX_IDLE_CONNS).", st.max_idle);
        gauge(o, "exo_db_pool_open", "Open database connections.", st.open);
        gauge(o, "exo_db_pool_idle", "Idle database connections.", st.idle);
        gauge(o, "exo_db_pool_in_use", "Database connections in use.", st.in_use);
        counter(o, "exo_db_pool_waits_total", "Requests that waited for a connection.", st.waits);
        counter(o, "exo_db_pool_opened_total",
                "Database connections opened (reconnects after the server restarted count here).",
                st.opened);
        counter(o, "exo_db_pool_closed_total",
                "Database connections closed (found broken, or beyond the idle limit).",
                st.closed);
        buf_printf(o, "# HELP exo_db_pool_wait_seconds_total Time spent waiting for a "
                      "connection.\n# TYPE exo_db_pool_wait_seconds_total counter\n"
                      "exo_db_pool_wait_seconds_total %.6f\n",
                   (double)st.wait_ns / 1e9);
    }
}

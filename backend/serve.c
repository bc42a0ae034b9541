#include "serve.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "boot.h"
#include "casts.h"
#include "http.h"
#include "keyring.h"
#include "log.h"
#include "maintain.h"
#include "metrics.h"
#include "pool.h"
#include "schema.h"

/* The longest pause between two tries of an unreachable database. */
#define CONNECT_BACKOFF_MAX_MS 10000

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A fresh install starts the backend before its database's Service name
 * resolves or its pod listens, and a managed database may be failing over:
 * a database no server answers for is tried again, with backoff, for
 * EXO_DB_STARTUP_WAIT, instead of exiting and being restarted by the
 * kubelet. /readyz says why meanwhile. A refusal (a wrong password,
 * PostgreSQL 15) ends the process at once: waiting would not change it.
 * NULL with *stopped when SIGTERM or SIGINT came first. */
static PGconn *connect_waiting(const backend_config *cfg, http_server *http, const sigset_t *stop,
                               bool *stopped, exo_err *err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long delay_ms = 250;
    *stopped = false;
    for (;;) {
        bool unreachable;
        PGconn *c = boot_connect_try(cfg->dsn, &unreachable, err);
        if (c || !unreachable)
            return c;
        double waited = seconds_since(&start);
        if (waited >= (double)cfg->startup_wait_s) {
            err_prefix(err, "no database server answered for %.0f s (EXO_DB_STARTUP_WAIT=%llds)",
                       waited, (long long)cfg->startup_wait_s);
            return NULL;
        }
        double left_ms = ((double)cfg->startup_wait_s - waited) * 1000;
        if (delay_ms > left_ms)
            delay_ms = (long)left_ms + 1;
        char retry[24];
        snprintf(retry, sizeof retry, "%ld", delay_ms);
        http_set_waiting(http, err_msg(err));
        log_msg(LOG_WARN, "database not reachable yet; retrying", "error", err_msg(err),
                "retry_in_ms", retry, NULL);
        err_clear(err);
        struct timespec wait = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        int sig = sigtimedwait(stop, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT) {
            log_msg(LOG_INFO, "stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
            *stopped = true;
            return NULL;
        }
        delay_ms = delay_ms * 2 > CONNECT_BACKOFF_MAX_MS ? CONNECT_BACKOFF_MAX_MS : delay_ms * 2;
    }
}

int serve_run(const backend_config *cfg, exo_err *err)
{
    /* Blocked here, before any thread starts, so that only sigtimedwait in
     * this loop ever receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    pool *db = NULL;
    api *a = NULL;
    http_server *http = NULL;
    keyring *ring = NULL;
    PGconn *c = NULL;
    int rc = -1;
    pool_config pc = {cfg->dsn, cfg->max_open, cfg->max_idle, NULL};
    if (pool_new(&db, &pc, err) < 0 || http_start(&http, cfg->http_addr, db, err) < 0)
        goto out;
    log_msg(LOG_INFO, "listening", "addr", cfg->http_addr, NULL);
    bool stopped;
    if (!(c = connect_waiting(cfg, http, &stop, &stopped, err))) {
        rc = stopped ? 0 : -1;
        goto out;
    }
    http_set_waiting(http, NULL);
    boot_report b;
    if (boot_run(c, cfg, time(NULL), &ring, &b, err) < 0)
        goto out;
    /* Uploads cut short by a crash leave temporaries; older than any live
     * upload can be (replicas may share a ReadWriteMany volume). */
    int swept = 0;
    exo_err sweep_err = EXO_ERR_INIT;
    if (casts_sweep_temporaries(&swept, cfg->cast_dir, 3600, &sweep_err) < 0)
        log_msg(LOG_WARN, "cannot sweep the recordings directory", "error",
                err_msg(&sweep_err), NULL);
    err_clear(&sweep_err);
    const char *bootstrap = getenv("EXO_BOOTSTRAP_TOKEN");
    if (bootstrap && *bootstrap && api_bootstrap(c, bootstrap, err) < 0)
        goto out;
    PQfinish(c);
    c = NULL;
    boot_log(&b);
    metrics_boot(b.duration_ms, b.ddl, SCHEMA_VERSION, keyring_active_id(ring));
    metrics_cast_dir(cfg->cast_dir);
    metrics_maintenance_interval((long long)cfg->maintenance_interval_s);
    a = api_new(db, ring, cfg);
    http_set_api(http, a);
    http_set_ready(http, true);

    for (;;) {
        PGconn *mc = pool_get(db, err);
        if (mc) {
            maintain_report m;
            int r = maintain_pass(mc, cfg, time(NULL), &m, err);
            pool_put(db, mc, r < 0);
            metrics_maintenance(r == 0, m.dropped, m.deleted_rows);
            /* A pass skipped because another replica holds the lease did no
             * work here: its figures are that replica's to report. */
            if (r == 0 && !m.skipped) {
                metrics_maintenance_done();
                for (int i = 0; schema_partitioned_tables[i]; i++)
                    metrics_partitions_ahead(schema_partitioned_tables[i], m.months_ahead[i]);
            }
            if (r == 0) {
                cJSON *o = maintain_report_json(&m);
                char *line = cJSON_PrintUnformatted(o);
                log_msg(LOG_INFO, "maintenance done", "report", line ? line : "", NULL);
                free(line);
                cJSON_Delete(o);
            }
        }
        if (!mc || err->msg) {
            /* The daemon keeps going: the next pass may find the database back. */
            log_msg(LOG_ERROR, "maintenance failed", "error", err_msg(err), NULL);
            err_clear(err);
        }
        struct timespec wait = {(time_t)cfg->maintenance_interval_s, 0};
        int sig = sigtimedwait(&stop, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT) {
            log_msg(LOG_INFO, "stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
            break;
        }
    }
    rc = 0;
out:
    /* Stop accepting and finish in-flight requests first; then nothing
     * uses the api, the keyring or the pool. */
    http_stop(http);
    api_free(a);
    PQfinish(c);
    keyring_free(ring);
    if (db)
        pool_free(db);
    return rc;
}

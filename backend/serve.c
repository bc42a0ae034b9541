#include "serve.h"

#include <pthread.h>
#include <signal.h>
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
    if (!(c = boot_connect(cfg->dsn, err)))
        goto out;
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

#include "maintain.h"

#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "db.h"
#include "lease.h"
#include "partitions.h"
#include "retention.h"

#define LEASE_NAME "maintenance"
/* Long enough for a pass over years of partitions; a holder that dies
 * frees it after this. */
#define LEASE_SECONDS 900
#define DELETE_BATCH 5000
/* The longest any statement of a pass waits for a lock (the partition
 * changes wait less and retry, see partitions.c). Without it a table held
 * in ACCESS EXCLUSIVE (a migration, a manual LOCK) held the pass, and with
 * it the backend's shutdown on SIGTERM, for as long as the holder liked. */
#define PASS_LOCK_TIMEOUT "10s"

int maintain_pass(PGconn *c, const backend_config *cfg, time_t now, maintain_report *r,
                  exo_err *err)
{
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(r, 0, sizeof *r);
    char *holder = lease_holder_id();
    bool got = false;
    int rc = -1;
    if (lease_acquire(c, LEASE_NAME, holder, LEASE_SECONDS, &got, err) < 0)
        goto out;
    if (!got) {
        r->skipped = true;
        rc = 0;
        goto out;
    }
    int longest;
    partition_report pr = {0};
    if (db_exec(c, "setting lock_timeout", "SET lock_timeout = '" PASS_LOCK_TIMEOUT "'", NULL,
                err) < 0 ||
        retention_longest_days(c, cfg->retention_days, &longest, err) < 0)
        goto release;
    partition_opts po = {now, cfg->premake_months, longest, true};
    if (partitions_ensure(c, &po, &pr, err) < 0 || partitions_drop_expired(c, &po, &pr, err) < 0 ||
        retention_delete_expired(c, now, cfg->retention_days, DELETE_BATCH, &r->deleted_rows,
                                 err) < 0 ||
        retention_expire_sessions(c, now, cfg->retention_days, cfg->cast_dir,
                                  &r->sessions_expired, err) < 0)
        goto release;
    r->created = pr.created;
    r->dropped = pr.dropped;
    r->moved_rows = pr.moved_rows;
    r->retries = pr.retries;
    rc = 0;
release:;
    exo_err ignore = EXO_ERR_INIT;
    /* The connection goes back to the pool (a failed pass's is closed). */
    if (rc == 0 && db_exec(c, "resetting lock_timeout", "RESET lock_timeout", NULL, err) < 0)
        rc = -1;
    if (lease_release(c, LEASE_NAME, holder, rc == 0 ? err : &ignore) < 0)
        rc = -1;
    err_clear(&ignore);
out:
    free(holder);
    clock_gettime(CLOCK_MONOTONIC, &end);
    r->duration_ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    return rc;
}

cJSON *maintain_report_json(const maintain_report *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "skipped", m->skipped);
    cJSON_AddNumberToObject(o, "partitions_created", m->created);
    cJSON_AddNumberToObject(o, "partitions_dropped", m->dropped);
    cJSON_AddNumberToObject(o, "rows_moved", (double)m->moved_rows);
    cJSON_AddNumberToObject(o, "rows_deleted", (double)m->deleted_rows);
    cJSON_AddNumberToObject(o, "sessions_expired", (double)m->sessions_expired);
    cJSON_AddNumberToObject(o, "lock_retries", m->retries);
    cJSON_AddNumberToObject(o, "duration_ms", (double)m->duration_ms);
    return o;
}

int maintain_run(const backend_config *cfg, time_t now, cJSON **report, exo_err *err)
{
    *report = NULL;
    PGconn *c = boot_connect(cfg->dsn, err);
    if (!c)
        return -1;
    maintain_report m;
    int rc = maintain_pass(c, cfg, now, &m, err);
    if (rc == 0)
        *report = maintain_report_json(&m);
    PQfinish(c);
    return rc;
}

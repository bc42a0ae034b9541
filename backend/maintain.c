#include "maintain.h"

#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "db.h"
#include "lease.h"
#include "partitions.h"
#include "pass.h"
#include "retention.h"

#define LEASE_NAME "maintenance"
/* A holder that dies frees the lease after this. The pass renews it
 * between units of work (pass.h), so it only needs to outlast the longest
 * single statement: a month moved out of a big DEFAULT partition. */
#define LEASE_SECONDS 900
#define DELETE_BATCH 5000
/* The longest any statement of a pass waits for a lock (the partition
 * changes wait less and retry, see partitions.c), set per statement (see
 * pass.h for why never per session). Without it a table held
 * in ACCESS EXCLUSIVE (a migration, a manual LOCK) held the pass, and with
 * it the backend's shutdown on SIGTERM, for as long as the holder liked. */
#define PASS_LOCK_TIMEOUT "10s"

/* The pass's pass.h renew hook: its lease, by name and holder. */
typedef struct {
    PGconn *c;
    const char *holder;
} lease_keeper;

static int renew_lease(void *arg, exo_err *err)
{
    lease_keeper *k = arg;
    bool held;
    if (lease_renew(k->c, LEASE_NAME, k->holder, LEASE_SECONDS, &held, err) < 0)
        return -1;
    if (!held)
        return err_set(err, "the maintenance lease was taken by another replica during the pass "
                            "(this one held it past its %d s unrenewed); stopping the pass",
                       LEASE_SECONDS);
    return 0;
}

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
    lease_keeper keeper = {c, holder};
    const pass ps = {PASS_LOCK_TIMEOUT, renew_lease, &keeper};
    int longest;
    partition_report pr = {0};
    if (retention_longest_days(c, &ps, cfg->retention_days, &longest, err) < 0)
        goto release;
    partition_opts po = {now, cfg->premake_months, longest, true, &ps};
    if (partitions_ensure(c, &po, &pr, err) < 0 || pass_keep(&ps, err) < 0 ||
        partitions_drop_expired(c, &po, &pr, err) < 0 || pass_keep(&ps, err) < 0 ||
        retention_delete_expired(c, &ps, now, cfg->retention_days, DELETE_BATCH,
                                 &r->deleted_rows, err) < 0 ||
        retention_expire_sessions(c, &ps, now, cfg->retention_days, cfg->cast_dir,
                                  &r->sessions_expired, err) < 0)
        goto release;
    r->created = pr.created;
    r->dropped = pr.dropped;
    r->moved_rows = pr.moved_rows;
    r->retries = pr.retries;
    memcpy(r->months_ahead, pr.months_ahead, sizeof r->months_ahead);
    rc = 0;
release:;
    exo_err ignore = EXO_ERR_INIT;
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

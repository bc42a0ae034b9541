#include "boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "buf.h"
#include "db.h"
#include "dsn.h"
#include "lease.h"
#include "names.h"
#include "log.h"
#include "partitions.h"
#include "pg_connect.h"
#include "retention.h"
#include "schema.h"
#include "version.h"

/* How long a replica waits for another's boot before giving up (and being
 * restarted by Kubernetes). */
#define BOOT_LOCK_TIMEOUT "300s"

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

PGconn *boot_connect_try(const dsn *d, bool *unreachable, exo_err *err)
{
    static const pg_connect_opts need = {NULL, NULL, DB_PG_MAJOR, DB_PG_NEEDED_BY};
    PGconn *c;
    int rc = pg_connect_open(&c, d, &need, err);
    *unreachable = rc == PG_CONNECT_UNREACHABLE;
    if (rc == PG_CONNECT_TOO_OLD)
        return NULL;
    if (rc < 0) {
        /* The DSN names the database meant, printed only redacted. */
        char *where = dsn_redact(d);
        err_prefix(err, "connecting to the database (%s)", where);
        free(where);
        return NULL;
    }
    db_log_notices(c);
    /* Quiet the server's notices ("relation already exists, skipping"). */
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

PGconn *boot_connect(const dsn *d, exo_err *err)
{
    bool unreachable;
    return boot_connect_try(d, &unreachable, err);
}

int boot_lock(PGconn *c, exo_err *err)
{
    const char *key[] = {contract.boot_lock_key, NULL};
    return db_exec(c, "waiting for the boot lock", "SELECT pg_advisory_xact_lock($1::bigint)", key,
                   err);
}

void boot_log(const boot_report *b)
{
    char ddl[16], parts[16], enc[24], ms[24];
    snprintf(ddl, sizeof ddl, "%d", b->ddl);
    snprintf(parts, sizeof parts, "%d", b->partitions);
    snprintf(enc, sizeof enc, "%ld", b->encrypted);
    snprintf(ms, sizeof ms, "%ld", b->duration_ms);
    log_msg(LOG_INFO, "boot done", "ddl_statements", ddl, "partitions_created", parts,
            "values_encrypted", enc, "duration_ms", ms, NULL);
}

static int steps(PGconn *c, const backend_config *cfg, time_t now, keyring **ring, boot_report *r,
                 exo_err *err)
{
    schema_report s = {0};
    /* A database a newer release migrated is left alone: nothing below may
     * write to it. */
    if (schema_check_version(c, err) < 0)
        return -1;
    /* A wrong key must stop the boot before any write: check it first when
     * the database already has a keyring (keyring_load finds none on a
     * fresh database and returns NULL). */
    bool has_keyring = false;
    {
        PGresult *res = db_query(c, "reading the catalog",
                                 "SELECT to_regclass('exo_keyring_meta') IS NOT NULL", NULL, err);
        if (!res)
            return -1;
        has_keyring = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
    }
    if (has_keyring) {
        if (keyring_load(ring, c, cfg->key, err) < 0)
            return -1;
        keyring_free(*ring);
        *ring = NULL;
    }
    if (schema_create_partition_parents(c, &s, err) < 0 ||
        schema_migrate_encrypted_columns(c, &s, err) < 0 || schema_auto_migrate(c, &s, err) < 0 ||
        schema_add_constraints(c, &s, err) < 0 || schema_record_version(c, err) < 0)
        return -1;
    if (keyring_bootstrap(ring, c, cfg->key, schema_encrypted_columns, err) < 0)
        return err_prefix(err, "step 5, keyring");

    int longest;
    if (retention_longest_days(c, NULL, cfg->retention_days, &longest, err) < 0)
        return err_prefix(err, "step 6, partitions");
    partition_opts po = {now, cfg->premake_months, longest, false, NULL};
    partition_report pr = {0};
    if (partitions_ensure(c, &po, &pr, err) < 0)
        return err_prefix(err, "step 6, partitions");
    r->ddl = s.ddl + pr.created;
    r->partitions = pr.created;
    return 0;
}

static int record_boot(PGconn *c, const boot_report *r, long ms, exo_err *err)
{
    char *holder = lease_holder_id();
    char ddl[16], dur[24];
    snprintf(ddl, sizeof ddl, "%d", r->ddl);
    snprintf(dur, sizeof dur, "%ld", ms);
    const char *p[] = {EXO_VERSION, holder, ddl, dur, NULL};
    int rc = db_exec(c, "recording the boot",
                     "INSERT INTO exo_boot_ledger (version, holder, ddl_statements, duration_ms) "
                     "VALUES ($1, $2, $3::int, $4::int)",
                     p, err);
    free(holder);
    return rc;
}

int boot_run(PGconn *c, const backend_config *cfg, time_t now, keyring **ring, boot_report *r,
             exo_err *err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(r, 0, sizeof *r);
    *ring = NULL;

    if (db_exec(c, "BEGIN", "BEGIN", NULL, err) < 0)
        return -1;
    if (db_exec(c, "setting lock_timeout", "SET LOCAL lock_timeout = '" BOOT_LOCK_TIMEOUT "'",
                NULL, err) < 0 ||
        boot_lock(c, err) < 0 ||
        steps(c, cfg, now, ring, r, err) < 0 ||
        record_boot(c, r, elapsed_ms(&start), err) < 0 ||
        db_exec(c, "COMMIT", "COMMIT", NULL, err) < 0) {
        exo_err ignore = EXO_ERR_INIT;
        db_exec(c, "ROLLBACK", "ROLLBACK", NULL, &ignore);
        err_clear(&ignore);
        keyring_free(*ring);
        *ring = NULL;
        return -1;
    }
    /* Values left in plaintext by step 2 (or by an older version) are
     * encrypted in batches, each its own transaction, after the lock is
     * released: replicas may share the work (rows are claimed with SKIP
     * LOCKED). */
    if (backfill_encrypt(c, *ring, &r->encrypted, err) < 0) {
        keyring_free(*ring);
        *ring = NULL;
        return err_prefix(err, "encrypting plaintext values");
    }
    r->duration_ms = elapsed_ms(&start);
    return 0;
}

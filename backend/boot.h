/* The boot: every schema step in order, in one transaction under one
 * transaction-scoped advisory lock, then the backfill of values still in
 * plaintext. Replicas booting together migrate exactly once: the others
 * wait on the lock, then find nothing to do. A boot killed at any point
 * leaves nothing half-done (PostgreSQL's DDL is transactional), and a
 * transaction-scoped lock holds behind PgBouncer in transaction mode. */
#ifndef EXO_BOOT_H
#define EXO_BOOT_H

#include <time.h>

#include <stdbool.h>

#include <libpq-fe.h>

#include "config.h"
#include "dsn.h"
#include "err.h"
#include "keyring.h"

typedef struct {
    int ddl;            /* DDL statements this boot issued */
    int partitions;     /* partitions created */
    long encrypted;     /* plaintext values encrypted by the backfill */
    long duration_ms;
} boot_report;

/* Opens a connection for the boot (and the commands that work on one
 * connection) and checks the server is PostgreSQL DB_PG_MAJOR (16) or
 * newer (pg_connect_open). The message names the DSN redacted, never its
 * password. */
PGconn *boot_connect(const dsn *d, exo_err *err);

/* As boot_connect; *unreachable says whether no server answered (a host
 * name that does not resolve yet, a refused or timed-out connection):
 * worth waiting for, where a refusal (a wrong password, PostgreSQL 15)
 * is not. */
PGconn *boot_connect_try(const dsn *d, bool *unreachable, exo_err *err);

/* Waits for the boot lock, taken inside the caller's transaction and held
 * until it ends: whatever else changes the schema or the keyring
 * (`exo-backend keyring rotate`) takes it too, so that it never races a
 * booting replica. */
int boot_lock(PGconn *c, exo_err *err);

/* Logs a finished boot's report as one "boot done" line. */
void boot_log(const boot_report *r);

/* Runs the boot as of `now`. On success *ring is the loaded keyring (caller
 * frees). */
int boot_run(PGconn *c, const backend_config *cfg, time_t now, keyring **ring, boot_report *r,
             exo_err *err);

#endif

/* The database schema as data: one table of models, and the boot steps
 * that bring a database to it (partition parents, encrypted-column
 * migration, auto-migrate, post-migrate constraints). Each step compares
 * with the catalog first and issues DDL only for what is missing, so a
 * second boot issues none. Nothing is ever dropped or renamed. */
#ifndef EXO_SCHEMA_H
#define EXO_SCHEMA_H

#include <libpq-fe.h>

#include "err.h"

/* The version of the schema this binary migrates to, recorded in the
 * database (exo_schema_version): raised with every change of the models
 * that an older binary could trip on, so that it finds out the database is
 * ahead of it. 1: the schema of release 0.1.0. 2 (0.2.0): tokens.revoked_at, which
 * an older backend ignores: it would accept a revoked token. */
#define SCHEMA_VERSION 2

/* What a migration run did. */
typedef struct {
    int ddl;      /* DDL statements issued */
    int warnings; /* differences left alone (a column of another type) */
} schema_report;

/* The partitioned tables (session events, audit events), NULL-terminated. */
extern const char *const schema_partitioned_tables[];

/* The columns stored encrypted, as "table.column", NULL-terminated. */
extern const char *const schema_encrypted_columns[];

/* Splits an entry of schema_encrypted_columns: the table into `table`,
 * and the column (borrowed from tc) as the return value. */
const char *schema_column_split(const char *tc, char table[64]);

/* Refuses a database a newer exo-backend migrated (its recorded version
 * is above SCHEMA_VERSION) before anything is written: an older image
 * rolled back over a migrated database must not touch it. The message says
 * both versions and what to do. Inside the boot's transaction, first. */
int schema_check_version(PGconn *conn, exo_err *err);

/* Records SCHEMA_VERSION as the database's, when it is higher than what
 * is recorded (it never lowers it). After step 4. */
int schema_record_version(PGconn *conn, exo_err *err);

/* Boot steps 1 to 4, in order, on conn, inside the caller's transaction. */
int schema_create_partition_parents(PGconn *conn, schema_report *r, exo_err *err);
int schema_migrate_encrypted_columns(PGconn *conn, schema_report *r, exo_err *err);
int schema_auto_migrate(PGconn *conn, schema_report *r, exo_err *err);
int schema_add_constraints(PGconn *conn, schema_report *r, exo_err *err);

#endif

#include "schema.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "version.h"

typedef struct {
    const char *name;
    const char *decl; /* what CREATE TABLE / ADD COLUMN writes after the name */
    const char *type; /* what format_type() reports for it */
} column_def;

typedef struct {
    const char *name;
    const char *on; /* "(col, …)" or an expression list */
    bool unique;
} index_def;

typedef struct {
    const char *table;
    const char *partition_by; /* NULL: a plain table */
    const char *primary_key;
    column_def columns[12];
    index_def indexes[4];
} model;

#define TS "timestamp with time zone"

/* Every table the backend owns. A column or index added here is added to
 * existing databases at the next boot. */
static const model models[] = {
    {"session_events", "RANGE (created_at)", "id, created_at",
     {{"id", "bigserial", "bigint"},
      {"session_id", "bigint NOT NULL", "bigint"},
      {"deployment_id", "bigint NOT NULL", "bigint"},
      {"created_at", TS " NOT NULL DEFAULT now()", TS},
      {"kind", "text NOT NULL", "text"},
      {"data", "jsonb", "jsonb"}},
     {{"session_events_session_id_idx", "(session_id, created_at)", false},
      {"session_events_deployment_id_idx", "(deployment_id, created_at)", false}}},
    {"audit_events", "RANGE (created_at)", "id, created_at",
     {{"id", "bigserial", "bigint"},
      {"deployment_id", "bigint", "bigint"},
      {"user_id", "bigint", "bigint"},
      {"created_at", TS " NOT NULL DEFAULT now()", TS},
      {"action", "text NOT NULL", "text"},
      {"detail", "jsonb", "jsonb"}},
     {{"audit_events_deployment_id_idx", "(deployment_id, created_at)", false}}},
    {"users", NULL, "id",
     {{"id", "bigserial", "bigint"},
      {"email", "text NOT NULL", "text"},
      {"name", "text NOT NULL DEFAULT ''", "text"},
      {"role", "text NOT NULL DEFAULT 'member'", "text"},
      {"created_at", TS " NOT NULL DEFAULT now()", TS}},
     {{0}}},
    /* Tokens are stored as hashes only; there is no column for the token. */
    {"tokens", NULL, "id",
     {{"id", "bigserial", "bigint"},
      {"user_id", "bigint NOT NULL", "bigint"},
      {"name", "text NOT NULL DEFAULT ''", "text"},
      {"token_hash", "bytea NOT NULL", "bytea"},
      {"created_at", TS " NOT NULL DEFAULT now()", TS},
      {"expires_at", TS, TS},
      {"last_used_at", TS, TS},
      /* Schema version 2: a revoked token is kept, refused, and not listed;
       * the bootstrap token's row then stays revoked across restarts. */
      {"revoked_at", TS, TS}},
     {{"tokens_token_hash_key", "(token_hash)", true}, {"tokens_user_id_idx", "(user_id)", false}}},
    {"deployments", NULL, "id",
     {{"id", "bigserial", "bigint"},
      {"name", "text NOT NULL", "text"},
      /* NULL: the default retention (EXO_RETENTION_DAYS). */
      {"retention_days", "integer CHECK (retention_days > 0)", "integer"},
      {"created_at", TS " NOT NULL DEFAULT now()", TS}},
     {{"deployments_name_key", "(name)", true}}},
    {"runtime_statuses", NULL, "id",
     {{"id", "bigserial", "bigint"},
      {"deployment_id", "bigint NOT NULL", "bigint"},
      {"runtime", "text NOT NULL DEFAULT ''", "text"},
      /* Encrypted at rest (keyring.h); jsonb before they were. */
      {"tool_status", "text", "text"},
      {"last_tool_status", "text", "text"},
      {"updated_at", TS " NOT NULL DEFAULT now()", TS}},
     {{"runtime_statuses_deployment_id_idx", "(deployment_id)", false},
      /* Not unique: databases from before the API may hold several rows per
       * runtime, and boot never deletes. The API serialises its writers. */
      {"runtime_statuses_deployment_runtime_idx", "(deployment_id, runtime)", false}}},
    {"sessions", NULL, "id",
     {{"id", "bigserial", "bigint"},
      {"deployment_id", "bigint NOT NULL", "bigint"},
      {"user_id", "bigint", "bigint"},
      {"started_at", TS " NOT NULL DEFAULT now()", TS},
      {"ended_at", TS, TS},
      {"cast_bytes", "bigint NOT NULL DEFAULT 0", "bigint"}},
     {{"sessions_deployment_id_idx", "(deployment_id)", false}}},
    {"exo_keyring_meta", NULL, "id",
     {{"id", "smallint CHECK (id = 1)", "smallint"},
      {"kdf_salt", "bytea NOT NULL", "bytea"},
      {"check_value", "bytea NOT NULL", "bytea"},
      {"created_at", TS " NOT NULL DEFAULT now()", TS}},
     {{0}}},
    {"exo_keyring_keys", NULL, "key_id",
     {{"key_id", "integer", "integer"},
      {"wrapped_key", "bytea NOT NULL", "bytea"},
      {"active", "boolean NOT NULL DEFAULT false", "boolean"},
      {"created_at", TS " NOT NULL DEFAULT now()", TS}},
     {{0}}},
    /* One row per boot: when, which version, and how much DDL it ran. */
    {"exo_boot_ledger", NULL, "id",
     {{"id", "bigserial", "bigint"},
      {"booted_at", TS " NOT NULL DEFAULT now()", TS},
      {"version", "text NOT NULL", "text"},
      {"holder", "text NOT NULL", "text"},
      {"ddl_statements", "integer NOT NULL", "integer"},
      {"duration_ms", "integer NOT NULL", "integer"}},
     {{0}}},
    /* One row: the schema version the database was last migrated to, and
     * by which release (schema_check_version). */
    {"exo_schema_version", NULL, "one",
     {{"one", "boolean DEFAULT true CHECK (one)", "boolean"},
      {"version", "integer NOT NULL", "integer"},
      {"migrated_by", "text NOT NULL", "text"},
      {"migrated_at", TS " NOT NULL DEFAULT now()", TS}},
     {{0}}},
    /* Leases for work one replica at a time does (the maintenance daemon);
     * rows, not session locks, so that they hold behind PgBouncer. */
    {"exo_leases", NULL, "name",
     {{"name", "text", "text"},
      {"holder", "text NOT NULL", "text"},
      {"expires_at", TS " NOT NULL", TS}},
     {{0}}},
};

typedef struct {
    const char *table;
    const char *name;
    const char *definition;
} constraint_def;

/* Step 4: deleting a deployment removes what hangs off it. Audit events
 * keep their user_id without a key: the trail outlives the user. */
static const constraint_def foreign_keys[] = {
    {"tokens", "tokens_user_id_fkey", "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE"},
    {"runtime_statuses", "runtime_statuses_deployment_id_fkey",
     "FOREIGN KEY (deployment_id) REFERENCES deployments (id) ON DELETE CASCADE"},
    {"sessions", "sessions_deployment_id_fkey",
     "FOREIGN KEY (deployment_id) REFERENCES deployments (id) ON DELETE CASCADE"},
    {"sessions", "sessions_user_id_fkey", "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL"},
    {"session_events", "session_events_session_id_fkey",
     "FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE"},
    {"session_events", "session_events_deployment_id_fkey",
     "FOREIGN KEY (deployment_id) REFERENCES deployments (id) ON DELETE CASCADE"},
    {"audit_events", "audit_events_deployment_id_fkey",
     "FOREIGN KEY (deployment_id) REFERENCES deployments (id) ON DELETE CASCADE"},
};

/* Two users whose emails differ only in case are one user. */
static const index_def email_unique = {"users_email_lower_key", "(lower(email))", true};

const char *const schema_partitioned_tables[] = {"session_events", "audit_events", NULL};
const char *const schema_encrypted_columns[] = {"runtime_statuses.tool_status",
                                                "runtime_statuses.last_tool_status", NULL};

static int ddl(PGconn *c, schema_report *r, const char *what, const buf *sql, exo_err *err)
{
    log_msg(LOG_INFO, "migration", "step", what, "sql", sql->ptr, NULL);
    r->ddl++;
    return db_exec(c, what, sql->ptr, NULL, err);
}

/* Whether a relation of this name exists in the current schema. */
static int relation_exists(PGconn *c, const char *name, bool *exists, exo_err *err)
{
    const char *p[] = {name, NULL};
    PGresult *res = db_query(c, "reading the catalog",
                             "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = current_schema() AND c.relname = $1",
                             p, err);
    if (!res)
        return -1;
    *exists = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

/* The type format_type() gives a column, or NULL (no such column); caller
 * PQclears *res, which owns the string. */
static const char *column_type(PGresult *cols, const char *name)
{
    for (int i = 0; i < PQntuples(cols); i++)
        if (strcmp(PQgetvalue(cols, i, 0), name) == 0)
            return PQgetvalue(cols, i, 1);
    return NULL;
}

static PGresult *columns_of(PGconn *c, const char *table, exo_err *err)
{
    const char *p[] = {table, NULL};
    return db_query(c, "reading the catalog",
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON "
                    "n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = $1) "
                    "AND a.attnum > 0 AND NOT a.attisdropped",
                    p, err);
}

static int create_table(PGconn *c, const model *m, schema_report *r, exo_err *err)
{
    buf sql = BUF_INIT;
    char *t = db_ident(c, m->table);
    buf_printf(&sql, "CREATE TABLE %s (", t);
    for (const column_def *col = m->columns; col->name; col++) {
        char *name = db_ident(c, col->name);
        buf_printf(&sql, "%s %s, ", name, col->decl);
        free(name);
    }
    buf_printf(&sql, "PRIMARY KEY (%s))", m->primary_key);
    if (m->partition_by)
        buf_printf(&sql, " PARTITION BY %s", m->partition_by);
    int rc = ddl(c, r, m->table, &sql, err);
    free(t);
    buf_free(&sql);
    return rc;
}

static int create_index(PGconn *c, const char *table, const index_def *ix, schema_report *r,
                        exo_err *err)
{
    bool exists;
    if (relation_exists(c, ix->name, &exists, err) < 0)
        return -1;
    if (exists)
        return 0;
    buf sql = BUF_INIT;
    char *t = db_ident(c, table), *name = db_ident(c, ix->name);
    buf_printf(&sql, "CREATE %sINDEX %s ON %s %s", ix->unique ? "UNIQUE " : "", name, t, ix->on);
    int rc = ddl(c, r, ix->name, &sql, err);
    free(t);
    free(name);
    buf_free(&sql);
    return rc;
}

/* Creates the table if missing, else adds missing columns; then missing
 * indexes. A column of another type is reported, never altered: GORM's
 * spurious ALTERs on every boot came from exactly that. */
static int migrate_model(PGconn *c, const model *m, schema_report *r, exo_err *err)
{
    PGresult *cols = columns_of(c, m->table, err);
    if (!cols)
        return -1;
    int rc = 0;
    if (PQntuples(cols) == 0) {
        rc = create_table(c, m, r, err);
    } else {
        for (const column_def *col = m->columns; col->name && rc == 0; col++) {
            const char *have = column_type(cols, col->name);
            if (have && strcmp(have, col->type) != 0) {
                log_msg(LOG_WARN, "column type differs; left alone", "table", m->table, "column",
                        col->name, "have", have, "want", col->type, NULL);
                r->warnings++;
            } else if (!have) {
                buf sql = BUF_INIT;
                char *t = db_ident(c, m->table), *name = db_ident(c, col->name);
                buf_printf(&sql, "ALTER TABLE %s ADD COLUMN %s %s", t, name, col->decl);
                rc = ddl(c, r, m->table, &sql, err);
                free(t);
                free(name);
                buf_free(&sql);
            }
        }
    }
    PQclear(cols);
    for (const index_def *ix = m->indexes; ix->name && rc == 0; ix++)
        rc = create_index(c, m->table, ix, r, err);
    return rc;
}

int schema_create_partition_parents(PGconn *c, schema_report *r, exo_err *err)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (models[i].partition_by && migrate_model(c, &models[i], r, err) < 0)
            return err_prefix(err, "step 1, partition parents");
    return 0;
}

const char *schema_column_split(const char *tc, char table[64])
{
    const char *dot = strchr(tc, '.');
    snprintf(table, 64, "%.*s", (int)(dot - tc), tc);
    return dot + 1;
}

int schema_migrate_encrypted_columns(PGconn *c, schema_report *r, exo_err *err)
{
    for (const char *const *tc = schema_encrypted_columns; *tc; tc++) {
        char table[64];
        const char *column = schema_column_split(*tc, table);
        PGresult *cols = columns_of(c, table, err);
        if (!cols)
            return err_prefix(err, "step 2, encrypted columns");
        const char *have = column_type(cols, column);
        int rc = 0;
        if (have && strcmp(have, "text") != 0) {
            /* jsonb's text form is canonical (keys sorted, spaces normalised):
             * the value is kept, its spelling may change. */
            buf sql = BUF_INIT;
            char *t = db_ident(c, table), *col = db_ident(c, column);
            buf_printf(&sql, "ALTER TABLE %s ALTER COLUMN %s TYPE text USING %s::text", t, col, col);
            rc = ddl(c, r, *tc, &sql, err);
            free(t);
            free(col);
            buf_free(&sql);
        }
        PQclear(cols);
        if (rc < 0)
            return err_prefix(err, "step 2, encrypted columns");
    }
    return 0;
}

int schema_auto_migrate(PGconn *c, schema_report *r, exo_err *err)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (!models[i].partition_by && migrate_model(c, &models[i], r, err) < 0)
            return err_prefix(err, "step 3, auto-migrate");
    /* Columns and indexes added to the partitioned models since their
     * parents were made. */
    return schema_create_partition_parents(c, r, err);
}

int schema_add_constraints(PGconn *c, schema_report *r, exo_err *err)
{
    if (create_index(c, "users", &email_unique, r, err) < 0) {
        if (db_err_is(err, SQLSTATE_UNIQUE_VIOLATION))
            return err_prefix(err, "step 4: users holds emails that differ only in case; merge "
                                   "those users, then restart");
        return err_prefix(err, "step 4, constraints");
    }
    for (size_t i = 0; i < sizeof foreign_keys / sizeof foreign_keys[0]; i++) {
        const constraint_def *fk = &foreign_keys[i];
        const char *p[] = {fk->table, fk->name, NULL};
        PGresult *res = db_query(c, "reading the catalog",
                                 "SELECT 1 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
                                 "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                                 "current_schema() AND c.relname = $1 AND k.conname = $2",
                                 p, err);
        if (!res)
            return err_prefix(err, "step 4, constraints");
        bool exists = PQntuples(res) > 0;
        PQclear(res);
        if (exists)
            continue;
        buf sql = BUF_INIT;
        char *t = db_ident(c, fk->table), *name = db_ident(c, fk->name);
        buf_printf(&sql, "ALTER TABLE %s ADD CONSTRAINT %s %s", t, name, fk->definition);
        int rc = ddl(c, r, fk->name, &sql, err);
        free(t);
        free(name);
        buf_free(&sql);
        if (rc < 0)
            return err_prefix(err, "step 4, constraints");
    }
    return 0;
}

int schema_check_version(PGconn *c, exo_err *err)
{
    bool exists;
    if (relation_exists(c, "exo_schema_version", &exists, err) < 0)
        return -1;
    if (!exists)
        return 0;
    PGresult *res = db_query(c, "reading the schema version",
                             "SELECT version, migrated_by FROM exo_schema_version", NULL, err);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1 && atoi(PQgetvalue(res, 0, 0)) > SCHEMA_VERSION)
        rc = err_set(err,
                     "the database's schema is version %s, migrated by exo-backend %s; this "
                     "exo-backend %s knows version %d and changes nothing: run %s or newer, or "
                     "restore the backup taken before the upgrade (docs/upgrade.md)",
                     PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), EXO_VERSION, SCHEMA_VERSION,
                     PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc;
}

int schema_record_version(PGconn *c, exo_err *err)
{
    char v[16];
    snprintf(v, sizeof v, "%d", SCHEMA_VERSION);
    const char *p[] = {v, EXO_VERSION, NULL};
    return db_exec(c, "recording the schema version",
                   "INSERT INTO exo_schema_version (version, migrated_by) VALUES ($1::int, $2) "
                   "ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version, migrated_by = "
                   "EXCLUDED.migrated_by, migrated_at = now() "
                   "WHERE exo_schema_version.version < EXCLUDED.version",
                   p, err);
}

#include "partitions.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "months.h"
#include "schema.h"
#include "xalloc.h"

#define LOCK_TIMEOUT "2s"
#define ATTEMPTS 10

/* The months a parent has partitions for, from their names. */
typedef struct {
    month_t *months;
    size_t n;
} month_set;

static bool has_month(const month_set *s, month_t m)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->months[i] == m)
            return true;
    return false;
}

static int existing_months(PGconn *c, const partition_opts *o, const char *parent, month_set *out,
                           exo_err *err)
{
    const char *p[] = {parent, NULL};
    PGresult *res = pass_query(o->pass, c, "listing partitions",
                             "SELECT k.relname FROM pg_inherits i JOIN pg_class k ON k.oid = "
                             "i.inhrelid JOIN pg_class pc ON pc.oid = i.inhparent JOIN "
                             "pg_namespace n ON n.oid = pc.relnamespace WHERE n.nspname = "
                             "current_schema() AND pc.relname = $1",
                             p, err);
    if (!res)
        return -1;
    out->months = xcalloc((size_t)PQntuples(res) + 1, sizeof(month_t));
    out->n = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        month_t m;
        if (month_from_partition_name(PQgetvalue(res, i, 0), &m))
            out->months[out->n++] = m;
    }
    PQclear(res);
    return 0;
}

/* Runs fn in a short transaction with a lock timeout, retrying when a lock
 * is not granted in time, so that live inserts and reads wait at most that
 * long for us. Inside the caller's transaction it just runs fn. */
typedef int (*txn_fn)(PGconn *c, const char *parent, month_t m, partition_report *r,
                      exo_err *err);

static int in_short_txn(PGconn *c, const partition_opts *o, txn_fn fn, const char *parent,
                        month_t m, partition_report *r, exo_err *err)
{
    if (!o->own_transactions)
        return fn(c, parent, m, r, err);
    for (int attempt = 1;; attempt++) {
        /* A month moved out of a big DEFAULT partition, or a lock retried
         * ten times, takes a while: the pass's lease is renewed first. */
        if (pass_keep(o->pass, err) < 0 || db_exec(c, "BEGIN", "BEGIN", NULL, err) < 0 ||
            db_exec(c, "setting lock_timeout", "SET LOCAL lock_timeout = '" LOCK_TIMEOUT "'", NULL,
                    err) < 0)
            return -1;
        int rc = fn(c, parent, m, r, err);
        if (rc == 0)
            return db_exec(c, "COMMIT", "COMMIT", NULL, err);
        exo_err ignore = EXO_ERR_INIT;
        db_exec(c, "ROLLBACK", "ROLLBACK", NULL, &ignore);
        err_clear(&ignore);
        bool busy = db_err_is(err, SQLSTATE_LOCK_NOT_AVAILABLE) || db_err_is(err, SQLSTATE_DEADLOCK);
        if (!busy || attempt == ATTEMPTS)
            return -1;
        r->retries++;
        log_msg(LOG_WARN, "partition change waited too long for a lock; retrying", "table", parent,
                NULL);
        usleep((useconds_t)(100000 * attempt)); /* 0.1 s, 0.2 s, … */
    }
}

static void partition_name(buf *out, const char *parent, month_t m)
{
    char suffix[16];
    month_suffix(m, suffix);
    buf_printf(out, "%s_p%s", parent, suffix);
}

/* A new month: a table LIKE the parent, the month's rows moved in from
 * DEFAULT, then ATTACH, which itself locks the parent only SHARE UPDATE
 * EXCLUSIVE (CREATE … PARTITION OF would take ACCESS EXCLUSIVE, stopping
 * reads too). Writes to the parent are held off, from before the move to
 * the commit, by a SHARE lock taken first: an insert routed to DEFAULT
 * while the month is being made would either fail when the ATTACH commits
 * ("new row for relation …_default violates partition constraint", a 400
 * to the client as if its request were invalid) or, landing after the move,
 * make the ATTACH fail. Reads go on. */
static int create_month(PGconn *c, const char *parent, month_t m, partition_report *r,
                        exo_err *err)
{
    buf name = BUF_INIT, sql = BUF_INIT;
    partition_name(&name, parent, m);
    char from[32], to[32];
    month_literal(m, from);
    month_literal(m + 1, to);
    char *p = db_ident(c, parent), *t = db_ident(c, name.ptr), *def = NULL;
    char *lfrom = db_literal(c, from), *lto = db_literal(c, to);
    buf def_name = BUF_INIT;
    buf_printf(&def_name, "%s_default", parent);
    def = db_ident(c, def_name.ptr);
    int rc = -1;

    buf_printf(&sql, "LOCK TABLE %s IN SHARE MODE", p);
    if (db_exec(c, "holding writes off the parent", sql.ptr, NULL, err) < 0)
        goto out;
    buf_clear(&sql);
    buf_printf(&sql, "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)", t, p);
    if (db_exec(c, "creating a partition", sql.ptr, NULL, err) < 0)
        goto out;
    buf_clear(&sql);
    buf_printf(&sql,
               "WITH moved AS (DELETE FROM %s WHERE created_at >= %s AND created_at < %s "
               "RETURNING *) INSERT INTO %s SELECT * FROM moved",
               def, lfrom, lto, t);
    PGresult *res = db_query(c, "moving rows out of the default partition", sql.ptr, NULL, err);
    if (!res)
        goto out;
    r->moved_rows += atol(PQcmdTuples(res));
    PQclear(res);
    buf_clear(&sql);
    buf_printf(&sql, "ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)", p, t, lfrom,
               lto);
    if (db_exec(c, "attaching a partition", sql.ptr, NULL, err) < 0)
        goto out;
    r->created++;
    log_msg(LOG_INFO, "partition created", "partition", name.ptr, NULL);
    rc = 0;
out:
    if (rc < 0)
        err_prefix(err, "%s", name.ptr);
    free(p), free(t), free(def), free(lfrom), free(lto);
    buf_free(&name), buf_free(&sql), buf_free(&def_name);
    return rc;
}

static int create_default(PGconn *c, const char *parent, month_t m, partition_report *r,
                          exo_err *err)
{
    (void)m;
    buf name = BUF_INIT, sql = BUF_INIT;
    buf_printf(&name, "%s_default", parent);
    char *p = db_ident(c, parent), *t = db_ident(c, name.ptr);
    buf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s PARTITION OF %s DEFAULT", t, p);
    int rc = db_exec(c, "creating the default partition", sql.ptr, NULL, err);
    if (rc == 0)
        r->created++;
    free(p), free(t);
    buf_free(&name), buf_free(&sql);
    return rc;
}

/* Months of rows waiting in DEFAULT, as month_t, oldest first. */
static int default_months(PGconn *c, const partition_opts *o, const char *parent, month_set *out,
                          exo_err *err)
{
    buf sql = BUF_INIT, name = BUF_INIT;
    buf_printf(&name, "%s_default", parent);
    char *t = db_ident(c, name.ptr);
    buf_printf(&sql,
               "SELECT DISTINCT (extract(year FROM created_at AT TIME ZONE 'UTC') * 12 + "
               "extract(month FROM created_at AT TIME ZONE 'UTC') - 1)::int FROM %s ORDER BY 1",
               t);
    PGresult *res = pass_query(o->pass, c, "reading the default partition", sql.ptr, NULL, err);
    free(t);
    buf_free(&sql), buf_free(&name);
    if (!res)
        return -1;
    out->months = xcalloc((size_t)PQntuples(res) + 1, sizeof(month_t));
    out->n = (size_t)PQntuples(res);
    for (int i = 0; i < PQntuples(res); i++)
        out->months[i] = atoi(PQgetvalue(res, i, 0));
    PQclear(res);
    return 0;
}

static bool expired(month_t m, const partition_opts *o)
{
    return month_start(m + 1) <= o->now - (time_t)o->retention_days * 86400;
}

static int ensure_parent(PGconn *c, const char *parent, const partition_opts *o,
                         partition_report *r, int *months_ahead, exo_err *err)
{
    month_set have = {0}, waiting = {0};
    int rc = -1;
    bool has_default;
    {
        buf name = BUF_INIT;
        buf_printf(&name, "%s_default", parent);
        const char *p[] = {name.ptr, NULL};
        PGresult *res = pass_query(o->pass, c, "reading the catalog",
                                 "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = "
                                 "c.relnamespace WHERE n.nspname = current_schema() AND "
                                 "c.relname = $1",
                                 p, err);
        buf_free(&name);
        if (!res)
            return -1;
        has_default = PQntuples(res) > 0;
        PQclear(res);
    }
    if (!has_default && in_short_txn(c, o, create_default, parent, 0, r, err) < 0)
        return -1;
    if (existing_months(c, o, parent, &have, err) < 0 ||
        default_months(c, o, parent, &waiting, err) < 0)
        goto out;
    month_t first = month_of(o->now), last = first + o->premake_months;
    for (month_t m = first; m <= last; m++)
        if (!has_month(&have, m) && in_short_txn(c, o, create_month, parent, m, r, err) < 0)
            goto out;
    /* Rows that arrived for a month with no partition (late, or while the
     * daemon was down) get their month, unless retention would drop it;
     * far-future rows stay in DEFAULT until their month comes near. */
    for (size_t i = 0; i < waiting.n; i++) {
        month_t m = waiting.months[i];
        if (m < first && !expired(m, o) && !has_month(&have, m) &&
            in_short_txn(c, o, create_month, parent, m, r, err) < 0)
            goto out;
    }
    /* Every month from first to last exists now; a larger premake before
     * may have made more. */
    *months_ahead = o->premake_months;
    while (has_month(&have, last + 1 + (*months_ahead - o->premake_months)))
        (*months_ahead)++;
    rc = 0;
out:
    free(have.months);
    free(waiting.months);
    return rc;
}

int partitions_ensure(PGconn *c, const partition_opts *o, partition_report *r, exo_err *err)
{
    for (int i = 0; schema_partitioned_tables[i] && i < PARTITIONS_TABLES_MAX; i++)
        if (ensure_parent(c, schema_partitioned_tables[i], o, r, &r->months_ahead[i], err) < 0)
            return -1;
    return 0;
}

static int drop_month(PGconn *c, const char *parent, month_t m, partition_report *r,
                      exo_err *err)
{
    buf name = BUF_INIT, sql = BUF_INIT;
    partition_name(&name, parent, m);
    char *t = db_ident(c, name.ptr);
    /* Dropping a whole month costs milliseconds where DELETE of its rows
     * costs minutes and leaves bloat. */
    buf_printf(&sql, "DROP TABLE %s", t);
    int rc = db_exec(c, "dropping an expired partition", sql.ptr, NULL, err);
    if (rc == 0) {
        r->dropped++;
        log_msg(LOG_INFO, "partition dropped", "partition", name.ptr, NULL);
    }
    free(t);
    buf_free(&name), buf_free(&sql);
    return rc;
}

int partitions_drop_expired(PGconn *c, const partition_opts *o, partition_report *r,
                            exo_err *err)
{
    for (const char *const *t = schema_partitioned_tables; *t; t++) {
        month_set have = {0};
        if (existing_months(c, o, *t, &have, err) < 0)
            return -1;
        int rc = 0;
        for (size_t i = 0; i < have.n && rc == 0; i++)
            if (expired(have.months[i], o))
                rc = in_short_txn(c, o, drop_month, *t, have.months[i], r, err);
        free(have.months);
        if (rc < 0)
            return -1;
    }
    return 0;
}

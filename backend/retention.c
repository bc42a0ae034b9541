#include "retention.h"

#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "casts.h"
#include "db.h"
#include "rfc3339.h"
#include "schema.h"

int retention_longest_days(PGconn *c, const pass *ps, int default_days, int *out, exo_err *err)
{
    char d[16];
    snprintf(d, sizeof d, "%d", default_days);
    const char *p[] = {d, NULL};
    PGresult *res = pass_query(ps, c, "reading deployments' retention",
                             "SELECT greatest($1::int, coalesce(max(retention_days), 0)) "
                             "FROM deployments",
                             p, err);
    if (!res)
        return -1;
    *out = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int retention_delete_expired(PGconn *c, const pass *ps, time_t now, int default_days, int batch,
                             long *deleted, exo_err *err)
{
    char when[32], d[16], n[16];
    rfc3339_format(now, when);
    snprintf(d, sizeof d, "%d", default_days);
    snprintf(n, sizeof n, "%d", batch);
    const char *p[] = {when, d, n, NULL};
    for (const char *const *t = schema_partitioned_tables; *t; t++) {
        char *table = db_ident(c, *t);
        buf sql = BUF_INIT;
        /* The outer bound (the shortest retention in force) lets the planner
         * skip every month no deployment's retention has reached yet. */
        buf_printf(&sql,
                   "DELETE FROM %s WHERE (id, created_at) IN (SELECT e.id, e.created_at FROM %s e "
                   "LEFT JOIN deployments d ON d.id = e.deployment_id WHERE e.created_at < "
                   "$1::timestamptz - make_interval(days => coalesce(d.retention_days, $2::int)) "
                   "AND e.created_at < $1::timestamptz - make_interval(days => (SELECT "
                   "least($2::int, coalesce(min(retention_days), $2::int)) FROM deployments)) "
                   "LIMIT $3::int)",
                   table, table);
        long got;
        int rc = 0;
        do {
            PGresult *res = NULL;
            if (pass_keep(ps, err) == 0)
                res = pass_query(ps, c, "deleting expired events", sql.ptr, p, err);
            if (!res) {
                rc = err_prefix(err, "%s", *t);
                break;
            }
            got = atol(PQcmdTuples(res));
            *deleted += got;
            PQclear(res);
        } while (got == batch);
        free(table);
        buf_free(&sql);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int retention_expire_sessions(PGconn *c, const pass *ps, time_t now, int default_days,
                              const char *cast_dir, long *expired, exo_err *err)
{
    char when[32], d[16];
    rfc3339_format(now, when);
    snprintf(d, sizeof d, "%d", default_days);
    const char *p[] = {when, d, NULL};
    for (;;) {
        if (pass_keep(ps, err) < 0)
            return -1;
        PGresult *res = pass_query(ps, c, "finding expired sessions",
                                 "SELECT s.id FROM sessions s JOIN deployments d ON d.id = "
                                 "s.deployment_id WHERE coalesce(s.ended_at, s.started_at) < "
                                 "$1::timestamptz - make_interval(days => coalesce("
                                 "d.retention_days, $2::int)) AND NOT EXISTS (SELECT 1 FROM "
                                 "session_events e WHERE e.session_id = s.id) ORDER BY s.id "
                                 "LIMIT 500",
                                 p, err);
        if (!res)
            return -1;
        int n = PQntuples(res);
        buf ids = BUF_INIT;
        int rc = 0;
        /* Files first: a crash in between leaves a row without its file,
         * which the next pass deletes, never a file nobody points at. */
        for (int i = 0; i < n && rc == 0; i++) {
            rc = casts_remove(cast_dir, atoll(PQgetvalue(res, i, 0)), err);
            buf_printf(&ids, "%s%s", i ? "," : "{", PQgetvalue(res, i, 0));
        }
        buf_puts(&ids, "}");
        PQclear(res);
        const char *q[] = {ids.ptr, NULL};
        if (rc == 0 && n > 0)
            rc = pass_exec(ps, c, "deleting expired sessions",
                         "DELETE FROM sessions WHERE id = ANY($1::bigint[])", q, err);
        buf_free(&ids);
        if (rc < 0)
            return -1;
        *expired += n;
        if (n < 500)
            return 0;
    }
}

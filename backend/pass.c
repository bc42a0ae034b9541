#include "pass.h"

#include "buf.h"
#include "db.h"

PGresult *pass_query(const pass *p, PGconn *c, const char *what, const char *sql,
                     const char *const *params, exo_err *err)
{
    if (!p || !p->lock_timeout)
        return db_query(c, what, sql, params, err);
    buf set = BUF_INIT;
    /* The value is ours (a constant of maintain.c), never a user's. */
    buf_printf(&set, "SET LOCAL lock_timeout = '%s'", p->lock_timeout);
    PGresult *res = NULL;
    exo_err ignore = EXO_ERR_INIT;
    if (db_exec(c, "BEGIN", "BEGIN", NULL, err) < 0)
        goto out;
    if (db_exec(c, "setting lock_timeout", set.ptr, NULL, err) == 0 &&
        (res = db_query(c, what, sql, params, err))) {
        /* A COMMIT that fails has ended the transaction all the same. */
        if (db_exec(c, "COMMIT", "COMMIT", NULL, err) < 0) {
            PQclear(res);
            res = NULL;
        }
        goto out;
    }
    db_exec(c, "ROLLBACK", "ROLLBACK", NULL, &ignore);
out:
    err_clear(&ignore);
    buf_free(&set);
    return res;
}

int pass_exec(const pass *p, PGconn *c, const char *what, const char *sql,
              const char *const *params, exo_err *err)
{
    PGresult *res = pass_query(p, c, what, sql, params, err);
    PQclear(res);
    return res ? 0 : -1;
}

int pass_keep(const pass *p, exo_err *err)
{
    return p && p->renew ? p->renew(p->arg, err) : 0;
}

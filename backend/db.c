#include "db.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

static int count(const char *const *params)
{
    int n = 0;
    while (params && params[n])
        n++;
    return n;
}

PGresult *db_query(PGconn *c, const char *what, const char *sql, const char *const *params,
                   exo_err *err)
{
    PGresult *r = PQexecParams(c, sql, count(params), NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!primary) {
        /* No server message: the connection failed. libpq's text has a
         * trailing newline and never the password. */
        const char *m = PQerrorMessage(c);
        size_t n = strcspn(m, "\n");
        err_set(err, "%s: %.*s", what, (int)n, m);
    } else {
        err_set(err, "%s: %s", what, primary);
    }
    if (err) {
        free(err->reason);
        err->reason = state ? xstrdup(state) : NULL;
    }
    PQclear(r);
    return NULL;
}

int db_exec(PGconn *c, const char *what, const char *sql, const char *const *params,
            exo_err *err)
{
    PGresult *r = db_query(c, what, sql, params, err);
    PQclear(r);
    return r ? 0 : -1;
}

static void notice(void *arg, const PGresult *r)
{
    (void)arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    log_msg(LOG_WARN, "database notice", "severity", sev ? sev : "", "message", msg ? msg : "",
            NULL);
}

void db_log_notices(PGconn *c)
{
    PQsetNoticeReceiver(c, notice, NULL);
}

bool db_err_is(const exo_err *err, const char *sqlstate)
{
    return err && err->reason && strcmp(err->reason, sqlstate) == 0;
}

static char *own(char *pq)
{
    /* libpq allocates with its own free (PQfreemem); hand callers plain
     * malloc memory so that free() is always right. */
    if (!pq)
        abort(); /* only out of memory or invalid encoding of our constants */
    char *s = xstrdup(pq);
    PQfreemem(pq);
    return s;
}

char *db_ident(PGconn *c, const char *name)
{
    return own(PQescapeIdentifier(c, name, strlen(name)));
}

char *db_literal(PGconn *c, const char *value)
{
    return own(PQescapeLiteral(c, value, strlen(value)));
}

/* The rules of a maintenance pass for every statement it runs, handed down
 * to the steps (partitions, retention) that run them:
 *  - each statement waits at most lock_timeout for a lock, set with SET
 *    LOCAL in a transaction of the statement's own, so that no setting
 *    outlives it on the server connection: behind PgBouncer in transaction
 *    mode the next statement may run on another server connection, and a
 *    session SET would stay on this one for the next client that gets it;
 *  - between units of work (a month made, a batch deleted) the pass renews
 *    its lease, and stops when another replica has taken it.
 * A NULL pass means neither: boot runs the same steps inside its own
 * transaction, under its advisory lock. */
#ifndef EXO_PASS_H
#define EXO_PASS_H

#include <libpq-fe.h>

#include "err.h"

typedef struct {
    const char *lock_timeout; /* a PostgreSQL interval, e.g. "10s" */
    /* Renews what the pass holds; -1 with err set when it was lost. */
    int (*renew)(void *arg, exo_err *err);
    void *arg;
} pass;

/* db_query under the pass's rules (plain db_query when p is NULL). */
PGresult *pass_query(const pass *p, PGconn *c, const char *what, const char *sql,
                     const char *const *params, exo_err *err);
int pass_exec(const pass *p, PGconn *c, const char *what, const char *sql,
              const char *const *params, exo_err *err);

/* Called between units of work: renews the lease. 0 when p is NULL. */
int pass_keep(const pass *p, exo_err *err);

#endif

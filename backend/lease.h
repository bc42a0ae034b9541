/* Leases: rows in exo_leases with a holder and an expiry, for work that one
 * replica at a time must do (the maintenance daemon). Unlike a session
 * advisory lock, a lease holds behind PgBouncer in transaction mode, where
 * consecutive statements may run on different server connections; unlike a
 * transaction-scoped lock, it spans many short transactions. A holder that
 * dies loses the lease when it expires. */
#ifndef EXO_LEASE_H
#define EXO_LEASE_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "err.h"

/* Takes or renews the lease `name` for `holder` for ttl_seconds. *got is
 * false when another holder has it and it has not expired. */
int lease_acquire(PGconn *c, const char *name, const char *holder, int ttl_seconds, bool *got,
                  exo_err *err);

/* Extends holder's lease by ttl_seconds from now. *held is false when
 * another holder has taken it (after it expired unrenewed) or it is gone:
 * the caller has lost it and must stop what the lease guards. */
int lease_renew(PGconn *c, const char *name, const char *holder, int ttl_seconds, bool *held,
                exo_err *err);

/* Gives the lease up if holder has it. */
int lease_release(PGconn *c, const char *name, const char *holder, exo_err *err);

/* The holder id of this process, the same on every call: host name, pid
 * and a random part (drawn once). Caller frees. */
char *lease_holder_id(void);

#endif

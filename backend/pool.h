/* A PostgreSQL connection pool with the semantics of Go's database/sql:
 * at most max_open connections exist (callers wait for one beyond that),
 * at most max_idle are kept open when returned, the rest are closed.
 * Thread-safe. Connections are opened lazily. */
#ifndef EXO_POOL_H
#define EXO_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "dsn.h"
#include "err.h"

typedef struct pool pool;

/* How the pool opens and closes connections; the defaults (NULL) use
 * pg_connect_open / PQfinish. Tests substitute fakes. `connect` returns NULL
 * and fills err on failure; err must never contain the password. */
typedef struct {
    PGconn *(*connect)(void *ctx, const dsn *d, exo_err *err);
    void (*close)(void *ctx, PGconn *conn);
    bool (*healthy)(void *ctx, PGconn *conn); /* default: PQstatus == CONNECTION_OK */
    void *ctx;
} pool_driver;

typedef struct {
    const dsn *dsn;       /* borrowed: must outlive the pool; may be NULL with a driver */
    int max_open;         /* > 0 */
    int max_idle;         /* 0 .. max_open */
    const pool_driver *driver; /* NULL: libpq */
} pool_config;

typedef struct {
    int max_open;    /* the configured limits, beside the use below */
    int max_idle;
    int open;        /* connections that exist */
    int idle;        /* of which idle */
    int in_use;      /* of which handed out */
    uint64_t waits;  /* pool_get calls that had to wait */
    uint64_t wait_ns; /* total time spent waiting */
    uint64_t opened; /* connections ever opened */
    uint64_t closed; /* connections ever closed */
} pool_stats;

int pool_new(pool **out, const pool_config *cfg, exo_err *err);

/* A connection, idle or new; waits while max_open are in use. Returns NULL
 * (err filled) when a new connection cannot be opened or the pool is
 * closing. An idle connection found broken is closed and replaced. */
PGconn *pool_get(pool *p, exo_err *err);

/* Returns a connection. `broken` (a failed query, a lost server) closes it
 * instead of keeping it. A connection left inside a transaction is broken. */
void pool_put(pool *p, PGconn *conn, bool broken);

/* Closes every idle connection: after a connection turned out dead (the
 * server restarted), the others idle beside it are dead too. */
void pool_close_idle(pool *p);

void pool_get_stats(pool *p, pool_stats *out);

/* Closes idle connections and wakes waiters; callers must have returned
 * every connection. */
void pool_free(pool *p);

#endif

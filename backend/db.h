/* Small helpers over libpq: parameters always go through PQexecParams;
 * failures become one-line messages naming the step, with the SQLSTATE
 * kept in err->reason for callers that retry on some of them. */
#ifndef EXO_DB_H
#define EXO_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "err.h"

/* The oldest PostgreSQL major version exo-backend runs on: every
 * connection it opens (boot_connect, the pool) refuses an older server. */
#define DB_PG_MAJOR 16
#define DB_PG_NEEDED_BY "exo-backend"

/* SQLSTATEs the callers act on. */
#define SQLSTATE_LOCK_NOT_AVAILABLE "55P03"
#define SQLSTATE_DEADLOCK "40P01"
#define SQLSTATE_UNIQUE_VIOLATION "23505"
#define SQLSTATE_DUPLICATE_TABLE "42P07"

/* Runs sql with text parameters (NULL-terminated, so no parameter can be
 * SQL NULL: pass '' and write nullif($n, '') instead; params may be NULL
 * for none). Returns the result (caller PQclears) or NULL with err set to
 * "<what>: <server message>". */
PGresult *db_query(PGconn *c, const char *what, const char *sql, const char *const *params,
                   exo_err *err);

/* As db_query for statements whose result is not needed. */
int db_exec(PGconn *c, const char *what, const char *sql, const char *const *params,
            exo_err *err);

/* Routes the server's notices and warnings on c ("terminating connection
 * due to immediate shutdown command") to the JSON log, where libpq would
 * print them to stderr as bare text. */
void db_log_notices(PGconn *c);

/* Whether err carries this SQLSTATE. */
bool db_err_is(const exo_err *err, const char *sqlstate);

/* An identifier quoted for SQL (PQescapeIdentifier); caller frees. */
char *db_ident(PGconn *c, const char *name);

/* A literal quoted for SQL (PQescapeLiteral), for the few statements that
 * take no parameters (ATTACH PARTITION bounds); caller frees. */
char *db_literal(PGconn *c, const char *value);

#endif

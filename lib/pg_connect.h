/* The one way the programs connect to PostgreSQL: from a parsed DSN
 * (dsn.h), with the server's certificate verified unless the DSN says
 * otherwise, a failure explained in one line without the password, an
 * unreachable server told apart from one that refused, and a server older
 * than the caller needs refused.
 *
 * TLS: libpq's own default, sslmode=prefer, encrypts when the server offers
 * TLS but checks nobody's certificate, and falls back to plain text: a DSN
 * that says nothing would then talk to whoever answers. So a DSN that names
 * no sslmode (and a PGSSLMODE that is unset) gets sslmode=verify-full;
 * `sslmode=require` or `sslmode=disable` in the DSN is how a user says
 * otherwise. Unix-socket hosts are unaffected (libpq uses no TLS there). */
#ifndef EXO_PG_CONNECT_H
#define EXO_PG_CONNECT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "dsn.h"
#include "err.h"

/* What pg_connect_open returns when it fails. */
typedef enum {
    /* the server refused (authentication, database, TLS), or out of memory */
    PG_CONNECT_FAILED = -1,
    /* no server answered: name lookup, route, connection refused, timeout */
    PG_CONNECT_UNREACHABLE = -2,
    /* connected, to a server older than min_major */
    PG_CONNECT_TOO_OLD = -3,
} pg_connect_failure;

typedef struct {
    /* Settings applied after the DSN's, so they win over it (e.g.
     * connect_timeout, sslrootcert); NULL-terminated, at most 8; may be
     * NULL. Borrowed. */
    const char *const *keys;
    const char *const *vals;
    int min_major;   /* refuse a server whose major version is lower (16); 0: any */
    const char *who; /* who needs min_major, for the message ("exo-backend") */
} pg_connect_opts;

/* Connects to d. Returns 0 with *out connected (caller PQfinish-es it), or a
 * pg_connect_failure with *out NULL and err set:
 *   - not connected: libpq's explanation on one line, any password-looking
 *     part redacted, and pg_sslmode_hint's sentence; the caller adds what it
 *     was connecting for (err_prefix);
 *   - too old: "the database server is PostgreSQL 15.4; WHO needs PostgreSQL
 *     16 or newer".
 * The DSN itself is never in the message: a caller that names it prints
 * dsn_redact(d). */
int pg_connect_open(PGconn **out, const dsn *d, const pg_connect_opts *o, exo_err *err);

/* true when pg_connect_open adds sslmode=verify-full to d. */
bool pg_sslmode_defaulted(const dsn *d);

/* "" or, when libpq_msg is a TLS failure and pg_connect_open chose
 * verify-full, a sentence (starting with a space) that says why and how to
 * choose otherwise: the user never wrote "verify-full". */
const char *pg_sslmode_hint(const dsn *d, const char *libpq_msg);

#endif

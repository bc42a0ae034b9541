/* Connecting to PostgreSQL with the server's certificate verified unless the
 * DSN says otherwise. libpq's own default, sslmode=prefer, encrypts when the
 * server offers TLS but checks nobody's certificate, and falls back to plain
 * text: a DSN that says nothing would then talk to whoever answers. So a DSN
 * that names no sslmode (and a PGSSLMODE that is unset) gets
 * sslmode=verify-full; `sslmode=require` or `sslmode=disable` in the DSN is
 * how a user says otherwise. Unix-socket hosts are unaffected (libpq uses no
 * TLS there). */
#ifndef EXO_PG_CONNECT_H
#define EXO_PG_CONNECT_H

#include <libpq-fe.h>
#include <stdbool.h>

/* true when pg_connect adds sslmode=verify-full to dsn_text. */
bool pg_sslmode_defaulted(const char *dsn_text);

/* "" or, when libpq_msg is a TLS failure and pg_connect chose verify-full,
 * a sentence (starting with a space) that says why and how to choose
 * otherwise: the user never wrote "verify-full". */
const char *pg_sslmode_hint(const char *dsn_text, const char *libpq_msg);

/* PQconnectdbParams with dsn_text expanded first; keys/vals (NULL-terminated,
 * may be NULL) are applied after it and win over it. NULL only when out of
 * memory, as PQconnectdbParams. */
PGconn *pg_connect(const char *dsn_text, const char *const *keys, const char *const *vals);

#endif

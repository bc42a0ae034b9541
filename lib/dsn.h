/* PostgreSQL connection strings: parsing and validation with libpq's own
 * PQconninfoParse (keyword form `host=… user=…` and URL form
 * `postgres://` / `postgresql://`), and redaction for printing.
 *
 * Nothing this module prints, returns as a message or puts in an exo_err
 * contains the DSN's password, even when the DSN is malformed. */
#ifndef EXO_DSN_H
#define EXO_DSN_H

#include "buf.h"
#include "err.h"

typedef enum { DSN_FORM_KEYWORD, DSN_FORM_URL } dsn_form;

typedef struct dsn dsn;

/* Parses and validates `text`. Refuses: an empty string, what libpq cannot
 * parse, an unknown keyword, an sslmode libpq does not know, a port that is
 * not a number in 1..65535. On success *out is owned by the caller
 * (dsn_free). On failure err says why, without the password. */
int dsn_parse(dsn **out, const char *text, exo_err *err);
/* Frees d, its password overwritten first. */
void dsn_free(dsn *d);

/* The value of a keyword (`host`, `dbname`, `sslmode`, …) after parsing, or
 * NULL when unset; borrowed from d. */
const char *dsn_get(const dsn *d, const char *keyword);
dsn_form dsn_form_of(const dsn *d);

/* The settings d gives (unset and empty ones left out), in libpq's order,
 * as PQconnectdbParams takes them: fills keys[i], vals[i] for i below the
 * smaller of the count and max (strings borrowed from d), and returns the
 * count (call with max 0 to size the arrays). Connecting from these reads
 * the same settings as connecting with the text, without parsing it again. */
size_t dsn_settings(const dsn *d, const char **keys, const char **vals, size_t max);
/* The DSN in the form it was given, with the password (if any) replaced by
 * "REDACTED"; every other setting kept. Caller frees. */
char *dsn_redact(const dsn *d);

/* Best-effort redaction of text that may not parse (for messages about a
 * bad DSN): every password-looking part is replaced. Caller frees. */
char *dsn_redact_text(const char *text);

/* Appends ` key=value` (leading space unless out is empty) to a keyword-form
 * DSN, quoting the value the way libpq reads it back when it holds spaces,
 * quotes, backslashes or is empty. */
void dsn_append_keyword(buf *out, const char *key, const char *value);

#endif

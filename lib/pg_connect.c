#include "pg_connect.h"

#include <stdlib.h>
#include <string.h>

#define PG_CONNECT_MAX_EXTRA 8

bool pg_sslmode_defaulted(const char *dsn_text)
{
    const char *env = getenv("PGSSLMODE");
    if (env && *env)
        return false;
    PQconninfoOption *opts = PQconninfoParse(dsn_text, NULL);
    if (!opts)
        return false; /* unparsable: libpq will say so when connecting */
    bool named = false;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "sslmode") == 0 && o->val && *o->val)
            named = true;
    PQconninfoFree(opts);
    return !named;
}

const char *pg_sslmode_hint(const char *dsn_text, const char *libpq_msg)
{
    if (!libpq_msg || !pg_sslmode_defaulted(dsn_text))
        return "";
    if (!strstr(libpq_msg, "SSL") && !strstr(libpq_msg, "certificate") &&
        !strstr(libpq_msg, "root.crt"))
        return "";
    return " (the DSN names no sslmode, so the server's certificate is checked as with "
           "sslmode=verify-full: give the CA, or put sslmode=require in the DSN to encrypt "
           "without checking it)";
}

PGconn *pg_connect(const char *dsn_text, const char *const *keys, const char *const *vals)
{
    /* 1 default + the DSN + extras + the terminator. */
    const char *k[PG_CONNECT_MAX_EXTRA + 3], *v[PG_CONNECT_MAX_EXTRA + 3];
    int n = 0;
    /* Before the DSN: expand_dbname lets the DSN's own sslmode win. */
    if (pg_sslmode_defaulted(dsn_text)) {
        k[n] = "sslmode";
        v[n++] = "verify-full";
    }
    k[n] = "dbname";
    v[n++] = dsn_text;
    for (int i = 0; keys && i < PG_CONNECT_MAX_EXTRA && keys[i]; i++) {
        k[n] = keys[i];
        v[n++] = vals[i];
    }
    k[n] = v[n] = NULL;
    return PQconnectdbParams(k, v, 1);
}

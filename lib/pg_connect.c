#include "pg_connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

#define PG_CONNECT_MAX_EXTRA 8

bool pg_sslmode_defaulted(const dsn *d)
{
    const char *env = getenv("PGSSLMODE");
    return !(env && *env) && !dsn_get(d, "sslmode");
}

const char *pg_sslmode_hint(const dsn *d, const char *libpq_msg)
{
    if (!libpq_msg || !pg_sslmode_defaulted(d))
        return "";
    if (!strstr(libpq_msg, "SSL") && !strstr(libpq_msg, "certificate") &&
        !strstr(libpq_msg, "root.crt"))
        return "";
    return " (the DSN names no sslmode, so the server's certificate is checked as with "
           "sslmode=verify-full: give the CA, or put sslmode=require in the DSN to encrypt "
           "without checking it)";
}

/* libpq's messages for a server it never talked to; anything else came
 * from the server (authentication, missing database, TLS verification). */
static bool unreachable(const char *msg)
{
    static const char *const signs[] = {
        "could not translate host name", "Connection refused", "could not connect to server",
        "timeout expired", "No route to host", "Network is unreachable",
        "Name or service not known", "Temporary failure in name resolution",
    };
    for (size_t i = 0; i < sizeof signs / sizeof signs[0]; i++)
        if (strstr(msg, signs[i]))
            return true;
    return false;
}

/* libpq's message on one line: it words its errors from the server's reply
 * and the DSN's host and port, and a DSN it could misread (and quote a
 * password from) was refused by dsn_parse; redacting anyway keeps a future
 * libpq from leaking one. Lines (one per host tried, and indented detail
 * lines) are joined as sentences. Caller frees. */
static char *one_line(const char *msg)
{
    char *red = dsn_redact_text(msg);
    buf out = BUF_INIT;
    for (const char *p = red; *p;) {
        size_t n = strcspn(p, "\n");
        buf_append(&out, p, n);
        p += n;
        p += strspn(p, "\n \t");
        /* "failed: Connection refused" + "\tIs the server running ...?" */
        if (*p && out.len && !strchr(".?!:", out.ptr[out.len - 1]))
            buf_putc(&out, '.');
        if (*p)
            buf_putc(&out, ' ');
    }
    while (out.len && (out.ptr[out.len - 1] == ' ' || out.ptr[out.len - 1] == '\t'))
        out.ptr[--out.len] = '\0';
    free(red);
    return buf_detach(&out);
}

/* "15.4"; before PostgreSQL 10 the minor number had two parts ("9.6.24"). */
static void version_text(char *out, size_t size, int v)
{
    if (v >= 100000)
        snprintf(out, size, "%d.%d", v / 10000, v % 10000);
    else
        snprintf(out, size, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}

int pg_connect_open(PGconn **out, const dsn *d, const pg_connect_opts *o, exo_err *err)
{
    *out = NULL;
    size_t extra = 0;
    while (o->keys && extra < PG_CONNECT_MAX_EXTRA && o->keys[extra])
        extra++;
    size_t nd = dsn_settings(d, NULL, NULL, 0);
    /* 1 default + the DSN's settings + extras + the terminator. */
    const char **k = xcalloc(nd + extra + 2, sizeof *k);
    const char **v = xcalloc(nd + extra + 2, sizeof *v);
    size_t n = 0;
    bool defaulted = pg_sslmode_defaulted(d);
    for (size_t i = 0; i < extra; i++)
        if (strcmp(o->keys[i], "sslmode") == 0)
            defaulted = false;
    if (defaulted) {
        k[n] = "sslmode";
        v[n++] = "verify-full";
    }
    n += dsn_settings(d, k + n, v + n, nd);
    for (size_t i = 0; i < extra; i++) {
        k[n] = o->keys[i];
        v[n++] = o->vals[i];
    }
    /* The settings are parsed already: expand_dbname 0, so that a dbname
     * holding '=' stays a database name. Later settings win. */
    PGconn *c = PQconnectdbParams(k, v, 0);
    free(k);
    free(v);
    if (!c) {
        err_set(err, "out of memory connecting");
        return PG_CONNECT_FAILED;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char *msg = one_line(PQerrorMessage(c));
        int rc = unreachable(msg) ? PG_CONNECT_UNREACHABLE : PG_CONNECT_FAILED;
        err_set(err, "%s%s", msg, defaulted ? pg_sslmode_hint(d, msg) : "");
        free(msg);
        PQfinish(c);
        return rc;
    }
    int have = PQserverVersion(c);
    if (o->min_major > 0 && have < o->min_major * 10000) {
        char ver[32];
        version_text(ver, sizeof ver, have);
        err_set(err, "the database server is PostgreSQL %s; %s needs PostgreSQL %d or newer", ver,
                o->who ? o->who : "this program", o->min_major);
        PQfinish(c);
        return PG_CONNECT_TOO_OLD;
    }
    *out = c;
    return 0;
}

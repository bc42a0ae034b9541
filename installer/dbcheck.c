#include "dbcheck.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dsn.h"
#include "pg_connect.h"
#include "xalloc.h"

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

/* The first line of libpq's message, redacted, without "connection to
 * server at ... failed: " noise kept (it names the host, which helps). */
static char *first_line(const char *msg)
{
    char *red = dsn_redact_text(msg);
    size_t n = strlen(red);
    while (n && (red[n - 1] == '\n' || red[n - 1] == ' '))
        red[--n] = '\0';
    for (char *p = red; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return red;
}

int dbcheck_run(const char *dsn_text, const char *ca_file, FILE *warn, int *server_version,
                exo_err *err)
{
    const char *keys[3] = {"connect_timeout", NULL, NULL};
    const char *vals[3] = {"5", NULL, NULL};
    if (ca_file) {
        keys[1] = "sslrootcert";
        vals[1] = ca_file;
    }
    /* The same connection the backend makes (pg_connect: verify-full unless
     * the DSN names an sslmode); the keywords after the DSN win. */
    PGconn *conn = pg_connect(dsn_text, keys, vals);
    int rc = 0;
    if (!conn)
        return err_set(err, "--db-dsn: out of memory connecting");
    if (PQstatus(conn) != CONNECTION_OK) {
        char *msg = first_line(PQerrorMessage(conn));
        if (unreachable(msg)) {
            rc = 1;
            fprintf(warn, "warning: --db-dsn: cannot reach the database from here (%s); "
                          "installing anyway, the backend will connect from inside the cluster "
                          "(--skip-db-check skips this check)\n",
                    msg);
        } else {
            rc = err_set(err, "--db-dsn: the database refused the connection: %s%s", msg,
                         pg_sslmode_hint(dsn_text, msg));
        }
        free(msg);
    } else if (PQserverVersion(conn) < DBCHECK_MIN_VERSION) {
        int v = PQserverVersion(conn);
        rc = err_set(err, "--db-dsn: the server is PostgreSQL %d.%d; Exo needs 16 or newer",
                     v / 10000, v % 10000);
    } else {
        *server_version = PQserverVersion(conn);
    }
    PQfinish(conn);
    return rc;
}

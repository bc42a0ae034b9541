#include "dbcheck.h"

#include <libpq-fe.h>

#include "pg_connect.h"

int dbcheck_run(const dsn *d, const char *ca_file, FILE *warn, int *server_version, exo_err *err)
{
    const char *keys[3] = {"connect_timeout", NULL, NULL};
    const char *vals[3] = {"5", NULL, NULL};
    if (ca_file) {
        keys[1] = "sslrootcert";
        vals[1] = ca_file;
    }
    /* The same connection the backend makes (pg_connect_open: verify-full
     * unless the DSN names an sslmode, PostgreSQL 16 or newer); the
     * keywords after the DSN win. */
    pg_connect_opts o = {keys, vals, DBCHECK_PG_MAJOR, "Exo"};
    PGconn *conn;
    int rc = pg_connect_open(&conn, d, &o, err);
    if (rc == PG_CONNECT_UNREACHABLE) {
        fprintf(warn, "warning: --db-dsn: cannot reach the database from here (%s); "
                      "installing anyway, the backend will connect from inside the cluster "
                      "(--skip-db-check skips this check)\n",
                err_msg(err));
        err_clear(err);
        return 1;
    }
    if (rc == PG_CONNECT_TOO_OLD)
        return err_prefix(err, "--db-dsn");
    if (rc < 0)
        return err_prefix(err, "--db-dsn: the database refused the connection");
    *server_version = PQserverVersion(conn);
    PQfinish(conn);
    return 0;
}

/* Before a managed install: connects to the --db-dsn database with libpq
 * from where the installer runs, and refuses credentials the server rejects
 * or a server older than PostgreSQL 16. A database the installer cannot
 * reach (it may be reachable only from inside the cluster) is a warning,
 * not a refusal. */
#ifndef EXO_DBCHECK_H
#define EXO_DBCHECK_H

#include <stdio.h>

#include "dsn.h"
#include "err.h"

/* The oldest PostgreSQL major version Exo runs on (the backend refuses
 * older ones at boot). */
#define DBCHECK_PG_MAJOR 16

/* ca_file: --db-ca-file, used as sslrootcert (may be NULL). Returns 0 when
 * the database is fit (*server_version, e.g. 160004, is set), 1 when it
 * could not be reached (a warning on warn), -1 when it refused or is too
 * old; messages never hold the password. */
int dbcheck_run(const dsn *d, const char *ca_file, FILE *warn, int *server_version, exo_err *err);

#endif

/* Retention of session and audit events: a default in days and a value per
 * deployment (deployments.retention_days). Whole months go by dropping
 * partitions (partitions.h) once every deployment's retention has passed
 * them; this module deletes, in batches, the rows of deployments whose
 * retention is shorter than that. */
#ifndef EXO_RETENTION_H
#define EXO_RETENTION_H

#include <time.h>

#include <libpq-fe.h>

#include "err.h"
#include "pass.h"

/* The functions below run their statements under the maintenance pass's
 * rules (pass.h: a lock timeout per statement, the lease renewed between
 * batches); p NULL runs them plainly. */

/* The longest retention in force: the default or any deployment's. */
int retention_longest_days(PGconn *c, const pass *p, int default_days, int *out, exo_err *err);

/* Deletes rows older than their deployment's retention (the default for
 * rows of no deployment or of one without its own), as of now, in batches
 * of `batch` rows, each its own transaction. Adds the count to *deleted. */
int retention_delete_expired(PGconn *c, const pass *p, time_t now, int default_days, int batch,
                             long *deleted, exo_err *err);

/* Expires sessions that ended (or, never ended, started) longer ago than
 * their deployment's retention and have no events left (retention deleted
 * them; a session still producing events is kept): their recordings are
 * removed from cast_dir first, then the rows. Adds to *expired. */
int retention_expire_sessions(PGconn *c, const pass *p, time_t now, int default_days,
                              const char *cast_dir, long *expired, exo_err *err);

#endif

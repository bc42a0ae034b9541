/* One maintenance pass, as the daemon runs it every
 * EXO_MAINTENANCE_INTERVAL and `exo-backend maintain` runs it once: under
 * the "maintenance" lease (one replica at a time), roll months forward,
 * drop months past every retention, delete rows of deployments with a
 * shorter retention. Every change is a short transaction. */
#ifndef EXO_MAINTAIN_H
#define EXO_MAINTAIN_H

#include <stdbool.h>
#include <time.h>

#include <libpq-fe.h>

#include "config.h"
#include "err.h"

typedef struct {
    bool skipped; /* another replica holds the lease */
    int created;
    int dropped;
    long moved_rows;
    long deleted_rows;
    long sessions_expired; /* with their recordings */
    int retries;
    long duration_ms;
} maintain_report;

int maintain_pass(PGconn *c, const backend_config *cfg, time_t now, maintain_report *r,
                  exo_err *err);

#endif

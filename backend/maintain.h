/* One maintenance pass, as the daemon runs it every
 * EXO_MAINTENANCE_INTERVAL and `exo-backend maintain` runs it once: under
 * the "maintenance" lease (one replica at a time), roll months forward,
 * drop months past every retention, delete rows of deployments with a
 * shorter retention. Every change is a short transaction. */
#ifndef EXO_MAINTAIN_H
#define EXO_MAINTAIN_H

#include <stdbool.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "config.h"
#include "partitions.h"
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
    int months_ahead[PARTITIONS_TABLES_MAX]; /* per schema_partitioned_tables */
} maintain_report;

int maintain_pass(PGconn *c, const backend_config *cfg, time_t now, maintain_report *r,
                  exo_err *err);

/* The report as the commands print it and the daemon logs it (caller
 * frees with cJSON_Delete). */
cJSON *maintain_report_json(const maintain_report *m);

/* `exo-backend maintain`: one pass as of `now` on a connection of its
 * own. On success *report is the pass's report (caller frees). */
int maintain_run(const backend_config *cfg, time_t now, cJSON **report, exo_err *err);

#endif

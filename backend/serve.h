/* `exo-backend serve`: the daemon. Listens at once (/healthz answers,
 * /readyz says not yet), boots, serves the API, and runs a maintenance
 * pass every EXO_MAINTENANCE_INTERVAL until SIGTERM or SIGINT, then stops
 * gracefully. */
#ifndef EXO_SERVE_H
#define EXO_SERVE_H

#include "config.h"
#include "err.h"

/* Returns 0 after a signal stopped it, -1 with err set when the boot or
 * the listener failed. Blocks SIGTERM and SIGINT in the calling thread: call
 * it before any other thread starts. */
int serve_run(const backend_config *cfg, exo_err *err);

#endif

/* The controller's one loop: leader election, informers, the work queue,
 * reconciles, resync, and shutdown on SIGTERM/SIGINT. */
#ifndef EXO_CTL_CONTROLLER_H
#define EXO_CTL_CONTROLLER_H

#include "err.h"
#include "kube_config.h"
#include "options.h"

/* Runs until SIGTERM/SIGINT (returns 0, the Lease released) or a fatal
 * error (returns -1 with err set; a lost Lease is one). cfg is borrowed;
 * ns and identity are resolved by the caller. */
int controller_run(const options *o, kube_config *cfg, const char *ns, const char *identity,
                   exo_err *err);

#endif

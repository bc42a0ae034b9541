/* `exo-install install`: the objects of the one rendering, applied in order
 * with server-side apply, Secrets created only when absent, what the new
 * rendering dropped pruned (never a Secret or a volume), then a wait until
 * everything is ready. */
#ifndef EXO_INSTALL_H
#define EXO_INSTALL_H

#include <stdbool.h>

#include "cluster.h"
#include "progress.h"
#include "flags.h"

typedef struct {
    bool wait;
    long timeout_ms;
    bool skip_db_check;
} install_opts;

/* Exit status: 0 installed (and ready when waiting), 1 failed or timed out
 * (the message, and for a timeout what is not ready and why, are on
 * stderr). */
int install_run(cluster *cl, flags *a, const install_opts *io, progress *pg);

#endif

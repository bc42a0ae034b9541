/* `exo session list|get`: the sessions API as commands. */
#ifndef EXO_SESSIONS_H
#define EXO_SESSIONS_H

#include <stdio.h>

#include "cli_opts.h"

void sessions_usage(FILE *f);

/* Runs `exo session ...` as deployments_main runs its group. */
int sessions_main(int argc, char **argv, cli_opts *o);

#endif

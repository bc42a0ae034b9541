/* `exo token create|list|revoke`: API tokens as commands. */
#ifndef EXO_TOKENS_H
#define EXO_TOKENS_H

#include <stdio.h>

#include "cli_opts.h"

void tokens_usage(FILE *f);

/* Runs `exo token ...` as deployments_main runs its group. */
int tokens_main(int argc, char **argv, cli_opts *o);

#endif

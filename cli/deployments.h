/* `exo deployment list|create|get|retention`: the deployments API as
 * commands. */
#ifndef EXO_DEPLOYMENTS_H
#define EXO_DEPLOYMENTS_H

#include <stdio.h>

#include "cli_opts.h"

/* The help text of `exo deployment`. */
void deployments_usage(FILE *f);

/* Runs `exo deployment ...`: argv[0] is "deployment", the rest its
 * subcommand, arguments and flags (global ones too, in any order). `o`
 * holds the global flags given before "deployment" and is updated with the
 * rest. Returns the exit status (CLI_EXIT_*); prints the result on stdout
 * and any error as one "exo: " line on stderr. */
int deployments_main(int argc, char **argv, cli_opts *o);

#endif

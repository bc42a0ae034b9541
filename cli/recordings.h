/* `exo recording upload|download`: a session's asciicast recording
 * streamed to and from the API, in flat memory whatever its size. */
#ifndef EXO_RECORDINGS_H
#define EXO_RECORDINGS_H

#include <stdio.h>

#include "cli_opts.h"

void recordings_usage(FILE *f);

/* Runs `exo recording ...` as deployments_main runs its group. */
int recordings_main(int argc, char **argv, cli_opts *o);

#endif

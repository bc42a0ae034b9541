/* `exo-install render`: flags in, manifests out. */
#ifndef EXO_RENDER_CMD_H
#define EXO_RENDER_CMD_H

/* argv[0] is "render". Returns the process exit status: 0, 1 when writing
 * failed, 2 for bad input (one line on stderr naming the flag, nothing
 * written). */
int render_cmd(int argc, char **argv);

#endif

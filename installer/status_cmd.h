/* `exo-install status`: components, ready counts, volumes and the
 * ExoControlPlane's conditions, as a table or JSON. */
#ifndef EXO_STATUS_CMD_H
#define EXO_STATUS_CMD_H

int status_cmd(int argc, char **argv);

#endif

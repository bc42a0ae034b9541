/* `exo-install status`: its flags (flags.h), the table or JSON it prints
 * and its exit status; status.c reads the cluster. */
#ifndef EXO_STATUS_CMD_H
#define EXO_STATUS_CMD_H

/* argv[0] is "status". Returns the process exit status. */
int status_cmd(int argc, char **argv);

#endif

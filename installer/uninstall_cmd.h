/* `exo-install uninstall [--purge]`: its flags (flags.h), what it prints
 * and its exit status; uninstall.c deletes. */
#ifndef EXO_UNINSTALL_CMD_H
#define EXO_UNINSTALL_CMD_H

/* argv[0] is "uninstall". Returns the process exit status. */
int uninstall_cmd(int argc, char **argv);

#endif

/* `exo-install install`: its flags (flags.h) and its exit status; the
 * work is install.c's. */
#ifndef EXO_INSTALL_CMD_H
#define EXO_INSTALL_CMD_H

/* argv[0] is "install". Returns the process exit status. */
int install_cmd(int argc, char **argv);

#endif

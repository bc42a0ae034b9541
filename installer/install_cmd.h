/* The cluster commands of exo-install: install, status, uninstall, key. */
#ifndef EXO_INSTALL_CMD_H
#define EXO_INSTALL_CMD_H

/* argv[0] is the command's name. Each returns the process exit status. */
int install_cmd(int argc, char **argv);

#endif

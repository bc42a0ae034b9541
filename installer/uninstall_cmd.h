/* `exo-install uninstall [--purge]`. */
#ifndef EXO_UNINSTALL_CMD_H
#define EXO_UNINSTALL_CMD_H

int uninstall_cmd(int argc, char **argv);

#endif

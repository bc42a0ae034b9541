/* `exo-install key export`: prints the encryption key, so the operator can
 * keep it apart from the database backups it unlocks. */
#ifndef EXO_KEY_CMD_H
#define EXO_KEY_CMD_H

int key_cmd(int argc, char **argv);

#endif

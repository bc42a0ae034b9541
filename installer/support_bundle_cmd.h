/* `exo-install support-bundle`: its flags (flags.h), the archive it writes
 * and its exit status; support_bundle.c reads the cluster. */
#ifndef EXO_SUPPORT_BUNDLE_CMD_H
#define EXO_SUPPORT_BUNDLE_CMD_H

/* argv[0] is "support-bundle". Returns the process exit status. */
int support_bundle_cmd(int argc, char **argv);

#endif

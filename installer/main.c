/* exo-install: puts an Exo control plane on Kubernetes, or writes its
 * manifests for GitOps. */
#include <stdio.h>
#include <string.h>

#include "install_cmd.h"
#include "key_cmd.h"
#include "status_cmd.h"
#include "support_bundle_cmd.h"
#include "uninstall_cmd.h"
#include "render_cmd.h"
#include "version.h"

static void usage(FILE *f)
{
    fputs("Usage: exo-install COMMAND [flags]\n"
          "\n"
          "Commands:\n"
          "  render     print the Kubernetes manifests (or write them with -o DIR)\n"
          "  install    apply them to the cluster and wait until Exo is ready\n"
          "  status     components, ready counts and conditions of an install\n"
          "  uninstall  delete what install applied, keeping the data unless --purge\n"
          "  key export print the encryption key, to store apart from the backups\n"
          "  key import put an exported key into a namespace, before install\n"
          "  support-bundle  write a .tar.gz for debugging an install, secrets redacted\n"
          "\n"
          "  exo-install COMMAND --help   flags of a command\n"
          "  exo-install --version        print the version\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "render") == 0)
        return render_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "install") == 0)
        return install_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return status_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "uninstall") == 0)
        return uninstall_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "support-bundle") == 0)
        return support_bundle_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "key") == 0)
        return key_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("exo-install %s\n", EXO_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "exo-install: unknown command \"%s\" (see exo-install --help)\n", cmd);
    return 2;
}

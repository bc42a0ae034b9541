#include "install_cmd.h"

#include <stdio.h>

#include "cluster.h"
#include "flags.h"
#include "install.h"
#include "progress.h"

static const char about[] =
    "Puts Exo on the cluster: checks that the API answers and that you may do what\n"
    "is needed, applies the objects `exo-install render` prints with server-side\n"
    "apply (field manager exo-install) in order, waits until everything is ready.\n"
    "Secrets are created only when absent: running install again keeps the\n"
    "encryption key and the Postgres password, and changes nothing when nothing\n"
    "differs. Objects a new rendering no longer has are pruned, never a Secret or a\n"
    "volume. See docs/install.md.\n";

static const char exit_status[] =
    "Exit status: 0 installed (and ready), 1 failed or timed out (what is not ready\n"
    "and why is printed), 2 bad flags (nothing done).\n";

int install_cmd(int argc, char **argv)
{
    flags f;
    flags_init(&f, FLAGS_INSTALL);
    int status = flags_read(&f, argc, argv, about, exit_status);
    if (status >= 0) {
        flags_free(&f);
        return status;
    }
    cluster cl = {.kubeconfig = f.kubeconfig, .context = f.context};
    install_opts io = {.wait = f.wait, .timeout_ms = f.timeout_ms, .skip_db_check = f.skip_db_check};
    exo_err err = EXO_ERR_INIT;
    if (cluster_connect(&cl, &err) < 0) {
        fprintf(stderr, "exo-install install: %s\n", err_msg(&err));
        status = 1;
    } else {
        progress pg;
        progress_init(&pg, stdout);
        status = install_run(&cl, &f, &io, &pg);
        progress_free(&pg);
    }
    cluster_close(&cl);
    err_clear(&err);
    flags_free(&f);
    return status;
}

#include "uninstall_cmd.h"

#include <stdio.h>

#include "cluster.h"
#include "flags.h"
#include "progress.h"
#include "uninstall.h"

static const char about[] =
    "Deletes what exo-install install applied in the namespace: the ExoControlPlane\n"
    "(and with it the backend), the controller, the bundled Postgres, RBAC. Keeps\n"
    "the Secrets (encryption key, passwords), the volumes (database, recordings),\n"
    "the namespace and the CRD, and lists them; install again to get back to where\n"
    "you were.\n";

static const char exit_status[] = "Exit status: 0 done, 1 failed or timed out, 2 bad flags.\n";

int uninstall_cmd(int argc, char **argv)
{
    flags f;
    flags_init(&f, FLAGS_UNINSTALL);
    int status = flags_read(&f, argc, argv, about, exit_status);
    if (status >= 0) {
        flags_free(&f);
        return status;
    }
    cluster cl = {.kubeconfig = f.kubeconfig, .context = f.context};
    exo_err err = EXO_ERR_INIT;
    if (cluster_connect(&cl, &err) < 0) {
        fprintf(stderr, "exo-install uninstall: %s\n", err_msg(&err));
        err_clear(&err);
        flags_free(&f);
        return 1;
    }
    uninstall_opts o = {
        .ns = f.opts.namespace_, .purge = f.purge, .wait = f.wait, .timeout_ms = f.timeout_ms};
    uninstall_report r;
    progress pg;
    progress_init(&pg, stdout);
    status = 0;
    if (uninstall_run(cl.client, &o, &pg, &r, &err) < 0) {
        progress_free(&pg);
        fprintf(stderr, "exo-install uninstall: %s\n", err_msg(&err));
        status = 1;
    } else {
        progress_step(&pg, "done: %d objects deleted from namespace %s", r.deleted, o.ns);
        if (r.kept.len && o.purge)
            printf("Kept: %s (install did not create the namespace)\n", r.kept.ptr);
        else if (r.kept.len)
            printf("Kept (the data; delete with --purge, which cannot be undone): %s\n",
                   r.kept.ptr);
    }
    progress_free(&pg);
    buf_free(&r.kept);
    err_clear(&err);
    cluster_close(&cl);
    flags_free(&f);
    return status;
}

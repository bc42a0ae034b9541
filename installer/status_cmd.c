#include "status_cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "cluster.h"
#include "flags.h"
#include "status.h"

static const char about[] =
    "Shows the components of the Exo install in a namespace with their ready counts,\n"
    "the volumes, and the conditions of the ExoControlPlane. Reads only.\n";

static const char exit_status[] =
    "Exit status: 0 ready, 1 installed but not ready, not installed, or the cluster\n"
    "could not be read, 2 bad flags.\n";

int status_cmd(int argc, char **argv)
{
    flags f;
    flags_init(&f, FLAGS_STATUS);
    int status = flags_read(&f, argc, argv, about, exit_status);
    if (status >= 0) {
        flags_free(&f);
        return status;
    }
    cluster cl = {.kubeconfig = f.kubeconfig, .context = f.context};
    exo_err err = EXO_ERR_INIT;
    cJSON *s = NULL;
    bool ready = false;
    status = 1;
    if (cluster_connect(&cl, &err) < 0) {
        fprintf(stderr, "exo-install status: %s\n", err_msg(&err));
        goto out;
    }
    s = cJSON_CreateObject();
    if (status_collect(cl.client, f.opts.namespace_, s, &ready, &err) < 0) {
        fprintf(stderr, "exo-install status: %s\n", err_msg(&err));
        goto out;
    }
    if (f.json) {
        char *text = cJSON_Print(s);
        puts(text);
        free(text);
    } else {
        status_print_table(stdout, s);
    }
    status = ready ? 0 : 1;
out:
    cJSON_Delete(s);
    err_clear(&err);
    cluster_close(&cl);
    flags_free(&f);
    return status;
}

#include "render_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dsn.h"
#include "flags.h"
#include "render.h"
#include "render_compose.h"
#include "render_output.h"

static const char about[] =
    "Prints every Kubernetes object of an Exo control plane as one YAML stream, in\n"
    "apply order, for kubectl apply or a GitOps repository. The same flags always\n"
    "give the same bytes; no Secret values are printed unless --include-secrets.\n";

static const char exit_status[] =
    "Exit status: 0 done, 1 could not write, 2 bad flags (nothing written).\n";

/* Says on stderr what a user must know about the output, without values. */
static void warn_about_secrets(const flags *a)
{
    const render_opts *o = &a->opts;
    if (o->include_secrets && a->compose)
        fprintf(stderr, "warning: --include-secrets: the generated encryption key is in "
                        "%s/.env (mode 0600); back it up separately from the database\n",
                a->output_dir);
    else if (o->include_secrets)
        fprintf(stderr, "warning: --include-secrets: the output holds generated passwords and "
                        "the encryption key; keep it out of Git and back the key up separately\n");
    if (a->db_dsn) {
        const dsn *d = a->db_dsn;
        if (o->include_secrets && dsn_get(d, "password") && !a->compose)
            fprintf(stderr, "warning: the exo-database Secret holds the --db-dsn password; keep "
                            "this output out of Git (docs/gitops.md)\n");
        else if (!o->include_secrets && !a->compose)
            fprintf(stderr, "note: Secret exo-database (key dsn, the DSN) is not in the output: "
                            "provide it out of band, or add --include-secrets "
                            "(docs/gitops.md)\n");
        if (o->db_ca_pem) {
            /* A DSN without sslmode is verified as verify-full
             * (pg_connect.h). Given a CA, libpq's require checks it but not
             * the server's name (as verify-ca); disable, allow and prefer
             * check no certificate. */
            const char *mode = dsn_get(d, "sslmode");
            if (mode && strcmp(mode, "require") == 0)
                fprintf(stderr, "warning: --db-ca-file: with sslmode=require the CA is checked "
                                "but not the server's name; use sslmode=verify-full\n");
            else if (mode && strncmp(mode, "verify-", 7) != 0)
                fprintf(stderr, "warning: --db-ca-file is not used with sslmode=%s: no "
                                "certificate is checked; use sslmode=verify-full\n",
                        mode);
        }
    }
}

int render_cmd(int argc, char **argv)
{
    flags f;
    flags_init(&f, FLAGS_RENDER);
    int status = flags_read(&f, argc, argv, about, exit_status);
    if (status >= 0) {
        flags_free(&f);
        return status;
    }
    exo_err err = EXO_ERR_INIT;
    cJSON *docs = NULL;
    int rc;
    if (f.compose)
        rc = render_compose(&docs, &f.opts, f.publish, &err);
    else
        rc = render_objects(&docs, &f.opts, &err);
    if (rc == 0 && f.compose)
        rc = f.output_dir ? render_compose_write(f.output_dir, docs, &f.opts, &err)
                          : render_output_doc(stdout, docs, &err);
    else if (rc == 0)
        rc = f.output_dir ? render_output_dir(f.output_dir, docs, &err)
                          : render_output_stream(stdout, docs, &err);
    if (rc < 0)
        fprintf(stderr, "exo-install render: %s\n", err_msg(&err));
    else
        warn_about_secrets(&f);
    cJSON_Delete(docs);
    flags_free(&f);
    err_clear(&err);
    return rc < 0 ? 1 : 0;
}

#include "render_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dsn.h"
#include "render.h"
#include "render_compose.h"
#include "render_flags.h"
#include "render_output.h"
#include "version.h"

#define DEFAULT_PUBLISH "127.0.0.1:8080"

static void usage(FILE *f)
{
    fputs(
            "Usage: exo-install render [flags]\n"
            "\n"
            "Prints every Kubernetes object of an Exo control plane as one YAML stream, in\n"
            "apply order, for kubectl apply or a GitOps repository. The same flags always\n"
            "give the same bytes; no Secret values are printed unless --include-secrets.\n"
            "\n"
            "Flags:\n"
            "      --format yaml|compose       Kubernetes manifests, or a Docker Compose file for\n"
            "                                  evaluation on one machine (default yaml)\n"
            "  -o, --output-dir DIR            write one file per object and a kustomization.yaml\n"
            "                                  into DIR instead of printing (compose: DIR/compose.yaml,\n"
            "                                  and DIR/.env once with --include-secrets)\n",
          f);
    render_flags_usage(f);
    fprintf(f,
            "      --include-secrets           also print the Secrets, with freshly generated\n"
            "                                  passwords and encryption key: keep such output\n"
            "                                  out of Git (compose: write them to DIR/.env)\n"
            "      --publish HOST:PORT         compose only: where the backend's HTTP port is\n"
            "                                  published (default %s)\n"
            "      --help                      show this help\n"
            "      --version                   print the version\n"
            "\n"
            "Exit status: 0 done, 1 could not write, 2 bad flags (nothing written).\n",
            DEFAULT_PUBLISH);
}

/* Says on stderr what a user must know about the output, without values. */
static void warn_about_secrets(const render_args *a)
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
        if (dsn_get(d, "password") && !a->compose)
            fprintf(stderr, "warning: the exo-database Secret holds the --db-dsn password; keep "
                            "this output out of Git (docs/gitops.md)\n");
        if (o->db_ca_pem) {
            const char *mode = dsn_get(d, "sslmode");
            if (!mode || strncmp(mode, "verify-", 7) != 0)
                fprintf(stderr, "warning: --db-ca-file is only used with sslmode=verify-full or "
                                "verify-ca; the DSN has sslmode=%s\n",
                        mode ? mode : "prefer");
        }
    }
}

int render_cmd(int argc, char **argv)
{
    render_args a;
    render_args_init(&a, "render", false);
    exo_err err = EXO_ERR_INIT;
    bool help = false, version = false;
    cJSON *docs = NULL;
    int rc;
    int status = 2;

    if (render_flags_parse(&a, argc, argv, NULL, NULL, NULL, &help, &version, &err) < 0 ||
        (!help && !version && render_flags_check(&a, &err) < 0)) {
        fprintf(stderr, "exo-install render: %s\n", err_msg(&err));
        goto out;
    }
    if (help || version) {
        if (help)
            usage(stdout);
        else
            printf("exo-install %s\n", EXO_VERSION);
        status = 0;
        goto out;
    }
    status = 1;
    if (a.compose)
        rc = render_compose(&docs, &a.opts, a.publish ? a.publish : DEFAULT_PUBLISH, &err);
    else
        rc = render_objects(&docs, &a.opts, &err);
    if (rc == 0 && a.compose)
        rc = a.output_dir ? render_compose_write(a.output_dir, docs, &a.opts, &err)
                          : render_output_doc(stdout, docs, &err);
    else if (rc == 0)
        rc = a.output_dir ? render_output_dir(a.output_dir, docs, &err)
                          : render_output_stream(stdout, docs, &err);
    if (rc < 0) {
        fprintf(stderr, "exo-install render: %s\n", err_msg(&err));
        goto out;
    }
    warn_about_secrets(&a);
    status = 0;
out:
    cJSON_Delete(docs);
    render_args_free(&a);
    err_clear(&err);
    return status;
}

#include "install_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "install.h"
#include "progress.h"
#include "render_flags.h"
#include "version.h"

#define DEFAULT_TIMEOUT_MS (10L * 60 * 1000)

enum {
    OPT_WAIT = OPT_EXTRA,
    OPT_TIMEOUT,
    OPT_SKIP_DB_CHECK,
};

static const struct option options[] = {
    CLUSTER_OPTIONS,
    {"wait", optional_argument, NULL, OPT_WAIT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"skip-db-check", no_argument, NULL, OPT_SKIP_DB_CHECK},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fputs("Usage: exo-install install [flags]\n"
          "\n"
          "Puts Exo on the cluster: checks that the API answers and that you may do what\n"
          "is needed, applies the objects `exo-install render` prints with server-side\n"
          "apply (field manager exo-install) in order, waits until everything is ready.\n"
          "Secrets are created only when absent: running install again keeps the\n"
          "encryption key and the Postgres password, and changes nothing when nothing\n"
          "differs. Objects a new rendering no longer has are pruned, never a Secret or a\n"
          "volume. See docs/install.md.\n"
          "\n"
          "Flags:\n",
          f);
    render_flags_usage(f);
    fputs(CLUSTER_USAGE
          "      --wait=true|false           wait until PostgreSQL, the controller and the\n"
          "                                  ExoControlPlane are ready (default true)\n"
          "      --timeout DURATION          give up after this long, e.g. 90s, 10m (default 10m)\n"
          "      --skip-db-check             with --postgres=false: do not connect to the\n"
          "                                  managed database from here before installing\n"
          "      --help                      show this help\n"
          "      --version                   print the version\n"
          "\n"
          "Exit status: 0 installed (and ready), 1 failed or timed out (what is not ready\n"
          "and why is printed), 2 bad flags (nothing done).\n",
          f);
}

typedef struct {
    cluster cl;
    install_opts io;
} install_flags;

static int on_flag(void *ctx, int opt, const char *arg, exo_err *err)
{
    install_flags *f = ctx;
    if (cluster_flag(&f->cl, opt, arg))
        return 0;
    switch (opt) {
    case OPT_WAIT:
        if (!arg || strcmp(arg, "true") == 0)
            f->io.wait = true;
        else if (strcmp(arg, "false") == 0)
            f->io.wait = false;
        else
            return err_set(err, "--wait=\"%s\": want true or false", arg);
        return 0;
    case OPT_TIMEOUT:
        if (cluster_parse_duration(arg, &f->io.timeout_ms) < 0)
            return err_set(err, "--timeout \"%s\": want a duration such as 90s, 10m or 1h30m "
                                "(at most a week)",
                           arg);
        return 0;
    case OPT_SKIP_DB_CHECK:
        f->io.skip_db_check = true;
        return 0;
    default:
        return err_set(err, "internal: unhandled flag %d", opt);
    }
}

int install_cmd(int argc, char **argv)
{
    render_args a;
    render_args_init(&a, "install", true);
    install_flags f = {.io = {.wait = true, .timeout_ms = DEFAULT_TIMEOUT_MS}};
    exo_err err = EXO_ERR_INIT;
    bool help = false, version = false;
    int status = 2;
    if (render_flags_parse(&a, argc, argv, options, on_flag, &f, &help, &version, &err) < 0 ||
        (!help && !version && render_flags_check(&a, &err) < 0)) {
        fprintf(stderr, "exo-install install: %s\n", err_msg(&err));
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
    if (f.io.skip_db_check && a.opts.bundled_postgres) {
        fprintf(stderr, "exo-install install: --skip-db-check is for a managed database "
                        "(--postgres=false)\n");
        goto out;
    }
    status = 1;
    if (cluster_connect(&f.cl, &err) < 0) {
        fprintf(stderr, "exo-install install: %s\n", err_msg(&err));
        goto out;
    }
    progress pg;
    progress_init(&pg, stdout);
    status = install_run(&f.cl, &a, &f.io, &pg);
    progress_free(&pg);
    cluster_close(&f.cl);
out:
    err_clear(&err);
    render_args_free(&a);
    return status;
}

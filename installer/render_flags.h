/* The flags that choose what is rendered, shared by `render` and
 * `install` (one rendering path: both produce the same objects from the
 * same flags). */
#ifndef EXO_RENDER_FLAGS_H
#define EXO_RENDER_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "dsn.h"
#include "err.h"
#include "render.h"

enum {
    OPT_NAMESPACE = 256,
    OPT_POSTGRES,
    OPT_DB_DSN,
    OPT_DB_CA_FILE,
    OPT_STORAGE_CLASS,
    OPT_CAST_SIZE,
    OPT_CAST_ACCESS_MODE,
    OPT_PG_SIZE,
    OPT_BACKEND_IMAGE,
    OPT_CONTROLLER_IMAGE,
    OPT_REPLICAS,
    OPT_RETENTION,
    OPT_INCLUDE_SECRETS,
    OPT_FORMAT,
    OPT_PUBLISH,
    OPT_HELP,
    OPT_VERSION,
    OPT_LAST,
    /* A command's own flags take values from here on. */
    OPT_EXTRA = 512,
};

/* Everything parsing allocates, freed in one place. */
typedef struct {
    render_opts opts;
    const char *command;  /* "render", "install": for messages */
    bool for_install;     /* no --format, -o, --include-secrets, --publish */
    const char *output_dir;
    bool compose;
    const char *publish;
    const char *ca_file;  /* the path of --db-ca-file */
    /* --db-dsn parsed, by render_flags_check; NULL without one. Where the
     * DSN is looked into or connected to, this is what is used; the text
     * (opts.db_dsn) is what goes into the Secret, byte for byte. */
    dsn *db_dsn;
    bool given[OPT_LAST]; /* which long flags were on the command line */
    char *cast_size;
    char *pg_size;
    char *ca_pem;
} render_args;

/* A command's own flag (val >= OPT_EXTRA); returns 0 or -1 with err set. */
typedef int (*render_extra_flag)(void *ctx, int opt, const char *arg, exo_err *err);

/* Sets the defaults; command names the subcommand in messages. */
void render_args_init(render_args *a, const char *command, bool for_install);
void render_args_free(render_args *a);

/* Parses argv (argv[0] is the subcommand). extra (NULL-terminated, may be
 * NULL) are the command's own long flags, handed to on_extra. Stops at
 * --help or --version with *help or *version set. */
int render_flags_parse(render_args *a, int argc, char **argv, const struct option *extra,
                       render_extra_flag on_extra, void *ctx, bool *help, bool *version,
                       exo_err *err);

/* Rules between flags, checked once all are read; parses --db-dsn into
 * a->db_dsn (freed by render_args_free). */
int render_flags_check(render_args *a, exo_err *err);

/* The --help lines of the flags both commands share. */
void render_flags_usage(FILE *f);

#endif

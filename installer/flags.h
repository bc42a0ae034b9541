/* exo-install's command line: one table of every flag of every subcommand
 * (which subcommands take it and its --help lines), one parser with one
 * wording of errors, one shape of usage text. A flag that two subcommands
 * share is read, checked and described the same way in both; `render` and
 * `install` share every flag that chooses what is rendered (one rendering
 * path: both produce the same objects from the same flags). */
#ifndef EXO_FLAGS_H
#define EXO_FLAGS_H

#include <stdbool.h>
#include <stdio.h>

#include "dsn.h"
#include "err.h"
#include "render.h"

/* The subcommands, as bits: a flag names those that take it. */
typedef enum {
    FLAGS_RENDER = 1 << 0,
    FLAGS_INSTALL = 1 << 1,
    FLAGS_STATUS = 1 << 2,
    FLAGS_UNINSTALL = 1 << 3,
    FLAGS_KEY_EXPORT = 1 << 4,
    FLAGS_KEY_IMPORT = 1 << 5,
    FLAGS_SUPPORT_BUNDLE = 1 << 6,
} flags_command;

/* Every flag; above any character getopt returns. */
typedef enum {
    FLAG_FORMAT = 256,
    FLAG_OUTPUT_DIR,
    FLAG_NAMESPACE,
    FLAG_OUTPUT,
    FLAG_POSTGRES,
    FLAG_DB_DSN,
    FLAG_DB_CA_FILE,
    FLAG_STORAGE_CLASS,
    FLAG_CAST_SIZE,
    FLAG_CAST_ACCESS_MODE,
    FLAG_PG_SIZE,
    FLAG_BACKEND_IMAGE,
    FLAG_CONTROLLER_IMAGE,
    FLAG_REPLICAS,
    FLAG_RETENTION,
    FLAG_INCLUDE_SECRETS,
    FLAG_PUBLISH,
    FLAG_PURGE,
    FLAG_KUBECONFIG,
    FLAG_CONTEXT,
    FLAG_WAIT,
    FLAG_TIMEOUT,
    FLAG_SKIP_DB_CHECK,
    FLAG_RECIPIENT,
    FLAG_KEY_FILE,
    /* Monitoring (opt-in objects), kept together. */
    FLAG_SERVICE_MONITOR,
    FLAG_PROMETHEUS_RULE,
    FLAG_GRAFANA_DASHBOARD,
    FLAG_RUNBOOK_URL,
    /* support-bundle */
    FLAG_BUNDLE_FILE,
    FLAG_TAIL,
    FLAG_HELP,
    FLAG_VERSION,
    FLAG_LAST,
} flag_id;

/* Every value a subcommand's flags can set, with its defaults. Strings
 * point into argv unless said otherwise; everything parsing allocates is
 * freed by flags_free. */
typedef struct {
    flags_command cmd;
    const char *command;  /* "render", "key export": for messages */
    bool given[FLAG_LAST]; /* which flags were on the command line */
    bool help, version;   /* --help or --version: nothing else was read */
    render_opts opts;     /* what is rendered; opts.namespace_ for every command */
    const char *output_dir;
    bool compose;         /* --format compose */
    const char *publish;  /* where compose publishes the backend's port */
    const char *ca_file;  /* the path of --db-ca-file */
    /* --db-dsn parsed, by flags_check; NULL without one. Where the DSN is
     * looked into or connected to, this is what is used; the text
     * (opts.db_dsn) is what goes into the Secret, byte for byte. Owned. */
    dsn *db_dsn;
    const char *kubeconfig;
    const char *context;
    bool json;            /* status --output json */
    bool purge;
    bool wait;
    long timeout_ms;
    bool skip_db_check;
    const char *recipient; /* key export --recipient: a public key file */
    const char *key_file;  /* key import --key-file: a path, or "-" */
    char *cast_size;      /* owned: canonical quantities */
    char *pg_size;
    char *ca_pem;         /* owned: the contents of --db-ca-file */
    const char *bundle_file; /* support-bundle -o FILE */
    int tail;             /* support-bundle --tail: log lines per container */
} flags;

/* The defaults of cmd (one bit). */
void flags_init(flags *f, flags_command cmd);
void flags_free(flags *f);

/* Parses argv (argv[0] is the subcommand's last word): only the flags cmd
 * takes, each value checked as it is read. Stops at --help or --version
 * with f->help or f->version set. 0, or -1 with one line in err. */
int flags_parse(flags *f, int argc, char **argv, exo_err *err);

/* Rules between flags, checked once all are read. */
int flags_check(flags *f, exo_err *err);

/* The --help text: "Usage: exo-install <command> [flags]", about (whole
 * lines), the lines of every flag the command takes, in the table's order,
 * then exit_status (whole lines). */
void flags_usage(FILE *out, const flags *f, const char *about, const char *exit_status);

/* What every subcommand does first: flags_parse and flags_check, then
 * --help or --version answered. Returns -1 when the command is to run;
 * otherwise the exit status to return at once: 0 after --help (usage on
 * stdout) or --version, 2 after a bad flag ("exo-install <command>:
 * <message>", one line on stderr). */
int flags_read(flags *f, int argc, char **argv, const char *about, const char *exit_status);

#endif

/* What the command files (deployments.c, sessions.c, recordings.c,
 * tokens.c) share: their command lines parsed the same way, ids checked
 * before anything is sent, and answers printed as tables or as the API's
 * JSON. */
#ifndef EXO_CLI_CMD_H
#define EXO_CLI_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli_opts.h"
#include "http_client.h"
#include "table.h"

#define CLI_CMD_MAX_FLAGS 8

/* The exit statuses as a group's help states them. */
#define CLI_EXIT_HELP                                                                              \
    "Exit status: 0 done, 1 the server refused the request or could not be reached,\n"            \
    "2 bad command line (nothing was sent).\n"

/* A command line after parsing. */
typedef struct {
    const char **pos; /* positional words, borrowed from argv; owned array */
    int npos;
    /* The command's own flags: flag[c - CLI_OPT_GLOBAL_LAST] is the value
     * of the option whose code is c, or NULL when not given. */
    const char *flag[CLI_CMD_MAX_FLAGS];
    bool output_given; /* -o/--output came after the command */
    const char *output_arg;
} cli_args;

/* Parses argv (argv[0] the group, e.g. "session") with `options` (the
 * global ones first, then the command's, coded from CLI_OPT_GLOBAL_LAST).
 * Global flags go into o; with `output_is_file` -o/--output is kept in
 * a->output_arg instead. 0, or CLI_EXIT_USAGE after the error line.
 * Free with cli_args_free, also after a failure. */
int cli_args_parse(cli_args *a, int argc, char **argv, cli_opts *o, const struct option *options,
                   const char *help_cmd, bool output_is_file);
void cli_args_free(cli_args *a);

/* A command group: `exo <name> SUBCOMMAND ...`. */
typedef struct {
    const char *name;               /* "session" */
    const struct option *options;   /* the global ones first, then the group's */
    void (*usage)(FILE *f);         /* its --help */
    const char *subcommands;        /* "list or get", for the missing-command error */
    bool output_is_file;            /* -o/--output after the group names a file */
    int (*run)(const cli_args *a, cli_opts *o); /* a->pos[0] is the subcommand */
} cli_group;

/* Parses the group's command line, prints its help for --help, refuses a
 * missing subcommand, else runs it. Returns the exit status. */
int cli_group_main(const cli_group *g, int argc, char **argv, cli_opts *o);

/* Usage error unless the subcommand a->pos[0] has exactly n arguments;
 * `what` names the missing one. */
int cli_args_want(const cli_args *a, const char *group, int n, const char *what);

/* Usage error for a flag given to a subcommand that does not take it. */
int cli_only_for(const char *flag, const char *value, const char *group, const char *sub,
                 const char *owner);

/* Checks that id is a positive whole number of at most 18 digits (so it
 * needs no escaping in a URL); else the usage error naming `what`. */
int cli_check_id(const char *what, const char *id);

/* "2024-05-01T12:34:56.123456Z" as "2024-05-01 12:34:56 UTC"; anything
 * else as it came. */
void cli_format_time(buf *out, const char *t);

/* The value of a number or string field as text for a cell; `null_text`
 * for null or absent. */
void cli_cell(buf *out, const cJSON *obj, const char *name, const char *null_text);

/* Fills one row from an object; -1 when it lacks what the table needs. */
typedef int (*cli_row_fn)(table *t, const cJSON *item);

typedef struct {
    const char *const *headers;
    int ncols;
    cli_row_fn row;
    const char *what;  /* "deployment", for "is not a deployment" */
    const char *empty; /* "No deployments." */
} cli_view;

/* Prints a 2xx answer: its bytes for json output, else a table of the
 * object (list_key NULL) or of the array under list_key. Returns the exit
 * status. */
int cli_print(const cli_opts *o, const http_reply *r, const char *list_key, const cli_view *v);

/* Sends one request and prints its answer with cli_print; prints the
 * error line when it fails. `note`: a line printed on stderr after a
 * table when the answer's next_cursor is set (list commands). */
int cli_call_and_print(const cli_opts *o, const char *method, const char *path,
                       const cJSON *body, const char *list_key, const cli_view *v);

/* Appends "?name=value" or "&name=value", the value URL-escaped. */
void cli_query_add(buf *path, const char *name, const char *value);

#endif

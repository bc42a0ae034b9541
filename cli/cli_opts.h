/* The flags every exo command takes (--url, --token, --output, --timeout,
 * --insecure), their defaults from the environment, and the exit statuses
 * and usage-error line shared by main.c and the command files. */
#ifndef EXO_CLI_OPTS_H
#define EXO_CLI_OPTS_H

#include <getopt.h>
#include <stdbool.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* the server refused, or could not be reached */
#define CLI_EXIT_USAGE 2 /* bad command line: nothing was sent */

#define CLI_DEFAULT_URL "http://127.0.0.1:8080"
#define CLI_DEFAULT_TIMEOUT 10
#define CLI_MAX_TIMEOUT 3600

typedef enum { CLI_OUTPUT_TABLE, CLI_OUTPUT_JSON } cli_output;

/* Where a setting came from, so that a message can name what to fix. */
typedef enum { CLI_FROM_DEFAULT, CLI_FROM_ENV, CLI_FROM_FLAG } cli_source;

typedef struct {
    const char *url;   /* borrowed from argv or the environment */
    const char *token; /* borrowed; NULL when none was given; never printed */
    cli_source url_from, token_from;
    cli_output output;
    long timeout; /* seconds, for the whole request */
    bool insecure;
    bool help;
} cli_opts;

/* Codes of the global long options, above any character getopt returns. */
enum {
    CLI_OPT_URL = 256,
    CLI_OPT_TOKEN,
    CLI_OPT_OUTPUT,
    CLI_OPT_TIMEOUT,
    CLI_OPT_INSECURE,
    CLI_OPT_GLOBAL_LAST, /* command files number their own options from here */
};

/* The global options as struct option entries, for the start of a
 * command's table (getopt_long needs one array). */
#define CLI_GLOBAL_OPTIONS                                                                         \
    {"url", required_argument, NULL, CLI_OPT_URL},                                                 \
        {"token", required_argument, NULL, CLI_OPT_TOKEN},                                         \
        {"output", required_argument, NULL, 'o'},                                                  \
        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                                     \
        {"insecure", no_argument, NULL, CLI_OPT_INSECURE}, {"help", no_argument, NULL, 'h'}

/* The short options every command accepts; ':' first so that a missing
 * value comes back as ':' and the message is ours. */
#define CLI_SHORT_OPTIONS ":ho:"

/* The global flags' help lines, shared by every usage text. */
#define CLI_GLOBAL_HELP                                                                            \
    "Global flags (before or after the command):\n"                                                \
    "      --url URL              the Exo API (default $EXO_URL, else " CLI_DEFAULT_URL ")\n"      \
    "      --token TOKEN          bearer token (default $EXO_TOKEN; prefer the variable:\n"        \
    "                             flags show up in ps and shell history)\n"                        \
    "  -o, --output table|json    table for people (default), or the API's JSON as\n"              \
    "                             received, for scripts\n"                                         \
    "      --timeout SECONDS      give up on a request after this long, 1 to 3600\n"               \
    "                             (default 10)\n"                                                  \
    "      --insecure             do not verify the server's TLS certificate (testing only;\n"     \
    "                             prints a warning)\n"                                             \
    "  -h, --help                 show help\n"

/* Defaults: EXO_URL, EXO_TOKEN, then the built-in ones. */
void cli_opts_init(cli_opts *o);

/* Applies one global option as getopt_long returned it. Returns 1 when
 * `opt` is a global option and was applied, 0 when it is not one, and -1
 * (after printing the error line) when its value is bad. */
int cli_opts_apply(cli_opts *o, int opt, const char *arg);

/* Checks what only makes sense once every flag is in (the URL's scheme, a
 * token that fits in a header). Prints the error line and returns
 * CLI_EXIT_USAGE, or returns 0. Also prints the --insecure warning. */
int cli_opts_finish(cli_opts *o);

/* Prints "exo: <message>" on stderr as one line; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The usage error for getopt_long's '?' or ':' answer, naming the flag as
 * it was typed. `argv` and `optind` as getopt_long left them. */
int cli_flag_error(int c, char *const *argv, int optind_now, const char *help_cmd);

/* Parses a whole number in [min, max] from text made of digits only (no
 * sign, space or suffix). 0 on success, -1 otherwise. */
int cli_parse_long(const char *s, long min, long max, long *out);

#endif

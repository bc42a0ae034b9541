/* exo: the command-line client of the Exo API. Global flags may come before
 * the command; each command file parses the rest (its own flags and the
 * global ones again, in any order). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_opts.h"
#include "deployments.h"
#include "err.h"
#include "http_client.h"
#include "recordings.h"
#include "sessions.h"
#include "tokens.h"
#include "version.h"
#include "xalloc.h"

enum { OPT_VERSION = CLI_OPT_GLOBAL_LAST };

static const struct option options[] = {
    CLI_GLOBAL_OPTIONS,
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fputs("Usage: exo [flags] COMMAND [ARGS] [flags]\n"
          "\n"
          "The command-line client of the Exo API (exo-backend serve).\n"
          "\n"
          "Commands:\n"
          "  deployment list                   list every deployment\n"
          "  deployment create NAME [--retention-days N|default]\n"
          "                                    create a deployment\n"
          "  deployment get ID                 show one deployment\n"
          "  deployment retention ID --days N|default\n"
          "                                    set how many days (1 to 36500) of events a\n"
          "                                    deployment keeps, or the server's default\n"
          "  session list [--deployment ID] [--since TIME] [--until TIME] [--limit N]\n"
          "               [--cursor C]         list sessions, newest first, a page at a time\n"
          "  session get ID                    show one session\n"
          "  recording upload SESSION FILE     store FILE as the session's recording\n"
          "  recording download SESSION [-o FILE]\n"
          "                                    write the session's recording to FILE or stdout\n"
          "  token create [--name NAME] [--expires-in DURATION] [--user ID]\n"
          "                                    make an API token (printed once)\n"
          "  token list [--limit N] [--cursor C]\n"
          "                                    list tokens, never their secret\n"
          "  token revoke ID                   revoke a token\n"
          "\n" CLI_GLOBAL_HELP "      --version              print the version\n"
          "\n"
          "Environment: EXO_URL, EXO_TOKEN (a flag wins over its variable).\n"
          "Exit status: 0 done, 1 the server refused the request or could not be reached,\n"
          "2 bad command line (nothing was sent).\n"
          "\n"
          "exo deployment|session|recording|token --help shows a command's details;\n"
          "docs/cli.md has examples.\n",
          f);
}

/* Flushes stdout and reports a failed write (a full disk, a closed pipe):
 * output that silently went missing must not exit 0. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "exo: cannot write the output: %s\n", strerror(errno));
        return rc ? rc : CLI_EXIT_FAIL;
    }
    return rc;
}

static int dispatch(int argc, char **argv)
{
    cli_opts o;
    cli_opts_init(&o);
    /* "+": stop at the command; what follows is the command's to parse. */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+" CLI_SHORT_OPTIONS, options, NULL)) != -1) {
        int applied = cli_opts_apply(&o, c, optarg);
        if (applied < 0)
            return CLI_EXIT_USAGE;
        if (applied)
            continue;
        if (c == OPT_VERSION) {
            printf("exo %s\n", EXO_VERSION);
            return CLI_EXIT_OK;
        }
        return cli_flag_error(c, argv, optind, "exo");
    }
    if (o.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (optind == argc)
        return cli_usage_error("missing COMMAND (see exo --help)");
    const char *cmd = argv[optind];
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("exo %s\n", EXO_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "deployment") == 0)
        return deployments_main(argc - optind, argv + optind, &o);
    if (strcmp(cmd, "session") == 0)
        return sessions_main(argc - optind, argv + optind, &o);
    if (strcmp(cmd, "recording") == 0)
        return recordings_main(argc - optind, argv + optind, &o);
    if (strcmp(cmd, "token") == 0)
        return tokens_main(argc - optind, argv + optind, &o);
    return cli_usage_error("unknown command \"%s\" (see exo --help)", cmd);
}

int main(int argc, char **argv)
{
    /* cJSON's allocations abort on out of memory like ours, so no caller
     * has to check for a NULL tree. */
    cJSON_Hooks hooks = {xmalloc, free};
    cJSON_InitHooks(&hooks);
    exo_err e = EXO_ERR_INIT;
    if (http_client_global_init(&e) < 0) {
        fprintf(stderr, "exo: %s\n", err_msg(&e));
        err_clear(&e);
        return CLI_EXIT_FAIL;
    }
    int rc = finish_output(dispatch(argc, argv));
    http_client_global_cleanup();
    return rc;
}

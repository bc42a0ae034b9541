/* exo-backend: owns the Exo control plane's PostgreSQL schema (boot
 * migrations, encryption keyring, monthly partitions, retention) and serves
 * its health endpoints. This file reads the command line and dispatches;
 * each command's body lives with its module (serve.c, migrate.c,
 * maintain.c, keyring_cmd.c, healthcheck.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "backend_env.h"
#include "config.h"
#include "healthcheck.h"
#include "keyring_cmd.h"
#include "maintain.h"
#include "migrate.h"
#include "rfc3339.h"
#include "serve.h"
#include "version.h"

static void usage(FILE *f)
{
    fputs("Usage: exo-backend COMMAND\n"
          "\n"
          "Commands:\n"
          "  serve                  boot (migrate, keyring, partitions), serve /healthz and\n"
          "                         /readyz on EXO_HTTP_ADDR, run maintenance every\n"
          "                         EXO_MAINTENANCE_INTERVAL until SIGTERM (the default)\n"
          "  migrate [--now TIME]   boot and one maintenance pass as of TIME (RFC 3339;\n"
          "                         default now), exit\n"
          "  maintain [--now TIME]  one maintenance pass as of TIME (RFC 3339; default now)\n"
          "  keyring verify         check EXO_ENCRYPTION_KEY and that every value decrypts\n"
          "  keyring rotate         add a data key, make it active, re-encrypt old values\n"
          "  healthcheck            exit 0 when /readyz on EXO_HTTP_ADDR answers 200 (for\n"
          "                         container healthchecks; images carry no curl)\n"
          "  --version              print the version\n"
          "\n",
          f);
    contract_env_usage(f);
}

/* Prints a command's result as one JSON line on stdout. */
static void print_result(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("exo-backend %s\n", EXO_VERSION);
        return 0;
    }
    if (strcmp(cmd, "healthcheck") == 0)
        return healthcheck_run(getenv("EXO_HTTP_ADDR"));
    time_t now = time(NULL);
    const char *action = NULL;
    if (strcmp(cmd, "maintain") == 0 || strcmp(cmd, "migrate") == 0) {
        static const struct option opts[] = {{"now", required_argument, NULL, 'n'}, {0}};
        int o;
        opterr = 0;
        optind = 2;
        while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
            if (o != 'n' || !rfc3339_parse(optarg, &now)) {
                fprintf(stderr, "exo-backend %s: %s\n", cmd,
                        o == 'n' ? "--now: want an RFC 3339 time such as 2027-01-15T10:00:00Z"
                                 : "unknown flag (see exo-backend --help)");
                return 2;
            }
        }
        if (optind < argc) {
            fprintf(stderr, "exo-backend %s: unexpected argument \"%s\"\n", cmd, argv[optind]);
            return 2;
        }
    } else if (strcmp(cmd, "keyring") == 0) {
        action = argc == 3 ? argv[2] : "";
        if (strcmp(action, "verify") != 0 && strcmp(action, "rotate") != 0) {
            fprintf(stderr, "exo-backend keyring: want verify or rotate\n");
            return 2;
        }
    } else if (strcmp(cmd, "serve") != 0 || argc > 2) {
        fprintf(stderr, "exo-backend: unknown command \"%s\" (see exo-backend --help)\n",
                argc > 2 && strcmp(cmd, "serve") == 0 ? argv[2] : cmd);
        return 2;
    }

    backend_config cfg;
    exo_err err = EXO_ERR_INIT;
    cJSON *report = NULL;
    int rc = config_load(&cfg, strcmp(cmd, "maintain") != 0, &err);
    if (rc == 0) {
        if (strcmp(cmd, "migrate") == 0)
            rc = migrate_run(&cfg, now, &report, &err);
        else if (strcmp(cmd, "maintain") == 0)
            rc = maintain_run(&cfg, now, &report, &err);
        else if (action && strcmp(action, "rotate") == 0)
            rc = keyring_cmd_rotate(&cfg, &report, &err);
        else if (action)
            rc = keyring_cmd_verify(&cfg, &report, &err);
        else
            rc = serve_run(&cfg, &err);
    }
    if (report)
        print_result(report);
    if (rc < 0)
        fprintf(stderr, "exo-backend %s: %s\n", cmd, err_msg(&err));
    config_free(&cfg);
    err_clear(&err);
    return rc < 0 ? 1 : 0;
}

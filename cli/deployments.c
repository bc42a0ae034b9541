#include "deployments.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli_cmd.h"
#include "table.h"

/* The server's bounds for retention_days and days. */
#define MIN_RETENTION_DAYS 1
#define MAX_RETENTION_DAYS 36500

enum {
    OPT_RETENTION_DAYS = CLI_OPT_GLOBAL_LAST,
    OPT_DAYS,
};

static const struct option options[] = {
    CLI_GLOBAL_OPTIONS,
    {"retention-days", required_argument, NULL, OPT_RETENTION_DAYS},
    {"days", required_argument, NULL, OPT_DAYS},
    {NULL, 0, NULL, 0},
};

void deployments_usage(FILE *f)
{
    fputs("Usage: exo deployment COMMAND [ARGS] [flags]\n"
          "\n"
          "Commands:\n"
          "  list                            list every deployment\n"
          "  create NAME [--retention-days N|default]\n"
          "                                  create a deployment that keeps N days (1 to 36500)\n"
          "                                  of session and audit events; without the flag, or\n"
          "                                  with \"default\", the server's default applies\n"
          "  get ID                          show one deployment\n"
          "  retention ID --days N|default   keep N days (1 to 36500) of a deployment's\n"
          "                                  events, or \"default\": the server's default\n"
          "\n"
          "Each command prints the deployment(s) as a table with the columns ID, NAME,\n"
          "RETENTION (days, or \"default\") and CREATED (UTC), or with --output json the\n"
          "API's JSON object as received: {\"deployments\": [...]} for list, the deployment\n"
          "for the others.\n"
          "\n" CLI_GLOBAL_HELP "\n" CLI_EXIT_HELP,
          f);
}

/* Days for the API: 0 and *null set for "default", else 1..36500. */
static int parse_days(const char *flag, const char *text, long *days, bool *null)
{
    *null = strcmp(text, "default") == 0;
    if (*null)
        return 0;
    if (cli_parse_long(text, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS, days) < 0)
        return cli_usage_error("%s must be a number of days from %d to %d, or \"default\"; not "
                               "\"%s\"",
                               flag, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS, text);
    return 0;
}

/* The API path of one deployment; the id is checked to be digits, so it
 * needs no escaping in the URL. */
static int deployment_path(const char *id, const char *suffix, buf *path)
{
    if (cli_check_id("deployment ID", id))
        return CLI_EXIT_USAGE;
    buf_printf(path, "/api/v1/deployments/%s%s", id, suffix);
    return 0;
}

/* Adds one deployment object as a row; -1 when it lacks a field the table
 * needs (a server of another version, or not the Exo API). */
static int add_deployment(table *t, const cJSON *d)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(d, "retention_days");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(d, "created_at");
    if (!cJSON_IsNumber(id) || !cJSON_IsString(name) || !cJSON_IsString(created) ||
        !(cJSON_IsNull(days) || cJSON_IsNumber(days)))
        return -1;
    buf idt = BUF_INIT, dayt = BUF_INIT, when = BUF_INIT;
    buf_printf(&idt, "%.0f", id->valuedouble);
    if (cJSON_IsNull(days))
        buf_puts(&dayt, "default");
    else
        buf_printf(&dayt, "%.0f %s", days->valuedouble, days->valuedouble == 1 ? "day" : "days");
    cli_format_time(&when, created->valuestring);
    const char *row[] = {idt.ptr, name->valuestring, dayt.ptr, when.ptr};
    table_add_row(t, row);
    buf_free(&idt);
    buf_free(&dayt);
    buf_free(&when);
    return 0;
}

static const char *const headers[] = {"ID", "NAME", "RETENTION", "CREATED"};
static const cli_view view = {headers, 4, add_deployment, "deployment", "No deployments."};

/* Checks the command line, then sends the one request it stands for. */
static int run(const cli_args *a, cli_opts *o)
{
    const char *sub = a->pos[0];
    const char *retention_days = a->flag[OPT_RETENTION_DAYS - CLI_OPT_GLOBAL_LAST];
    const char *days_flag = a->flag[OPT_DAYS - CLI_OPT_GLOBAL_LAST];
    bool list = strcmp(sub, "list") == 0, create = strcmp(sub, "create") == 0;
    bool get = strcmp(sub, "get") == 0, retention = strcmp(sub, "retention") == 0;
    if (!list && !create && !get && !retention)
        return cli_usage_error("unknown command \"deployment %s\" (see exo deployment --help)",
                               sub);
    if (cli_only_for("--retention-days", retention_days, "deployment", sub, "create") ||
        cli_only_for("--days", days_flag, "deployment", sub, "retention"))
        return CLI_EXIT_USAGE;
    if (cli_args_want(a, "deployment", list ? 0 : 1, create ? "NAME" : "ID"))
        return CLI_EXIT_USAGE;

    long days = 0;
    bool null_days = false;
    buf path = BUF_INIT;
    cJSON *body = NULL;
    const char *method = create ? "POST" : retention ? "PUT" : "GET";
    int rc = CLI_EXIT_USAGE;
    if (list) {
        buf_puts(&path, "/api/v1/deployments");
    } else if (create) {
        if (!*a->pos[1]) {
            cli_usage_error("deployment create: NAME is empty");
            goto out;
        }
        if (retention_days && parse_days("--retention-days", retention_days, &days, &null_days))
            goto out;
        buf_puts(&path, "/api/v1/deployments");
        body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "name", a->pos[1]);
        if (days)
            cJSON_AddNumberToObject(body, "retention_days", (double)days);
    } else if (get) {
        if (deployment_path(a->pos[1], "", &path))
            goto out;
    } else {
        if (deployment_path(a->pos[1], "/retention", &path))
            goto out;
        if (!days_flag) {
            cli_usage_error("deployment retention: missing --days N (1 to %d) or --days "
                            "default",
                            MAX_RETENTION_DAYS);
            goto out;
        }
        if (parse_days("--days", days_flag, &days, &null_days))
            goto out;
        body = cJSON_CreateObject();
        if (null_days)
            cJSON_AddNullToObject(body, "days");
        else
            cJSON_AddNumberToObject(body, "days", (double)days);
    }
    if (cli_opts_finish(o))
        goto out;
    rc = cli_call_and_print(o, method, path.ptr, body, list ? "deployments" : NULL, &view);
out:
    cJSON_Delete(body);
    buf_free(&path);
    return rc;
}

int deployments_main(int argc, char **argv, cli_opts *o)
{
    static const cli_group g = {"deployment", options, deployments_usage, "list, create, get or retention",
                                false, run};
    return cli_group_main(&g, argc, argv, o);
}

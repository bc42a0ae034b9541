#include "deployments.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "http_client.h"
#include "table.h"
#include "xalloc.h"

/* The server's bounds for retention_days and days. */
#define MIN_RETENTION_DAYS 1
#define MAX_RETENTION_DAYS 36500
/* Ids are bigints; the server takes at most 18 digits. */
#define MAX_ID_DIGITS 18

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
          "\n" CLI_GLOBAL_HELP "\n"
          "Exit status: 0 done, 1 the server refused the request or could not be reached,\n"
          "2 bad command line (nothing was sent).\n",
          f);
}

/* What the command line asked for, after parsing. */
typedef struct {
    const char **pos; /* positional words, borrowed from argv; owned array */
    int npos;
    const char *retention_days; /* --retention-days, or NULL */
    const char *days;           /* --days, or NULL */
} dep_args;

static int parse_args(int argc, char **argv, cli_opts *o, dep_args *a)
{
    a->pos = xcalloc((size_t)argc + 1, sizeof *a->pos);
    /* "-" first: words come back in order as code 1, so that flags may
     * follow the arguments whatever POSIXLY_CORRECT says. Reset getopt:
     * main.c has used it already. */
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "-" CLI_SHORT_OPTIONS, options, NULL)) != -1) {
        int applied = cli_opts_apply(o, c, optarg);
        if (applied < 0)
            return CLI_EXIT_USAGE;
        if (applied)
            continue;
        switch (c) {
        case 1:
            a->pos[a->npos++] = optarg;
            break;
        case OPT_RETENTION_DAYS:
            a->retention_days = optarg;
            break;
        case OPT_DAYS:
            a->days = optarg;
            break;
        default:
            return cli_flag_error(c, argv, optind, "exo deployment");
        }
    }
    /* After "--" every word is an argument, even one that starts with "-". */
    while (optind < argc)
        a->pos[a->npos++] = argv[optind++];
    return 0;
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
    size_t n = strlen(id);
    if (n == 0 || n > MAX_ID_DIGITS || strspn(id, "0123456789") != n || strspn(id, "0") == n)
        return cli_usage_error("deployment ID must be a positive whole number, not \"%s\"", id);
    buf_printf(path, "/api/v1/deployments/%s%s", id, suffix);
    return 0;
}

/* "2024-05-01T12:34:56.123456Z" as "2024-05-01 12:34:56 UTC"; anything
 * else as it came. */
static void format_time(buf *out, const char *t)
{
    size_t n = strlen(t);
    if (n >= 20 && t[10] == 'T' && t[n - 1] == 'Z' && (t[19] == '.' || t[19] == 'Z'))
        buf_printf(out, "%.10s %.8s UTC", t, t + 11);
    else
        buf_puts(out, t);
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
    format_time(&when, created->valuestring);
    const char *row[] = {idt.ptr, name->valuestring, dayt.ptr, when.ptr};
    table_add_row(t, row);
    buf_free(&idt);
    buf_free(&dayt);
    buf_free(&when);
    return 0;
}

/* Prints a 2xx answer: its bytes for json, else a table of the deployment
 * (list_key NULL) or of the array under list_key. */
static int print_answer(const cli_opts *o, const http_reply *r, const char *list_key)
{
    if (o->output == CLI_OUTPUT_JSON) {
        fwrite(r->body.ptr, 1, r->body.len, stdout);
        if (r->body.len && r->body.ptr[r->body.len - 1] != '\n')
            fputc('\n', stdout);
        return CLI_EXIT_OK;
    }
    static const char *const headers[] = {"ID", "NAME", "RETENTION", "CREATED"};
    int rc = CLI_EXIT_OK;
    table *t = table_new(4, headers);
    const cJSON *items = list_key ? cJSON_GetObjectItemCaseSensitive(r->json, list_key) : NULL;
    if (list_key && !cJSON_IsArray(items)) {
        fprintf(stderr, "exo: the server's answer has no \"%s\" list (is it the Exo API?)\n",
                list_key);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (list_key && !items->child) {
        puts("No deployments.");
        goto out;
    }
    const cJSON *d = list_key ? items->child : r->json;
    for (; d; d = list_key ? d->next : NULL) {
        if (add_deployment(t, d) < 0) {
            fputs("exo: the server's answer is not a deployment (is it the Exo API?)\n", stderr);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
    }
    table_print(t, stdout);
out:
    table_free(t);
    return rc;
}

static int call_and_print(const cli_opts *o, const char *method, const char *path,
                          const cJSON *body, const char *list_key)
{
    http_reply r = HTTP_REPLY_INIT;
    exo_err e = EXO_ERR_INIT;
    int rc;
    if (http_client_call(o, method, path, body, &r, &e) < 0) {
        fprintf(stderr, "exo: %s\n", err_msg(&e));
        rc = CLI_EXIT_FAIL;
    } else {
        rc = print_answer(o, &r, list_key);
    }
    http_reply_free(&r);
    err_clear(&e);
    return rc;
}

/* Refuses a flag given to a command that does not take it. */
static int only_for(const char *flag, const char *value, const char *sub, const char *owner)
{
    if (value && strcmp(sub, owner) != 0)
        return cli_usage_error("%s is only for exo deployment %s", flag, owner);
    return 0;
}

static int want_args(const dep_args *a, int n, const char *what)
{
    if (a->npos - 1 < n)
        return cli_usage_error("deployment %s: missing %s", a->pos[0], what);
    if (a->npos - 1 > n)
        return cli_usage_error("deployment %s: unexpected argument \"%s\"", a->pos[0],
                               a->pos[n + 1]);
    return 0;
}

/* Checks the command line, then sends the one request it stands for. */
static int run(const dep_args *a, cli_opts *o)
{
    const char *sub = a->pos[0];
    bool list = strcmp(sub, "list") == 0, create = strcmp(sub, "create") == 0;
    bool get = strcmp(sub, "get") == 0, retention = strcmp(sub, "retention") == 0;
    if (!list && !create && !get && !retention)
        return cli_usage_error("unknown command \"deployment %s\" (see exo deployment --help)",
                               sub);
    if (only_for("--retention-days", a->retention_days, sub, "create") ||
        only_for("--days", a->days, sub, "retention"))
        return CLI_EXIT_USAGE;
    if (want_args(a, list ? 0 : 1, create ? "NAME" : "ID"))
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
        if (a->retention_days &&
            parse_days("--retention-days", a->retention_days, &days, &null_days))
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
        if (!a->days) {
            cli_usage_error("deployment retention: missing --days N (1 to %d) or --days "
                            "default",
                            MAX_RETENTION_DAYS);
            goto out;
        }
        if (parse_days("--days", a->days, &days, &null_days))
            goto out;
        body = cJSON_CreateObject();
        if (null_days)
            cJSON_AddNullToObject(body, "days");
        else
            cJSON_AddNumberToObject(body, "days", (double)days);
    }
    if (cli_opts_finish(o))
        goto out;
    rc = call_and_print(o, method, path.ptr, body, list ? "deployments" : NULL);
out:
    cJSON_Delete(body);
    buf_free(&path);
    return rc;
}

int deployments_main(int argc, char **argv, cli_opts *o)
{
    dep_args a = {0};
    int rc = parse_args(argc, argv, o, &a);
    if (rc)
        goto out;
    if (o->help) {
        deployments_usage(stdout);
        goto out;
    }
    if (a.npos == 0) {
        rc = cli_usage_error("deployment: missing COMMAND: list, create, get or retention "
                             "(see exo deployment --help)");
        goto out;
    }
    rc = run(&a, o);
out:
    free(a.pos);
    return rc;
}

#include "tokens.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli_cmd.h"
#include "duration.h"
#include "table.h"

/* The server's bounds: a token lives at most 3650 days; pages of 1 to
 * 1000. */
#define MAX_DAYS 3650
#define MAX_LIMIT 1000

enum {
    OPT_USER = CLI_OPT_GLOBAL_LAST,
    OPT_NAME,
    OPT_EXPIRES_IN,
    OPT_LIMIT,
    OPT_CURSOR,
};

static const struct option options[] = {
    CLI_GLOBAL_OPTIONS,
    {"user", required_argument, NULL, OPT_USER},
    {"name", required_argument, NULL, OPT_NAME},
    {"expires-in", required_argument, NULL, OPT_EXPIRES_IN},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"cursor", required_argument, NULL, OPT_CURSOR},
    {NULL, 0, NULL, 0},
};

void tokens_usage(FILE *f)
{
    fputs("Usage: exo token COMMAND [ARGS] [flags]\n"
          "\n"
          "Commands:\n"
          "  create [--name NAME] [--expires-in DURATION] [--user ID]\n"
          "                                  make a token for yourself, or (admins) for user\n"
          "                                  ID; it is printed once, in the TOKEN column.\n"
          "                                  DURATION: 90d (whole days) or 720h, 30m, 1h30m;\n"
          "                                  1s to 3650 days; without it the token never\n"
          "                                  expires\n"
          "  list [--limit N] [--cursor C]   your tokens (an admin's: everyone's), newest\n"
          "                                  first, one page of N (1 to 1000, default 100);\n"
          "                                  never a token itself\n"
          "  revoke ID                       revoke a token: refused from its next request\n"
          "                                  on; the audit log records who revoked it\n"
          "\n"
          "Tables: create has the columns ID, USER, NAME, EXPIRES, TOKEN; list ID, USER,\n"
          "NAME, CREATED, EXPIRES, LAST USED (UTC; \"never\", and \"(expired)\" after an\n"
          "expiry that has passed); revoke ID, USER, NAME, REVOKED. With --output json:\n"
          "the API's JSON object as received.\n"
          "\n" CLI_GLOBAL_HELP "\n" CLI_EXIT_HELP,
          f);
}

static const char *flag(const cli_args *a, int code)
{
    return a->flag[code - CLI_OPT_GLOBAL_LAST];
}

/* A time cell: "never" for null. */
static void time_cell(buf *out, const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v))
        cli_format_time(out, v->valuestring);
    else
        buf_puts(out, "never");
}

/* Cells of the columns named (ID, USER, NAME, then `times`), as one row. */
static int add_row(table *t, const cJSON *o, const char *const *times, int ntimes,
                   const char *last)
{
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "id")) ||
        !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "user_id")))
        return -1;
    buf cells[7];
    const char *row[7];
    int n = 0;
    for (int i = 0; i < 7; i++)
        cells[i] = (buf)BUF_INIT;
    cli_cell(&cells[n++], o, "id", "");
    cli_cell(&cells[n++], o, "user_id", "");
    cli_cell(&cells[n++], o, "name", "");
    for (int i = 0; i < ntimes; i++) {
        time_cell(&cells[n], o, times[i]);
        if (strcmp(times[i], "expires_at") == 0 &&
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "expired")))
            buf_puts(&cells[n], " (expired)");
        n++;
    }
    if (last)
        cli_cell(&cells[n++], o, last, "");
    for (int i = 0; i < n; i++)
        row[i] = cells[i].ptr;
    table_add_row(t, row);
    for (int i = 0; i < 7; i++)
        buf_free(&cells[i]);
    return 0;
}

static int add_created(table *t, const cJSON *o)
{
    static const char *const times[] = {"expires_at"};
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "token")))
        return -1;
    return add_row(t, o, times, 1, "token");
}

static int add_listed(table *t, const cJSON *o)
{
    static const char *const times[] = {"created_at", "expires_at", "last_used_at"};
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "created_at")))
        return -1;
    return add_row(t, o, times, 3, NULL);
}

static int add_revoked(table *t, const cJSON *o)
{
    static const char *const times[] = {"revoked_at"};
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "revoked_at")))
        return -1;
    return add_row(t, o, times, 1, NULL);
}

static const char *const created_headers[] = {"ID", "USER", "NAME", "EXPIRES", "TOKEN"};
static const char *const listed_headers[] = {"ID",      "USER",    "NAME",
                                             "CREATED", "EXPIRES", "LAST USED"};
static const char *const revoked_headers[] = {"ID", "USER", "NAME", "REVOKED"};
static const cli_view created_view = {created_headers, 5, add_created, "token", ""};
static const cli_view listed_view = {listed_headers, 6, add_listed, "token", "No tokens."};
static const cli_view revoked_view = {revoked_headers, 4, add_revoked, "token", ""};

/* "90d" as whole days, anything else as a duration (lib/duration.h):
 * into the body as expires_in_days or expires_in. */
static int add_expiry(cJSON *body, const char *text)
{
    size_t n = strlen(text);
    long days;
    int64_t ns;
    if (n > 1 && text[n - 1] == 'd') {
        char digits[16];
        if (n - 1 < sizeof digits) {
            memcpy(digits, text, n - 1);
            digits[n - 1] = '\0';
            if (cli_parse_long(digits, 1, MAX_DAYS, &days) == 0) {
                cJSON_AddNumberToObject(body, "expires_in_days", (double)days);
                return 0;
            }
        }
    } else if (duration_parse(text, &ns) == 0 && ns >= DURATION_S &&
               ns <= (int64_t)MAX_DAYS * 86400 * DURATION_S) {
        cJSON_AddStringToObject(body, "expires_in", text);
        return 0;
    }
    return cli_usage_error("--expires-in must be whole days (90d) or a duration (720h, 1h30m) "
                           "from 1s to %d days, not \"%s\"",
                           MAX_DAYS, text);
}

static int run(const cli_args *a, cli_opts *o)
{
    const char *sub = a->pos[0];
    bool create = strcmp(sub, "create") == 0, list = strcmp(sub, "list") == 0;
    bool revoke = strcmp(sub, "revoke") == 0;
    if (!create && !list && !revoke)
        return cli_usage_error("unknown command \"token %s\" (see exo token --help)", sub);
    if (cli_only_for("--user", flag(a, OPT_USER), "token", sub, "create") ||
        cli_only_for("--name", flag(a, OPT_NAME), "token", sub, "create") ||
        cli_only_for("--expires-in", flag(a, OPT_EXPIRES_IN), "token", sub, "create") ||
        cli_only_for("--limit", flag(a, OPT_LIMIT), "token", sub, "list") ||
        cli_only_for("--cursor", flag(a, OPT_CURSOR), "token", sub, "list"))
        return CLI_EXIT_USAGE;
    if (cli_args_want(a, "token", revoke ? 1 : 0, "ID"))
        return CLI_EXIT_USAGE;
    buf path = BUF_INIT;
    cJSON *body = NULL;
    int rc = CLI_EXIT_USAGE;
    const cli_view *v = &listed_view;
    const char *method = "GET";
    if (create) {
        const char *user = flag(a, OPT_USER), *name = flag(a, OPT_NAME);
        const char *expires = flag(a, OPT_EXPIRES_IN);
        if (user && cli_check_id("--user", user))
            goto out;
        body = cJSON_CreateObject();
        if (name)
            cJSON_AddStringToObject(body, "name", name);
        if (expires && add_expiry(body, expires))
            goto out;
        if (user)
            buf_printf(&path, "/api/v1/users/%s/tokens", user);
        else
            buf_puts(&path, "/api/v1/tokens");
        method = "POST";
        v = &created_view;
    } else if (list) {
        const char *limit = flag(a, OPT_LIMIT), *cursor = flag(a, OPT_CURSOR);
        long n;
        if (limit && cli_parse_long(limit, 1, MAX_LIMIT, &n) < 0) {
            cli_usage_error("--limit must be a number of tokens from 1 to %d, not \"%s\"",
                            MAX_LIMIT, limit);
            goto out;
        }
        if (cursor && cli_check_id("--cursor", cursor))
            goto out;
        buf_puts(&path, "/api/v1/tokens");
        if (limit)
            cli_query_add(&path, "limit", limit);
        if (cursor)
            cli_query_add(&path, "cursor", cursor);
    } else {
        if (cli_check_id("token ID", a->pos[1]))
            goto out;
        buf_printf(&path, "/api/v1/tokens/%s", a->pos[1]);
        method = "DELETE";
        v = &revoked_view;
    }
    if (cli_opts_finish(o))
        goto out;
    rc = cli_call_and_print(o, method, path.ptr, body, list ? "tokens" : NULL, v);
out:
    cJSON_Delete(body);
    buf_free(&path);
    return rc;
}

int tokens_main(int argc, char **argv, cli_opts *o)
{
    static const cli_group g = {"token", options, tokens_usage, "create, list or revoke",
                                false, run};
    return cli_group_main(&g, argc, argv, o);
}

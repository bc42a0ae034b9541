#include "sessions.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli_cmd.h"
#include "rfc3339.h"
#include "table.h"

/* The API's page size bounds. */
#define MAX_LIMIT 1000

enum {
    OPT_DEPLOYMENT = CLI_OPT_GLOBAL_LAST,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_LIMIT,
    OPT_CURSOR,
};

static const struct option options[] = {
    CLI_GLOBAL_OPTIONS,
    {"deployment", required_argument, NULL, OPT_DEPLOYMENT},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"cursor", required_argument, NULL, OPT_CURSOR},
    {NULL, 0, NULL, 0},
};

void sessions_usage(FILE *f)
{
    fputs("Usage: exo session COMMAND [ARGS] [flags]\n"
          "\n"
          "Commands:\n"
          "  list [--deployment ID] [--since TIME] [--until TIME] [--limit N] [--cursor C]\n"
          "                                  list sessions, newest first, one page of N\n"
          "                                  (1 to 1000, default 100); --since and --until\n"
          "                                  are RFC 3339 times (2027-01-15T10:00:00Z) and\n"
          "                                  keep sessions started at or after --since and\n"
          "                                  before --until; --cursor C shows the page after\n"
          "                                  the one that named C\n"
          "  get ID                          show one session\n"
          "\n"
          "Each command prints the session(s) as a table with the columns ID, DEPLOYMENT,\n"
          "USER, STARTED, ENDED (UTC) and RECORDING (its size), or with --output json the\n"
          "API's JSON object as received: {\"sessions\": [...], \"next_cursor\": ...} for\n"
          "list, the session for get. When more sessions follow a table, a line on stderr\n"
          "gives the --cursor for the next page.\n"
          "\n" CLI_GLOBAL_HELP "\n" CLI_EXIT_HELP,
          f);
}

static int add_session(table *t, const cJSON *s)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
    const cJSON *started = cJSON_GetObjectItemCaseSensitive(s, "started_at");
    const cJSON *ended = cJSON_GetObjectItemCaseSensitive(s, "ended_at");
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(s, "cast_bytes");
    if (!cJSON_IsNumber(id) || !cJSON_IsString(started) || !cJSON_IsNumber(bytes))
        return -1;
    buf idt = BUF_INIT, dep = BUF_INIT, user = BUF_INIT, from = BUF_INIT, to = BUF_INIT,
        rec = BUF_INIT;
    buf_printf(&idt, "%.0f", id->valuedouble);
    cli_cell(&dep, s, "deployment_id", "-");
    cli_cell(&user, s, "user_id", "-");
    cli_format_time(&from, started->valuestring);
    if (cJSON_IsString(ended))
        cli_format_time(&to, ended->valuestring);
    else
        buf_puts(&to, "-");
    if (bytes->valuedouble > 0)
        buf_printf(&rec, "%.0f bytes", bytes->valuedouble);
    else
        buf_puts(&rec, "none");
    const char *row[] = {idt.ptr, dep.ptr, user.ptr, from.ptr, to.ptr, rec.ptr};
    table_add_row(t, row);
    buf_free(&idt);
    buf_free(&dep);
    buf_free(&user);
    buf_free(&from);
    buf_free(&to);
    buf_free(&rec);
    return 0;
}

static const char *const headers[] = {"ID", "DEPLOYMENT", "USER", "STARTED", "ENDED", "RECORDING"};
static const cli_view view = {headers, 6, add_session, "session", "No sessions."};

static const char *flag(const cli_args *a, int code)
{
    return a->flag[code - CLI_OPT_GLOBAL_LAST];
}

/* The list's query string from its flags, each checked first. */
static int list_path(const cli_args *a, buf *path)
{
    buf_puts(path, "/api/v1/sessions");
    const char *dep = flag(a, OPT_DEPLOYMENT), *since = flag(a, OPT_SINCE);
    const char *until = flag(a, OPT_UNTIL), *limit = flag(a, OPT_LIMIT);
    const char *cursor = flag(a, OPT_CURSOR);
    time_t from = 0, to = 0;
    long n;
    if (dep && cli_check_id("--deployment", dep))
        return CLI_EXIT_USAGE;
    if (since && !rfc3339_parse(since, &from))
        return cli_usage_error("--since must be an RFC 3339 time such as 2027-01-15T10:00:00Z, "
                               "not \"%s\"",
                               since);
    if (until && !rfc3339_parse(until, &to))
        return cli_usage_error("--until must be an RFC 3339 time such as 2027-01-15T10:00:00Z, "
                               "not \"%s\"",
                               until);
    if (since && until && from > to)
        return cli_usage_error("--since is after --until");
    if (limit && cli_parse_long(limit, 1, MAX_LIMIT, &n) < 0)
        return cli_usage_error("--limit must be a number of sessions from 1 to %d, not \"%s\"",
                               MAX_LIMIT, limit);
    if (cursor && cli_check_id("--cursor", cursor))
        return CLI_EXIT_USAGE;
    if (dep)
        cli_query_add(path, "deployment_id", dep);
    if (since)
        cli_query_add(path, "since", since);
    if (until)
        cli_query_add(path, "until", until);
    if (limit)
        cli_query_add(path, "limit", limit);
    if (cursor)
        cli_query_add(path, "cursor", cursor);
    return 0;
}

static int run(const cli_args *a, cli_opts *o)
{
    const char *sub = a->pos[0];
    bool list = strcmp(sub, "list") == 0, get = strcmp(sub, "get") == 0;
    if (!list && !get)
        return cli_usage_error("unknown command \"session %s\" (see exo session --help)", sub);
    static const struct {
        int code;
        const char *name;
    } list_flags[] = {{OPT_DEPLOYMENT, "--deployment"},
                      {OPT_SINCE, "--since"},
                      {OPT_UNTIL, "--until"},
                      {OPT_LIMIT, "--limit"},
                      {OPT_CURSOR, "--cursor"}};
    for (size_t i = 0; i < sizeof list_flags / sizeof list_flags[0]; i++)
        if (cli_only_for(list_flags[i].name, flag(a, list_flags[i].code), "session", sub, "list"))
            return CLI_EXIT_USAGE;
    if (cli_args_want(a, "session", list ? 0 : 1, "ID"))
        return CLI_EXIT_USAGE;
    buf path = BUF_INIT;
    int rc = CLI_EXIT_USAGE;
    if (list && list_path(a, &path))
        goto out;
    if (get) {
        if (cli_check_id("session ID", a->pos[1]))
            goto out;
        buf_printf(&path, "/api/v1/sessions/%s", a->pos[1]);
    }
    if (cli_opts_finish(o))
        goto out;
    rc = cli_call_and_print(o, "GET", path.ptr, NULL, list ? "sessions" : NULL, &view);
out:
    buf_free(&path);
    return rc;
}

int sessions_main(int argc, char **argv, cli_opts *o)
{
    static const cli_group g = {"session", options, sessions_usage, "list or get",
                                false, run};
    return cli_group_main(&g, argc, argv, o);
}

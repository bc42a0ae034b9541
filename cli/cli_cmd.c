#include "cli_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "err.h"
#include "xalloc.h"

/* Ids are bigints; the server takes at most 18 digits. */
#define MAX_ID_DIGITS 18

int cli_args_parse(cli_args *a, int argc, char **argv, cli_opts *o, const struct option *options,
                   const char *help_cmd, bool output_is_file)
{
    memset(a, 0, sizeof *a);
    a->pos = xcalloc((size_t)argc + 1, sizeof *a->pos);
    /* "-" first: words come back in order as code 1, so that flags may
     * follow the arguments whatever POSIXLY_CORRECT says. Reset getopt:
     * main.c has used it already. */
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "-" CLI_SHORT_OPTIONS, options, NULL)) != -1) {
        if (c == 'o' && output_is_file) {
            a->output_given = true;
            a->output_arg = optarg;
            continue;
        }
        int applied = cli_opts_apply(o, c, optarg);
        if (applied < 0)
            return CLI_EXIT_USAGE;
        if (applied)
            continue;
        if (c == 1)
            a->pos[a->npos++] = optarg;
        else if (c >= CLI_OPT_GLOBAL_LAST && c < CLI_OPT_GLOBAL_LAST + CLI_CMD_MAX_FLAGS)
            a->flag[c - CLI_OPT_GLOBAL_LAST] = optarg;
        else
            return cli_flag_error(c, argv, optind, help_cmd);
    }
    /* After "--" every word is an argument, even one that starts with "-". */
    while (optind < argc)
        a->pos[a->npos++] = argv[optind++];
    return 0;
}

void cli_args_free(cli_args *a)
{
    free(a->pos);
    a->pos = NULL;
}

int cli_group_main(const cli_group *g, int argc, char **argv, cli_opts *o)
{
    cli_args a;
    buf help_cmd = BUF_INIT;
    buf_printf(&help_cmd, "exo %s", g->name);
    int rc = cli_args_parse(&a, argc, argv, o, g->options, help_cmd.ptr, g->output_is_file);
    if (rc)
        goto out;
    if (o->help)
        g->usage(stdout);
    else if (a.npos == 0)
        rc = cli_usage_error("%s: missing COMMAND: %s (see exo %s --help)", g->name,
                             g->subcommands, g->name);
    else
        rc = g->run(&a, o);
out:
    cli_args_free(&a);
    buf_free(&help_cmd);
    return rc;
}

int cli_args_want(const cli_args *a, const char *group, int n, const char *what)
{
    if (a->npos - 1 < n)
        return cli_usage_error("%s %s: missing %s", group, a->pos[0], what);
    if (a->npos - 1 > n)
        return cli_usage_error("%s %s: unexpected argument \"%s\"", group, a->pos[0],
                               a->pos[n + 1]);
    return 0;
}

int cli_only_for(const char *flag, const char *value, const char *group, const char *sub,
                 const char *owner)
{
    if (value && strcmp(sub, owner) != 0)
        return cli_usage_error("%s is only for exo %s %s", flag, group, owner);
    return 0;
}

static bool is_id(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n <= MAX_ID_DIGITS && strspn(id, "0123456789") == n && strspn(id, "0") != n;
}

int cli_check_id(const char *what, const char *id)
{
    if (!is_id(id))
        return cli_usage_error("%s must be a positive whole number, not \"%s\"", what, id);
    return 0;
}

void cli_format_time(buf *out, const char *t)
{
    size_t n = strlen(t);
    if (n >= 20 && t[10] == 'T' && t[n - 1] == 'Z' && (t[19] == '.' || t[19] == 'Z'))
        buf_printf(out, "%.10s %.8s UTC", t, t + 11);
    else
        buf_puts(out, t);
}

void cli_cell(buf *out, const cJSON *obj, const char *name, const char *null_text)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsNumber(v))
        buf_printf(out, "%.0f", v->valuedouble);
    else if (cJSON_IsString(v))
        buf_puts(out, v->valuestring);
    else
        buf_puts(out, null_text);
}

int cli_print(const cli_opts *o, const http_reply *r, const char *list_key, const cli_view *v)
{
    if (o->output == CLI_OUTPUT_JSON) {
        fwrite(r->body.ptr, 1, r->body.len, stdout);
        if (r->body.len && r->body.ptr[r->body.len - 1] != '\n')
            fputc('\n', stdout);
        return CLI_EXIT_OK;
    }
    int rc = CLI_EXIT_OK;
    table *t = table_new((size_t)v->ncols, v->headers);
    const cJSON *items = list_key ? cJSON_GetObjectItemCaseSensitive(r->json, list_key) : NULL;
    if (list_key && !cJSON_IsArray(items)) {
        fprintf(stderr, "exo: the server's answer has no \"%s\" list (is it the Exo API?)\n",
                list_key);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (list_key && !items->child) {
        puts(v->empty);
        goto out;
    }
    const cJSON *d = list_key ? items->child : r->json;
    for (; d; d = list_key ? d->next : NULL) {
        if (!cJSON_IsObject(d) || v->row(t, d) < 0) {
            fprintf(stderr, "exo: the server's answer is not a %s (is it the Exo API?)\n",
                    v->what);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
    }
    table_print(t, stdout);
out:
    table_free(t);
    return rc;
}

int cli_call_and_print(const cli_opts *o, const char *method, const char *path,
                       const cJSON *body, const char *list_key, const cli_view *v)
{
    http_reply r = HTTP_REPLY_INIT;
    exo_err e = EXO_ERR_INIT;
    int rc;
    if (http_client_call(o, method, path, body, &r, &e) < 0) {
        fprintf(stderr, "exo: %s\n", err_msg(&e));
        rc = CLI_EXIT_FAIL;
    } else {
        rc = cli_print(o, &r, list_key, v);
        /* A table shows one page; the line says how to ask for the next. */
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor");
        if (rc == CLI_EXIT_OK && list_key && o->output == CLI_OUTPUT_TABLE &&
            cJSON_IsString(next) && is_id(next->valuestring))
            fprintf(stderr, "exo: more %ss follow: add --cursor %s for the next page\n", v->what,
                    next->valuestring);
    }
    http_reply_free(&r);
    err_clear(&e);
    return rc;
}

void cli_query_add(buf *path, const char *name, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (!esc) {
        fputs("exo: out of memory\n", stderr);
        abort();
    }
    buf_printf(path, "%c%s=%s", strchr(path->ptr ? path->ptr : "", '?') ? '&' : '?', name, esc);
    curl_free(esc);
}

/* Listings: their query parameters checked strictly (as bodies are), and
 * one statement that reads a page and where the next one starts. */
#include "api_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "rfc3339.h"

static bool whole_number(const char *s, int64_t min, int64_t max, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return false;
    long long v = strtoll(s, NULL, 10);
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A name from the URL as a message may show it: one line (a %0A in the
 * URL is a newline by now), printable, and not too long to read. */
static void shown_name(buf *out, const char *name)
{
    size_t i = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && i < 64; p++, i++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
            buf_printf(out, "\\x%02x", *p);
        else
            buf_putc(out, (char)*p);
    }
    if (strlen(name) > 64)
        buf_puts(out, "...");
}

static bool allowed(const char *name, unsigned filters)
{
    if (strcmp(name, "limit") == 0 || strcmp(name, "cursor") == 0)
        return true;
    if (strcmp(name, "deployment_id") == 0)
        return filters & API_LIST_DEPLOYMENT;
    if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0)
        return filters & API_LIST_TIME;
    return false;
}

int api_list_parse(api_list_query *q, const api_list_param *params, size_t n, unsigned filters,
                   exo_err *err)
{
    memset(q, 0, sizeof *q);
    q->limit = API_LIST_DEFAULT_LIMIT;
    time_t since = 0, until = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = params[i].name, *v = params[i].value;
        if (!allowed(k, filters)) {
            buf shown = BUF_INIT;
            shown_name(&shown, k);
            err_set(err, "unknown query parameter \"%s\"", shown.ptr);
            buf_free(&shown);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(params[j].name, k) == 0)
                return err_set(err, "query parameter \"%s\" is given twice", k);
        if (!v || !*v)
            return err_set(err, "query parameter \"%s\" needs a value", k);
        if (strcmp(k, "limit") == 0) {
            if (!whole_number(v, 1, API_LIST_MAX_LIMIT, &q->limit))
                return err_set(err, "query parameter \"limit\" must be 1 to %d",
                               API_LIST_MAX_LIMIT);
        } else if (strcmp(k, "cursor") == 0) {
            if (!whole_number(v, 1, INT64_MAX, &q->cursor))
                return err_set(err, "query parameter \"cursor\" is not a cursor from "
                                    "\"next_cursor\"");
        } else if (strcmp(k, "deployment_id") == 0) {
            if (!whole_number(v, 1, INT64_MAX, &q->deployment_id))
                return err_set(err, "query parameter \"deployment_id\" must be a positive whole "
                                    "number");
        } else {
            bool is_since = strcmp(k, "since") == 0;
            if (!rfc3339_parse(v, is_since ? &since : &until))
                return err_set(err,
                               "query parameter \"%s\" must be an RFC 3339 time such as "
                               "2027-01-15T10:00:00Z",
                               k);
            *(is_since ? &q->since : &q->until) = v;
        }
    }
    if (q->since && q->until && since > until)
        return err_set(err, "query parameter \"since\" is after \"until\"");
    return 0;
}

typedef struct {
    api_list_param p[API_LIST_MAX_PARAMS];
    size_t n;
    bool too_many;
} collected;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    collected *c = cls;
    if (c->n == API_LIST_MAX_PARAMS) {
        c->too_many = true;
        return MHD_NO;
    }
    c->p[c->n++] = (api_list_param){key, value};
    return MHD_YES;
}

int api_list_query_of(api_call *c, unsigned filters, api_list_query *q)
{
    collected got = {0};
    if (c->conn)
        MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, collect, &got);
    if (got.too_many)
        return api_fail(c, 400, "invalid", "more than %d query parameters", API_LIST_MAX_PARAMS),
               -1;
    exo_err e = EXO_ERR_INIT;
    int rc = api_list_parse(q, got.p, got.n, filters, &e);
    if (rc < 0)
        api_fail(c, 400, "invalid", "%s", err_msg(&e));
    err_clear(&e);
    return rc;
}

int api_list_reply(api_call *c, const char *name, const char *from, const api_list_query *q,
                   const char *const *params)
{
    /* One more row than the page holds tells whether another page follows. */
    buf sql = BUF_INIT;
    buf_printf(&sql,
               "WITH page AS (SELECT * FROM (%s) x WHERE ($2::bigint = 0 OR x.id < $2::bigint) "
               "ORDER BY x.id DESC LIMIT $1::int + 1), kept AS (SELECT * FROM page ORDER BY id "
               "DESC LIMIT $1::int) SELECT json_build_object('%s', coalesce((SELECT json_agg(k "
               "ORDER BY k.id DESC) FROM kept k), '[]'), 'next_cursor', CASE WHEN (SELECT "
               "count(*) FROM page) > $1::int THEN (SELECT min(id) FROM kept)::text END)",
               from, name);
    char limit[24], cursor[24];
    snprintf(limit, sizeof limit, "%lld", (long long)q->limit);
    snprintf(cursor, sizeof cursor, "%lld", (long long)q->cursor);
    const char *p[API_LIST_MAX_PARAMS + 3] = {limit, cursor};
    size_t n = 2;
    for (; params && params[n - 2] && n < API_LIST_MAX_PARAMS + 2; n++)
        p[n] = params[n - 2];
    p[n] = NULL;
    cJSON *o = api_query_json(c, sql.ptr, p);
    buf_free(&sql);
    return o ? api_ok(c, 200, o) : 0;
}

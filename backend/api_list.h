/* Listings' query parameters and pages (api_list.c): `limit` (1 to
 * API_LIST_MAX_LIMIT), `cursor` (where the previous page ended), and the
 * filters a route allows (`deployment_id`, `since`, `until`). A page is
 * newest first by id; its `next_cursor` names the next page, or is null
 * on the last one. Keyset paging: a row added meanwhile never shifts a
 * page, as an offset would. */
#ifndef EXO_API_LIST_H
#define EXO_API_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_call.h"
#include "err.h"

#define API_LIST_DEFAULT_LIMIT 100
#define API_LIST_MAX_LIMIT 1000
#define API_LIST_MAX_PARAMS 16

typedef struct {
    const char *name;
    const char *value; /* NULL for "?name" without "=" */
} api_list_param;

/* Which filters a route takes, besides limit and cursor. */
enum { API_LIST_DEPLOYMENT = 1, API_LIST_TIME = 2 };

typedef struct {
    int64_t limit;
    int64_t cursor;        /* 0: the first page */
    int64_t deployment_id; /* 0: any */
    const char *since;     /* borrowed, checked RFC 3339; NULL: unbounded */
    const char *until;
} api_list_query;

/* Reads params (n of them) into q for a route that takes `filters`
 * (API_LIST_* bits). -1 with a one-line message naming the parameter for
 * an unknown, repeated or empty parameter or a bad value. */
int api_list_parse(api_list_query *q, const api_list_param *params, size_t n, unsigned filters,
                   exo_err *err);

/* The request's query parameters, parsed for `filters`; on failure c's
 * reply is a 400 and -1 is returned. */
int api_list_query_of(api_call *c, unsigned filters, api_list_query *q);

/* Replies {"<name>": [rows...], "next_cursor": "<id>"|null}. `from` is
 * "SELECT <columns, id among them> FROM ... WHERE ..." whose parameters
 * start at $3 (`params`, NULL-terminated, may be empty): $1 and $2 are the
 * limit and the cursor. Returns 0. */
int api_list_reply(api_call *c, const char *name, const char *from, const api_list_query *q,
                   const char *const *params);

#endif

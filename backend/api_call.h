/* What an API route handler sees and fills, and the helpers it fills it
 * with (api_call.c). The calls run one way: http.c → api.c (requests,
 * authentication, dispatch) → api_routes.c (the route table and its
 * handlers) → api_call.c (these helpers); api.c calls the helpers too. */
#ifndef EXO_API_CALL_H
#define EXO_API_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "api.h"
#include "err.h"

#define API_MAX_SEGMENTS 8

struct api {
    pool *db;
    const keyring *ring;
    const backend_config *cfg;
};

typedef struct {
    api *a;
    PGconn *db;        /* from the pool, for this request */
    int64_t user_id;   /* who the bearer token belongs to */
    bool admin;
    const char *method;
    const char *seg[API_MAX_SEGMENTS]; /* path segments after /api/v1/ */
    int nseg;
    const cJSON *body; /* the parsed JSON body, or NULL */
    struct MHD_Connection *conn; /* for query parameters (api_list.h); NULL in tests */
    int status;        /* the reply */
    cJSON *out;
    bool db_broken;    /* the connection failed: do not reuse it */
} api_call;

/* Timestamps leave the database as UTC RFC 3339 strings, whatever the
 * server's time zone. */
#define API_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Sets an error reply {"error": {"code", "message"}}; returns 0. */
int api_fail(api_call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets a reply; takes out. Returns 0. */
int api_ok(api_call *c, int status, cJSON *out);
/* Maps a failed query to a reply: 409 for a unique violation, 422 for a
 * missing referenced row, 503 when the connection broke, else 500. */
int api_db_fail(api_call *c, const exo_err *e);
/* Parses a path segment as an id (1 .. 2^63-1). */
bool api_id(const char *seg, int64_t *out);
/* Runs a query whose one row and column is JSON text and parses it:
 * NULL (and the reply set) on failure. */
cJSON *api_query_json(api_call *c, const char *sql, const char *const *params);

/* The SHA-256 of a token as 64 hex digits (what tokens.token_hash holds,
 * decoded). out must hold 65 bytes. */
void api_token_hash_hex(const char *token, char out[65]);

#endif

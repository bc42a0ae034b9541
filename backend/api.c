#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "api_call.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

typedef int (*route_fn)(api_call *c);

static const struct route {
    const char *method;
    const char *pattern; /* "*" matches one segment */
    route_fn fn;
    bool admin;
} routes[] = {
    {"GET", "users", route_list_users, true},
    {"POST", "users", route_create_user, true},
    {"POST", "users/*/tokens", route_create_token, false},
    {"GET", "deployments", route_list_deployments, false},
    {"POST", "deployments", route_create_deployment, false},
    {"GET", "deployments/*", route_get_deployment, false},
    {"PUT", "deployments/*/retention", route_set_retention, false},
    {"GET", "deployments/*/runtime-statuses", route_list_statuses, false},
    {"PUT", "deployments/*/runtime-statuses/*", route_put_status, false},
    {"POST", "sessions", route_create_session, false},
    {"GET", "sessions/*", route_get_session, false},
    {"POST", "sessions/*/events", route_add_session_events, false},
    {"GET", "sessions/*/events", route_list_session_events, false},
    {"POST", "audit-events", route_add_audit_events, false},
    {"GET", "audit-events", route_list_audit_events, true},
};

/* One request's state across MHD's calls. */
typedef struct {
    struct timespec start;
    buf body;
    bool too_large;
} api_request;

api *api_new(pool *db, const keyring *ring, const backend_config *cfg)
{
    api *a = xcalloc(1, sizeof *a);
    a->db = db;
    a->ring = ring;
    a->cfg = cfg;
    return a;
}

void api_free(api *a)
{
    free(a);
}

void api_token_hash_hex(const char *token, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

int api_bootstrap(PGconn *c, const char *token, exo_err *err)
{
    if (strlen(token) < 32)
        return err_set(err, "EXO_BOOTSTRAP_TOKEN is shorter than 32 characters");
    char hash[65];
    api_token_hash_hex(token, hash);
    const char *p[] = {hash, NULL};
    /* Idempotent: every replica and every restart runs it. */
    return db_exec(c, "creating the bootstrap admin",
                   "WITH u AS (INSERT INTO users (email, name, role) VALUES ('admin@exo.local', "
                   "'bootstrap admin', 'admin') ON CONFLICT ((lower(email))) DO UPDATE SET role = "
                   "'admin' RETURNING id) INSERT INTO tokens (user_id, name, token_hash) SELECT "
                   "id, 'bootstrap', decode($1, 'hex') FROM u ON CONFLICT (token_hash) DO NOTHING",
                   p, err);
}

int api_fail(api_call *c, int status, const char *code, const char *fmt, ...)
{
    buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg.ptr);
    buf_free(&msg);
    return api_ok(c, status, o);
}

int api_ok(api_call *c, int status, cJSON *out)
{
    cJSON_Delete(c->out);
    c->status = status;
    c->out = out;
    return 0;
}

int api_db_fail(api_call *c, const exo_err *e)
{
    if (db_err_is(e, SQLSTATE_UNIQUE_VIOLATION))
        return api_fail(c, 409, "conflict", "%s", err_msg(e));
    if (db_err_is(e, "23503"))
        return api_fail(c, 422, "unknown_reference", "%s", err_msg(e));
    if (db_err_is(e, "22P02") || db_err_is(e, "23514") || db_err_is(e, "22023"))
        return api_fail(c, 400, "invalid", "%s", err_msg(e));
    if (PQstatus(c->db) != CONNECTION_OK) {
        c->db_broken = true;
        return api_fail(c, 503, "database_unavailable", "the database connection was lost");
    }
    log_msg(LOG_ERROR, "api query failed", "error", err_msg(e), NULL);
    return api_fail(c, 500, "internal", "%s", err_msg(e));
}

bool api_id(const char *seg, int64_t *out)
{
    if (!seg || !*seg || strlen(seg) > 18 || strspn(seg, "0123456789") != strlen(seg))
        return false;
    long long v = strtoll(seg, NULL, 10);
    if (v <= 0)
        return false;
    *out = v;
    return true;
}

cJSON *api_query_json(api_call *c, const char *sql, const char *const *params)
{
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(c->db, "query", sql, params, &e);
    cJSON *out = NULL;
    if (!r) {
        api_db_fail(c, &e);
    } else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
        api_fail(c, 404, "not_found", "not found");
    } else if (!(out = cJSON_Parse(PQgetvalue(r, 0, 0)))) {
        api_fail(c, 500, "internal", "the database returned JSON cJSON cannot read");
    }
    PQclear(r);
    err_clear(&e);
    return out;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, const cJSON *out,
                                 bool auth_challenge)
{
    char *text = out ? cJSON_PrintUnformatted(out) : xstrdup("{}");
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (auth_challenge)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Who the bearer token belongs to. 0, or -1 with the reply set. */
static int authenticate(api_call *c, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        api_fail(c, 401, "unauthorized", "missing bearer token (Authorization: Bearer TOKEN)");
        return -1;
    }
    char hash[65];
    api_token_hash_hex(h + 7, hash);
    const char *p[] = {hash, NULL};
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(c->db, "authenticating",
                           "UPDATE tokens t SET last_used_at = now() FROM users u WHERE "
                           "u.id = t.user_id AND t.token_hash = decode($1, 'hex') AND "
                           "(t.expires_at IS NULL OR t.expires_at > now()) RETURNING u.id, "
                           "u.role = 'admin'",
                           p, &e);
    int rc = -1;
    if (!r)
        api_db_fail(c, &e);
    else if (PQntuples(r) != 1)
        api_fail(c, 401, "unauthorized", "unknown or expired token");
    else {
        c->user_id = atoll(PQgetvalue(r, 0, 0));
        c->admin = PQgetvalue(r, 0, 1)[0] == 't';
        rc = 0;
    }
    PQclear(r);
    err_clear(&e);
    return rc;
}

static bool matches(const char *pattern, const api_call *c)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", pattern);
    char *save = NULL;
    int i = 0;
    for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save), i++)
        if (i >= c->nseg || (strcmp(p, "*") != 0 && strcmp(p, c->seg[i]) != 0))
            return false;
    return i == c->nseg;
}

static void dispatch(api_call *c, struct MHD_Connection *conn)
{
    const struct route *route = NULL;
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!matches(routes[i].pattern, c))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, c->method) == 0)
            route = &routes[i];
    }
    if (!route) {
        if (path_known)
            api_fail(c, 405, "method_not_allowed", "%s is not allowed here", c->method);
        else
            api_fail(c, 404, "not_found", "no such API path");
        return;
    }
    exo_err e = EXO_ERR_INIT;
    c->db = pool_get(c->a->db, &e);
    if (!c->db) {
        api_fail(c, 503, "database_unavailable", "%s", err_msg(&e));
        err_clear(&e);
        return;
    }
    if (authenticate(c, conn) == 0) {
        if (route->admin && !c->admin)
            api_fail(c, 403, "forbidden", "this needs an admin token");
        else
            route->fn(c);
    }
    /* A handler that failed inside a transaction leaves it to the pool,
     * which closes such a connection. */
    pool_put(c->a->db, c->db, c->db_broken);
    c->db = NULL;
}

/* Splits the path after the prefix into segments (in place). */
static bool split_path(api_call *c, char *path)
{
    char *save = NULL;
    for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (c->nseg == API_MAX_SEGMENTS)
            return false;
        c->seg[c->nseg++] = s;
    }
    return true;
}

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

enum MHD_Result api_handle(api *a, struct MHD_Connection *conn, const char *method,
                           const char *url, const char *upload, size_t *upload_size,
                           void **state)
{
    api_request *req = *state;
    if (!req) {
        req = xcalloc(1, sizeof *req);
        clock_gettime(CLOCK_MONOTONIC, &req->start);
        buf_init(&req->body);
        *state = req;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Bounded: past the limit the rest is read and dropped, and the
         * answer is 413 once it is all in. */
        if (!req->too_large && req->body.len + *upload_size > API_MAX_BODY) {
            req->too_large = true;
            buf_free(&req->body);
        }
        if (!req->too_large)
            buf_append(&req->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }

    api_call c = {0};
    c.a = a;
    c.method = method;
    char *path = xstrdup(url + strlen(API_PREFIX));
    cJSON *body = NULL;
    if (req->too_large) {
        api_fail(&c, 413, "too_large", "the body is larger than %d bytes", API_MAX_BODY);
    } else if (!split_path(&c, path)) {
        api_fail(&c, 404, "not_found", "no such API path");
    } else if (req->body.len && !(body = cJSON_ParseWithLength(req->body.ptr, req->body.len))) {
        api_fail(&c, 400, "bad_json", "the body is not JSON");
    } else if ((strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) && !body) {
        api_fail(&c, 400, "bad_json", "this needs a JSON body");
    } else {
        c.body = body;
        dispatch(&c, conn);
    }
    enum MHD_Result ok = send_json(conn, c.status, c.out, c.status == 401);
    metrics_request(c.status, seconds_since(&req->start));
    cJSON_Delete(c.out);
    cJSON_Delete(body);
    free(path);
    return ok;
}

void api_request_done(void *state)
{
    api_request *req = state;
    if (!req)
        return;
    buf_free(&req->body);
    free(req);
}

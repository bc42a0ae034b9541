/* The API's front door: a request's state across libmicrohttpd's calls,
 * bounded bodies, recordings streamed to and from disk, the bearer token
 * checked, then the route table (api_routes.h) asked which handler runs. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_call.h"
#include "api_json.h"
#include "api_routes.h"
#include "buf.h"
#include "casts.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

/* One request's state across MHD's calls. */
typedef struct {
    struct timespec start;
    buf body;
    bool too_large;
    /* A recording upload streams to a casts_writer instead of the body. */
    bool is_cast;
    int64_t session;
    casts_writer *cast;
    int cast_status; /* 0, or the refusal to send once the body is in */
    cJSON *cast_reply;
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

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, const cJSON *out,
                                 bool auth_challenge)
{
    char *text = out ? api_json_print(out) : xstrdup("{}");
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
                           "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) "
                           "RETURNING u.id, "
                           "u.role = 'admin'",
                           p, &e);
    int rc = -1;
    if (!r)
        api_db_fail(c, &e);
    else if (PQntuples(r) != 1)
        api_fail(c, 401, "unauthorized", "unknown, expired or revoked token");
    else {
        c->user_id = atoll(PQgetvalue(r, 0, 0));
        c->admin = PQgetvalue(r, 0, 1)[0] == 't';
        rc = 0;
    }
    PQclear(r);
    err_clear(&e);
    return rc;
}

/* A connection for the request in c->db, its token checked. A pooled
 * connection that the first statement finds dead (the server restarted
 * since it was opened) is closed with the idle ones beside it and the
 * request tried once more on a fresh one, as database/sql retries on a bad
 * connection: checking a token is safe to repeat. Otherwise every idle
 * connection would fail one request after the database came back. 0, or
 * -1 with the reply set (c->db may be set: the caller returns it). */
static int connect_and_authenticate(api_call *c, struct MHD_Connection *conn)
{
    for (int attempt = 0;; attempt++) {
        exo_err e = EXO_ERR_INIT;
        c->db = pool_get(c->a->db, &e);
        if (!c->db) {
            api_fail(c, 503, "database_unavailable", "%s", err_msg(&e));
            err_clear(&e);
            return -1;
        }
        if (authenticate(c, conn) == 0)
            return 0;
        if (!c->db_broken || attempt > 0)
            return -1;
        pool_put(c->a->db, c->db, true);
        c->db = NULL;
        c->db_broken = false;
        pool_close_idle(c->a->db);
    }
}

/* Runs the route for c; *matched is it, or NULL for none. */
static void dispatch(api_call *c, struct MHD_Connection *conn, const api_route **matched)
{
    const api_route *route = api_routes_match(c);
    *matched = route;
    if (!route)
        return;
    if (connect_and_authenticate(c, conn) == 0) {
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

/* "sessions/<id>/cast": the session id, or 0. */
static int64_t cast_path(const char *url)
{
    const char *p = url + strlen(API_PREFIX);
    if (strncmp(p, "sessions/", 9) != 0)
        return 0;
    p += 9;
    const char *slash = strchr(p, '/');
    if (!slash || strcmp(slash, "/cast") != 0 || slash - p > 18)
        return 0;
    char id[24];
    snprintf(id, sizeof id, "%.*s", (int)(slash - p), p);
    int64_t v = 0;
    return api_id(id, &v) ? v : -1;
}

/* Authenticates and checks the session exists; fills c's reply on failure. */
static bool cast_allowed(api_call *c, struct MHD_Connection *conn, int64_t session)
{
    exo_err e = EXO_ERR_INIT;
    bool ok = false;
    if (connect_and_authenticate(c, conn) == 0) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)session);
        const char *p[] = {id, NULL};
        PGresult *r = db_query(c->db, "reading a session",
                               "SELECT 1 FROM sessions WHERE id = $1::bigint", p, &e);
        if (!r)
            api_db_fail(c, &e);
        else if (PQntuples(r) == 0)
            api_fail(c, 404, "not_found", "no session %lld", (long long)session);
        else
            ok = true;
        PQclear(r);
    }
    if (c->db)
        pool_put(c->a->db, c->db, c->db_broken);
    c->db = NULL;
    err_clear(&e);
    return ok;
}

/* First call of PUT …/cast: headers are in, the body is not. Refusals are
 * kept and sent once the body has been read (and dropped). */
static void cast_begin(api *a, api_request *req, struct MHD_Connection *conn)
{
    api_call c = {0};
    c.a = a;
    if (req->session < 0) {
        api_fail(&c, 404, "not_found", "no such session");
    } else if (cast_allowed(&c, conn, req->session)) {
        exo_err e = EXO_ERR_INIT;
        if (casts_open_writer(&req->cast, a->cfg->cast_dir, req->session, a->cfg->cast_max_bytes,
                              &e) < 0) {
            log_msg(LOG_ERROR, "cannot store a recording", "error", err_msg(&e), NULL);
            api_fail(&c, 500, "internal", "cannot store the recording");
        }
        err_clear(&e);
    }
    req->cast_status = c.status;
    req->cast_reply = c.out;
}

static void cast_chunk(api *a, api_request *req, const char *data, size_t len)
{
    if (!req->cast || req->cast_status)
        return; /* refused already: the rest is read and dropped */
    exo_err e = EXO_ERR_INIT;
    int rc = casts_write(req->cast, data, len, &e);
    if (rc < 0) {
        api_call c = {0};
        if (rc == CASTS_TOO_LARGE)
            api_fail(&c, 413, "too_large", "the recording is larger than %lld bytes",
                     (long long)a->cfg->cast_max_bytes);
        else
            api_fail(&c, 400, "invalid", "%s", err_msg(&e));
        casts_abort(req->cast);
        req->cast = NULL;
        req->cast_status = c.status;
        req->cast_reply = c.out;
    }
    err_clear(&e);
}

static void cast_finish(api *a, api_request *req, api_call *c)
{
    if (req->cast_status) {
        api_ok(c, req->cast_status, req->cast_reply);
        req->cast_reply = NULL;
        return;
    }
    exo_err e = EXO_ERR_INIT;
    casts_writer *w = req->cast;
    req->cast = NULL;
    if (casts_commit(w, &e) < 0) {
        api_fail(c, 400, "invalid", "%s", err_msg(&e));
        err_clear(&e);
        return;
    }
    /* The size goes into the session for listings; the file is the truth. */
    int fd;
    int64_t size = 0;
    if (casts_open_read(&fd, &size, a->cfg->cast_dir, req->session, &e) == 0)
        close(fd);
    char id[24], n[24];
    snprintf(id, sizeof id, "%lld", (long long)req->session);
    snprintf(n, sizeof n, "%lld", (long long)size);
    const char *p[] = {id, n, NULL};
    PGconn *db = pool_get(a->db, &e);
    int rc = db ? db_exec(db, "recording the cast size",
                          "UPDATE sessions SET cast_bytes = $2::bigint WHERE id = $1::bigint", p,
                          &e)
                : -1;
    if (db)
        pool_put(a->db, db, rc < 0);
    if (rc < 0)
        log_msg(LOG_WARN, "recording stored, size not recorded", "error", err_msg(&e), NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "session_id", (double)req->session);
    cJSON_AddNumberToObject(o, "bytes", (double)size);
    api_ok(c, 201, o);
    err_clear(&e);
}

/* GET …/cast: the file itself, streamed from disk. */
static enum MHD_Result cast_get(api *a, struct MHD_Connection *conn, int64_t session,
                                api_call *c)
{
    if (session < 0 || !cast_allowed(c, conn, session)) {
        if (!c->status)
            api_fail(c, 404, "not_found", "no such session");
        return MHD_NO;
    }
    int fd;
    int64_t size;
    exo_err e = EXO_ERR_INIT;
    int rc = casts_open_read(&fd, &size, a->cfg->cast_dir, session, &e);
    err_clear(&e);
    if (rc == CASTS_NOT_FOUND) {
        api_fail(c, 404, "not_found", "session %lld has no recording", (long long)session);
        return MHD_NO;
    }
    if (rc < 0) {
        api_fail(c, 500, "internal", "cannot read the recording");
        return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_fd64((uint64_t)size, fd);
    MHD_add_response_header(r, "Content-Type", "application/x-asciicast");
    enum MHD_Result ok = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    c->status = 200;
    return ok;
}

enum MHD_Result api_handle(api *a, struct MHD_Connection *conn, const char *method,
                           const char *url, const char *upload, size_t *upload_size,
                           void **state)
{
    api_request *req = *state;
    if (!req) {
        req = xcalloc(1, sizeof *req);
        clock_gettime(CLOCK_MONOTONIC, &req->start);
        buf_init_max(&req->body, API_MAX_BODY);
        *state = req;
        req->session = cast_path(url);
        req->is_cast = req->session && strcmp(method, "PUT") == 0;
        if (req->is_cast)
            cast_begin(a, req, conn);
        return MHD_YES;
    }
    if (*upload_size && req->is_cast) {
        cast_chunk(a, req, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Bounded by the body's cap: past it the rest is read and dropped,
         * and the answer is 413 once it is all in. */
        if (!req->too_large && buf_append(&req->body, upload, *upload_size) == BUF_TOO_LARGE) {
            req->too_large = true;
            buf_free(&req->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }

    api_call c = {0};
    c.a = a;
    c.method = method;
    c.conn = conn;
    /* Labels for /metrics: the route table's own strings, never the URL. */
    static const char cast_pattern[] = "sessions/*/cast";
    const char *m_method = METRICS_ROUTE_OTHER, *m_pattern = METRICS_ROUTE_OTHER;
    if (req->session && (strcmp(method, "GET") == 0 || strcmp(method, "PUT") == 0)) {
        m_method = strcmp(method, "GET") == 0 ? "GET" : "PUT";
        m_pattern = cast_pattern;
    }
    char *path = xstrdup(url + strlen(API_PREFIX));
    cJSON *body = NULL;
    if (req->is_cast) {
        cast_finish(a, req, &c);
    } else if (req->session && strcmp(method, "GET") == 0) {
        enum MHD_Result sent = cast_get(a, conn, req->session, &c);
        if (c.status == 200) {
            metrics_request(m_method, m_pattern, 200, seconds_since(&req->start));
            free(path);
            return sent;
        }
    } else if (req->too_large) {
        api_fail(&c, 413, "too_large", "the body is larger than %d bytes", API_MAX_BODY);
    } else if (!split_path(&c, path)) {
        api_fail(&c, 404, "not_found", "no such API path");
    } else if (req->body.len && !(body = cJSON_ParseWithLength(req->body.ptr, req->body.len))) {
        api_fail(&c, 400, "bad_json", "the body is not JSON");
    } else if ((strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) && !body) {
        api_fail(&c, 400, "bad_json", "this needs a JSON body");
    } else {
        c.body = body;
        const api_route *route;
        dispatch(&c, conn, &route);
        if (route) {
            m_method = route->method;
            m_pattern = route->pattern;
        }
    }
    enum MHD_Result ok = send_json(conn, c.status, c.out, c.status == 401);
    metrics_request(m_method, m_pattern, c.status, seconds_since(&req->start));
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
    /* A client that went away mid-upload leaves no file behind. */
    casts_abort(req->cast);
    cJSON_Delete(req->cast_reply);
    buf_free(&req->body);
    free(req);
}

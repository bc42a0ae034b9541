/* The API's routes and their table: each checks its body strictly, then
 * runs one statement (or one transaction), so that a refused request
 * writes nothing. */
#include "api_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "api_list.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "duration.h"
#include "metrics.h"

#define DEPLOYMENT_COLUMNS                                                                         \
    "id, name, retention_days, " API_UTC("created_at") " AS created_at"
#define SESSION_COLUMNS                                                                            \
    "id, deployment_id, user_id, " API_UTC("started_at") " AS started_at, " API_UTC(            \
        "ended_at") " AS ended_at, cast_bytes"

/* Tokens live at most ten years. */
#define API_TOKEN_MAX_DAYS 3650

static int bad_body(api_call *c, const exo_err *e)
{
    return api_fail(c, 400, "invalid", "%s", err_msg(e));
}

/* Checks the body against fields; on failure the reply is set. */
static bool body_ok(api_call *c, const json_field *fields)
{
    exo_err e = EXO_ERR_INIT;
    bool ok = api_json_check(c->body, fields, "", &e) == 0;
    if (!ok)
        bad_body(c, &e);
    err_clear(&e);
    return ok;
}

static void id_text(int64_t id, char out[24])
{
    snprintf(out, 24, "%lld", (long long)id);
}

/* Wraps a JSON array from the database into {"<name>": [...]}. */
static int ok_list(api_call *c, const char *name, const char *sql, const char *const *params)
{
    cJSON *items = api_query_json(c, sql, params);
    if (!items)
        return 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, name, items);
    return api_ok(c, 200, o);
}

static int route_list_users(api_call *c)
{
    return ok_list(c, "users",
                   "SELECT coalesce(json_agg(u ORDER BY u.id), '[]') FROM (SELECT id, email, name, "
                   "role, " API_UTC("created_at") " AS created_at FROM users) u",
                   NULL);
}

static int route_create_user(api_call *c)
{
    static const json_field f[] = {{"email", JF_STRING, true},
                                   {"name", JF_STRING, false},
                                   {"role", JF_STRING, false},
                                   {0}};
    if (!body_ok(c, f))
        return 0;
    const char *email = api_json_str(c->body, "email");
    const char *role = api_json_str(c->body, "role");
    if (!strchr(email, '@'))
        return api_fail(c, 400, "invalid", "field \"email\" must be an email address");
    if (role && strcmp(role, "admin") != 0 && strcmp(role, "member") != 0)
        return api_fail(c, 400, "invalid", "field \"role\" must be admin or member");
    const char *name = api_json_str(c->body, "name");
    const char *p[] = {email, name ? name : "", role ? role : "member", NULL};
    exo_err e = EXO_ERR_INIT;
    cJSON *u = NULL;
    PGresult *r = db_query(c->db, "creating a user",
                           "WITH u AS (INSERT INTO users (email, name, role) VALUES ($1, $2, $3) "
                           "RETURNING id, email, name, role, " API_UTC("created_at") " AS "
                           "created_at) SELECT row_to_json(u) FROM u",
                           p, &e);
    if (!r && db_err_is(&e, SQLSTATE_UNIQUE_VIOLATION))
        api_fail(c, 409, "conflict", "a user with email %s exists (emails ignore case)", email);
    else if (!r)
        api_db_fail(c, &e);
    else if ((u = cJSON_Parse(PQgetvalue(r, 0, 0))))
        api_ok(c, 201, u);
    PQclear(r);
    err_clear(&e);
    return 0;
}

/* The token's expiry in microseconds from now, from "expires_in" (a
 * duration, lib/duration.h) or "expires_in_days"; 0: never. -1 with the
 * reply set when out of range. */
static int64_t token_lifetime_us(api_call *c)
{
    const char *in = api_json_str(c->body, "expires_in");
    int64_t days = api_json_int(c->body, "expires_in_days", 0);
    if (in && days)
        return api_fail(c, 400, "invalid", "give \"expires_in\" or \"expires_in_days\", not both"),
               -1;
    if (days < 0 || days > API_TOKEN_MAX_DAYS)
        return api_fail(c, 400, "invalid", "field \"expires_in_days\" must be 1 to %d",
                        API_TOKEN_MAX_DAYS),
               -1;
    if (!in)
        return days * 86400 * INT64_C(1000000);
    int64_t ns;
    if (duration_parse(in, &ns) < 0 || ns < DURATION_S ||
        ns > (int64_t)API_TOKEN_MAX_DAYS * 86400 * DURATION_S)
        return api_fail(c, 400, "invalid",
                        "field \"expires_in\" must be a duration from 1s to %dh, such as \"720h\"",
                        API_TOKEN_MAX_DAYS * 24),
               -1;
    return ns / 1000;
}

/* The token's hash, its row and an audit event in one statement: a token
 * exists only with the record of who made it. */
static int route_create_token(api_call *c)
{
    static const json_field f[] = {{"name", JF_STRING, false},
                                   {"expires_in_days", JF_INT_OR_NULL, false},
                                   {"expires_in", JF_STRING, false},
                                   {0}};
    /* POST tokens: for the caller; POST users/{id}/tokens: for that user. */
    int64_t user = c->user_id;
    if (c->nseg == 3 && !api_id(c->seg[1], &user))
        return api_fail(c, 404, "not_found", "no user %s", c->seg[1]);
    if (!body_ok(c, f))
        return 0;
    if (!c->admin && user != c->user_id)
        return api_fail(c, 403, "forbidden", "only an admin makes tokens for other users");
    int64_t us = token_lifetime_us(c);
    if (us < 0)
        return 0;
    /* 32 random bytes; only their hash is stored, the token is shown once. */
    unsigned char raw[32];
    crypto_random(raw, sizeof raw);
    char token[70] = "exo_";
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(token + 4 + 2 * i, 3, "%02x", raw[i]);
    crypto_wipe(raw, sizeof raw);
    char hash[65], uid[24], life[24], me[24];
    api_token_hash_hex(token, hash);
    id_text(user, uid);
    id_text(c->user_id, me);
    snprintf(life, sizeof life, "%lld", (long long)us);
    const char *name = api_json_str(c->body, "name");
    const char *p[] = {uid, name ? name : "", hash, life, me, NULL};
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(
        c->db, "creating a token",
        "WITH t AS (INSERT INTO tokens (user_id, name, token_hash, expires_at) VALUES "
        "($1::bigint, $2, decode($3, 'hex'), CASE WHEN $4::bigint > 0 THEN now() + $4::bigint * "
        "interval '1 microsecond' END) RETURNING id, user_id, name, expires_at), a AS (INSERT "
        "INTO audit_events (user_id, action, detail) SELECT $5::bigint, 'token.create', "
        "jsonb_build_object('token_id', id, 'token_user_id', user_id, 'token_name', name) FROM t) "
        "SELECT id, name, " API_UTC("expires_at") " FROM t",
        p, &e);
    if (!r && db_err_is(&e, "23503")) {
        api_fail(c, 404, "not_found", "no user %s", uid);
    } else if (!r) {
        api_db_fail(c, &e);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(r, 0, 0)));
        cJSON_AddNumberToObject(o, "user_id", (double)user);
        cJSON_AddStringToObject(o, "name", PQgetvalue(r, 0, 1));
        if (PQgetisnull(r, 0, 2))
            cJSON_AddNullToObject(o, "expires_at");
        else
            cJSON_AddStringToObject(o, "expires_at", PQgetvalue(r, 0, 2));
        cJSON_AddStringToObject(o, "token", token);
        api_ok(c, 201, o);
    }
    crypto_wipe(token, sizeof token);
    PQclear(r);
    err_clear(&e);
    return 0;
}

/* Tokens as their owners see them: never the token or its hash. Revoked
 * ones are gone from the list (the audit log keeps them). */
static int route_list_tokens(api_call *c)
{
    api_list_query q;
    if (api_list_query_of(c, 0, &q) < 0)
        return 0;
    char me[24];
    id_text(c->admin ? 0 : c->user_id, me);
    const char *p[] = {me, NULL};
    return api_list_reply(c, "tokens",
                          "SELECT id, user_id, name, " API_UTC("created_at") " AS created_at, "
                          API_UTC("expires_at") " AS expires_at, " API_UTC("last_used_at")
                          " AS last_used_at, coalesce(expires_at <= now(), false) AS expired "
                          "FROM tokens WHERE revoked_at IS NULL AND ($3::bigint = 0 OR user_id = "
                          "$3::bigint)",
                          &q, p);
}

/* Revokes in one statement with its audit event (who revoked which token
 * of whom). Another user's token is "not found" to a member: its existence
 * is not theirs to learn. */
static int route_revoke_token(api_call *c)
{
    int64_t id;
    if (!api_id(c->seg[1], &id))
        return api_fail(c, 404, "not_found", "no token %s", c->seg[1]);
    char tid[24], owner[24], me[24];
    id_text(id, tid);
    id_text(c->admin ? 0 : c->user_id, owner);
    id_text(c->user_id, me);
    const char *p[] = {tid, owner, me, NULL};
    cJSON *o = api_query_json(
        c,
        "WITH t AS (UPDATE tokens SET revoked_at = now() WHERE id = $1::bigint AND revoked_at IS "
        "NULL AND ($2::bigint = 0 OR user_id = $2::bigint) RETURNING id, user_id, name, "
        "revoked_at), a AS (INSERT INTO audit_events (user_id, action, detail) SELECT $3::bigint, "
        "'token.revoke', jsonb_build_object('token_id', id, 'token_user_id', user_id, "
        "'token_name', name) FROM t) SELECT row_to_json(r) FROM (SELECT id, user_id, name, "
        API_UTC("revoked_at") " AS revoked_at FROM t) r",
        p);
    if (!o && c->status == 404)
        return api_fail(c, 404, "not_found", "no token %lld (or it was revoked already)",
                        (long long)id);
    return o ? api_ok(c, 200, o) : 0;
}

static int route_list_deployments(api_call *c)
{
    return ok_list(c, "deployments",
                   "SELECT coalesce(json_agg(d ORDER BY d.id), '[]') FROM (SELECT " DEPLOYMENT_COLUMNS
                   " FROM deployments) d",
                   NULL);
}

static int one_deployment(api_call *c, int status, int64_t id)
{
    char d[24];
    id_text(id, d);
    const char *p[] = {d, NULL};
    cJSON *o = api_query_json(c,
                              "SELECT row_to_json(d) FROM (SELECT " DEPLOYMENT_COLUMNS
                              " FROM deployments WHERE id = $1::bigint) d",
                              p);
    if (!o && c->status == 404)
        return api_fail(c, 404, "not_found", "no deployment %lld", (long long)id);
    return o ? api_ok(c, status, o) : 0;
}

static int route_create_deployment(api_call *c)
{
    static const json_field f[] = {{"name", JF_STRING, true},
                                   {"retention_days", JF_INT_OR_NULL, false},
                                   {0}};
    if (!body_ok(c, f))
        return 0;
    const char *name = api_json_str(c->body, "name");
    int64_t days = api_json_int(c->body, "retention_days", 0);
    bool given = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(c->body, "retention_days"));
    if (!*name)
        return api_fail(c, 400, "invalid", "field \"name\" must not be empty");
    if ((given && days < 1) || days > 36500)
        return api_fail(c, 400, "invalid", "field \"retention_days\" must be 1 to 36500");
    char d[24];
    snprintf(d, sizeof d, "%lld", (long long)days);
    const char *p[] = {name, d, NULL};
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(c->db, "creating a deployment",
                           "INSERT INTO deployments (name, retention_days) VALUES ($1, "
                           "nullif($2::int, 0)) RETURNING id",
                           p, &e);
    int64_t id = r ? atoll(PQgetvalue(r, 0, 0)) : 0;
    if (!r && db_err_is(&e, SQLSTATE_UNIQUE_VIOLATION))
        api_fail(c, 409, "conflict", "a deployment named \"%s\" exists", name);
    else if (!r)
        api_db_fail(c, &e);
    PQclear(r);
    err_clear(&e);
    return id ? one_deployment(c, 201, id) : 0;
}

static int route_get_deployment(api_call *c)
{
    int64_t id;
    if (!api_id(c->seg[1], &id))
        return api_fail(c, 404, "not_found", "no deployment %s", c->seg[1]);
    return one_deployment(c, 200, id);
}

static int route_set_retention(api_call *c)
{
    static const json_field f[] = {{"days", JF_INT_OR_NULL, true}, {0}};
    int64_t id;
    if (!api_id(c->seg[1], &id))
        return api_fail(c, 404, "not_found", "no deployment %s", c->seg[1]);
    if (!body_ok(c, f))
        return 0;
    int64_t days = api_json_int(c->body, "days", 0);
    if (days < 0 || days > 36500 || (days == 0 && !cJSON_IsNull(cJSON_GetObjectItem(c->body, "days"))))
        return api_fail(c, 400, "invalid", "field \"days\" must be 1 to 36500, or null for the "
                                           "default");
    char d[24], n[24];
    id_text(id, d);
    snprintf(n, sizeof n, "%lld", (long long)days);
    const char *p[] = {d, n, NULL};
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(c->db, "setting retention",
                           "UPDATE deployments SET retention_days = nullif($2::int, 0) WHERE id = "
                           "$1::bigint",
                           p, &e);
    bool found = r && atoi(PQcmdTuples(r)) == 1;
    if (!r)
        api_db_fail(c, &e);
    else if (!found)
        api_fail(c, 404, "not_found", "no deployment %lld", (long long)id);
    PQclear(r);
    err_clear(&e);
    return found ? one_deployment(c, 200, id) : 0;
}

/* Runtime statuses: tool_status is stored encrypted under the keyring, bound
 * to its row and column; the previous value moves to last_tool_status. */
static int route_put_status(api_call *c)
{
    static const json_field f[] = {{"tool_status", JF_JSON, true}, {0}};
    int64_t dep;
    if (!api_id(c->seg[1], &dep))
        return api_fail(c, 404, "not_found", "no deployment %s", c->seg[1]);
    if (!body_ok(c, f))
        return 0;
    char d[24];
    id_text(dep, d);
    const char *p1[] = {d, c->seg[3], NULL};
    exo_err e = EXO_ERR_INIT;
    char *json = api_json_print(cJSON_GetObjectItemCaseSensitive(c->body, "tool_status"));
    char *sealed = NULL, *prev_sealed = NULL;
    buf prev = BUF_INIT;
    PGresult *r = NULL;
    if (db_exec(c->db, "BEGIN", "BEGIN", NULL, &e) < 0)
        goto fail;
    /* Writers of one status go one at a time (a transaction lock, which
     * holds behind PgBouncer); then the row, locked, with its current value:
     * its id is bound into the ciphertext. */
    if (db_exec(c->db, "locking a runtime status",
                "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))", p1,
                &e) < 0)
        goto fail;
    r = db_query(c->db, "writing a runtime status",
                 "WITH found AS (SELECT id, tool_status FROM runtime_statuses WHERE deployment_id "
                 "= $1::bigint AND runtime = $2 ORDER BY id LIMIT 1 FOR UPDATE), ins AS (INSERT "
                 "INTO runtime_statuses (deployment_id, runtime) SELECT $1::bigint, $2 WHERE NOT "
                 "EXISTS (SELECT 1 FROM found) RETURNING id, tool_status) SELECT id::text, "
                 "tool_status FROM found UNION ALL SELECT id::text, tool_status FROM ins",
                 p1, &e);
    if (!r)
        goto fail;
    const char *row = PQgetvalue(r, 0, 0);
    if (!PQgetisnull(r, 0, 1)) {
        if (keyring_decrypt(c->a->ring, "runtime_statuses", "tool_status", row,
                            PQgetvalue(r, 0, 1), &prev, &e) < 0)
            goto fail;
        prev_sealed = keyring_encrypt(c->a->ring, "runtime_statuses", "last_tool_status", row,
                                      prev.ptr, prev.len);
    }
    sealed = keyring_encrypt(c->a->ring, "runtime_statuses", "tool_status", row, json,
                             strlen(json));
    const char *p2[] = {row, sealed, prev_sealed ? prev_sealed : "", NULL};
    if (db_exec(c->db, "writing a runtime status",
                "UPDATE runtime_statuses SET tool_status = $2, last_tool_status = "
                "coalesce(nullif($3, ''), last_tool_status), updated_at = now() WHERE id = "
                "$1::bigint",
                p2, &e) < 0 ||
        db_exec(c->db, "COMMIT", "COMMIT", NULL, &e) < 0)
        goto fail;
    api_ok(c, 200, cJSON_Duplicate(c->body, true));
    goto out;
fail:
    /* pool_put closes a connection left inside the transaction. */
    if (db_err_is(&e, "23503"))
        api_fail(c, 404, "not_found", "no deployment %lld", (long long)dep);
    else
        api_db_fail(c, &e);
out:
    PQclear(r);
    free(sealed);
    free(prev_sealed);
    crypto_wipe(prev.ptr, prev.len);
    buf_free(&prev);
    crypto_wipe(json, strlen(json));
    free(json);
    err_clear(&e);
    return 0;
}

static int route_list_statuses(api_call *c)
{
    int64_t dep;
    if (!api_id(c->seg[1], &dep))
        return api_fail(c, 404, "not_found", "no deployment %s", c->seg[1]);
    char d[24];
    id_text(dep, d);
    const char *p[] = {d, NULL};
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(c->db, "reading runtime statuses",
                           "SELECT id::text, runtime, tool_status, last_tool_status, " API_UTC(
                               "updated_at") " FROM runtime_statuses WHERE deployment_id = "
                                             "$1::bigint ORDER BY runtime",
                           p, &e);
    if (!r) {
        api_db_fail(c, &e);
        err_clear(&e);
        return 0;
    }
    cJSON *items = cJSON_CreateArray();
    buf plain = BUF_INIT;
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "runtime", PQgetvalue(r, i, 1));
        static const char *const cols[] = {"tool_status", "last_tool_status"};
        for (int k = 0; k < 2; k++) {
            cJSON *v = NULL;
            buf_clear(&plain);
            if (!PQgetisnull(r, i, 2 + k) &&
                keyring_decrypt(c->a->ring, "runtime_statuses", cols[k], PQgetvalue(r, i, 0),
                                PQgetvalue(r, i, 2 + k), &plain, &e) == 0)
                v = cJSON_ParseWithLength(plain.ptr, plain.len);
            cJSON_AddItemToObject(item, cols[k], v ? v : cJSON_CreateNull());
        }
        cJSON_AddStringToObject(item, "updated_at", PQgetvalue(r, i, 4));
        cJSON_AddItemToArray(items, item);
    }
    crypto_wipe(plain.ptr, plain.len);
    buf_free(&plain);
    PQclear(r);
    err_clear(&e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "runtime_statuses", items);
    return api_ok(c, 200, o);
}

static int route_create_session(api_call *c)
{
    static const json_field f[] = {{"deployment_id", JF_INT, true}, {0}};
    if (!body_ok(c, f))
        return 0;
    char d[24], u[24];
    id_text(api_json_int(c->body, "deployment_id", 0), d);
    id_text(c->user_id, u);
    const char *p[] = {d, u, NULL};
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(c->db, "creating a session",
                           "WITH s AS (INSERT INTO sessions (deployment_id, user_id) VALUES "
                           "($1::bigint, $2::bigint) RETURNING " SESSION_COLUMNS
                           ") SELECT row_to_json(s) FROM s",
                           p, &e);
    cJSON *o = r ? cJSON_Parse(PQgetvalue(r, 0, 0)) : NULL;
    if (!r && db_err_is(&e, "23503"))
        api_fail(c, 422, "unknown_reference", "no deployment %s", d);
    else if (!r)
        api_db_fail(c, &e);
    else
        api_ok(c, 201, o);
    PQclear(r);
    err_clear(&e);
    return 0;
}

/* Sessions newest first, a page at a time; by deployment and by when they
 * started: since <= started_at < until. */
static int route_list_sessions(api_call *c)
{
    api_list_query q;
    if (api_list_query_of(c, API_LIST_DEPLOYMENT | API_LIST_TIME, &q) < 0)
        return 0;
    char d[24];
    id_text(q.deployment_id, d);
    const char *p[] = {d, q.since ? q.since : "", q.until ? q.until : "", NULL};
    return api_list_reply(c, "sessions",
                          "SELECT " SESSION_COLUMNS " FROM sessions WHERE ($3::bigint = 0 OR "
                          "deployment_id = $3::bigint) AND ($4 = '' OR started_at >= "
                          "nullif($4, '')::timestamptz) AND ($5 = '' OR started_at < nullif($5, "
                          "'')::timestamptz)",
                          &q, p);
}

static int route_get_session(api_call *c)
{
    int64_t id;
    if (!api_id(c->seg[1], &id))
        return api_fail(c, 404, "not_found", "no session %s", c->seg[1]);
    const char *p[] = {c->seg[1], NULL};
    cJSON *o = api_query_json(c,
                              "SELECT row_to_json(s) FROM (SELECT " SESSION_COLUMNS
                              " FROM sessions WHERE id = $1::bigint) s",
                              p);
    if (!o && c->status == 404)
        return api_fail(c, 404, "not_found", "no session %s", c->seg[1]);
    return o ? api_ok(c, 200, o) : 0;
}

/* Checks every event of a batch before any is written. */
static bool events_ok(api_call *c, const json_field *fields, cJSON **events)
{
    static const json_field batch[] = {{"events", JF_ARRAY, true}, {0}};
    if (!body_ok(c, batch))
        return false;
    *events = cJSON_GetObjectItemCaseSensitive(c->body, "events");
    int n = cJSON_GetArraySize(*events);
    if (n == 0 || n > API_MAX_BATCH) {
        api_fail(c, 400, "invalid", "field \"events\" must hold 1 to %d events", API_MAX_BATCH);
        return false;
    }
    exo_err e = EXO_ERR_INIT;
    int i = 0;
    for (const cJSON *ev = (*events)->child; ev; ev = ev->next, i++) {
        char where[32];
        snprintf(where, sizeof where, "events[%d]", i);
        if (api_json_check(ev, fields, where, &e) < 0) {
            bad_body(c, &e);
            err_clear(&e);
            return false;
        }
    }
    return true;
}

/* Inserts a whole batch in one statement: all of it or none. $1 is the
 * batch as JSON; `extra` the other parameter. No row inserted means the
 * session it names does not exist. */
static int insert_batch(api_call *c, const char *what, const char *sql, const cJSON *events,
                        const char *extra, const char *kind)
{
    char *json = api_json_print(events);
    const char *p[] = {json, extra, NULL};
    exo_err e = EXO_ERR_INIT;
    PGresult *r = db_query(c->db, what, sql, p, &e);
    long n = r ? atol(PQcmdTuples(r)) : 0;
    if (!r && db_err_is(&e, "23503")) {
        api_fail(c, 422, "unknown_reference", "%s", err_msg(&e));
    } else if (!r) {
        api_db_fail(c, &e);
    } else if (n == 0) {
        api_fail(c, 404, "not_found", "no session %s", extra);
    } else {
        metrics_events(kind, (uint64_t)n);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "accepted", (double)n);
        api_ok(c, 201, o);
    }
    PQclear(r);
    free(json);
    err_clear(&e);
    return 0;
}

static int route_add_session_events(api_call *c)
{
    static const json_field f[] = {{"time", JF_TIME, false},
                                   {"kind", JF_STRING, true},
                                   {"data", JF_JSON, false},
                                   {0}};
    int64_t id;
    cJSON *events;
    if (!api_id(c->seg[1], &id))
        return api_fail(c, 404, "not_found", "no session %s", c->seg[1]);
    if (!events_ok(c, f, &events))
        return 0;
    return insert_batch(c, "adding session events",
                        "INSERT INTO session_events (session_id, deployment_id, created_at, kind, "
                        "data) SELECT s.id, s.deployment_id, coalesce(e.time, now()), e.kind, "
                        "e.data FROM sessions s, jsonb_to_recordset($1::jsonb) AS e(time "
                        "timestamptz, kind text, data jsonb) WHERE s.id = $2::bigint",
                        events, c->seg[1], "session");
}

static int route_list_session_events(api_call *c)
{
    int64_t id;
    if (!api_id(c->seg[1], &id))
        return api_fail(c, 404, "not_found", "no session %s", c->seg[1]);
    const char *p[] = {c->seg[1], NULL};
    return ok_list(c, "events",
                   "SELECT coalesce(json_agg(e ORDER BY e.time, e.id), '[]') FROM (SELECT "
                   "id, " API_UTC("created_at") " AS time, kind, data FROM session_events WHERE "
                   "session_id = $1::bigint ORDER BY created_at, id LIMIT 10000) e",
                   p);
}

static int route_add_audit_events(api_call *c)
{
    static const json_field f[] = {{"time", JF_TIME, false},
                                   {"action", JF_STRING, true},
                                   {"deployment_id", JF_INT_OR_NULL, false},
                                   {"detail", JF_JSON, false},
                                   {0}};
    cJSON *events;
    if (!events_ok(c, f, &events))
        return 0;
    char u[24];
    id_text(c->user_id, u);
    return insert_batch(c, "adding audit events",
                        "INSERT INTO audit_events (deployment_id, user_id, created_at, action, "
                        "detail) SELECT e.deployment_id, $2::bigint, coalesce(e.time, now()), "
                        "e.action, e.detail FROM jsonb_to_recordset($1::jsonb) AS "
                        "e(deployment_id bigint, time timestamptz, action text, detail jsonb)",
                        events, u, "audit");
}

static int route_list_audit_events(api_call *c)
{
    return ok_list(c, "events",
                   "SELECT coalesce(json_agg(e ORDER BY e.time DESC), '[]') FROM (SELECT id, "
                   "deployment_id, user_id, " API_UTC("created_at") " AS time, action, detail "
                   "FROM audit_events ORDER BY created_at DESC LIMIT 1000) e",
                   NULL);
}

static const api_route routes[] = {
    {"GET", "users", route_list_users, true},
    {"POST", "users", route_create_user, true},
    {"POST", "users/*/tokens", route_create_token, false},
    {"GET", "tokens", route_list_tokens, false},
    {"POST", "tokens", route_create_token, false},
    {"DELETE", "tokens/*", route_revoke_token, false},
    {"GET", "deployments", route_list_deployments, false},
    {"POST", "deployments", route_create_deployment, false},
    {"GET", "deployments/*", route_get_deployment, false},
    {"PUT", "deployments/*/retention", route_set_retention, false},
    {"GET", "deployments/*/runtime-statuses", route_list_statuses, false},
    {"PUT", "deployments/*/runtime-statuses/*", route_put_status, false},
    {"GET", "sessions", route_list_sessions, false},
    {"POST", "sessions", route_create_session, false},
    {"GET", "sessions/*", route_get_session, false},
    {"POST", "sessions/*/events", route_add_session_events, false},
    {"GET", "sessions/*/events", route_list_session_events, false},
    {"POST", "audit-events", route_add_audit_events, false},
    {"GET", "audit-events", route_list_audit_events, true},
};

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

const api_route *api_routes_match(api_call *c)
{
    const api_route *route = NULL;
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!matches(routes[i].pattern, c))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, c->method) == 0)
            route = &routes[i];
    }
    if (!route && path_known)
        api_fail(c, 405, "method_not_allowed", "%s is not allowed here", c->method);
    else if (!route)
        api_fail(c, 404, "not_found", "no such API path");
    return route;
}

/* The helpers every route handler and the dispatch share: replies, ids,
 * queries whose answer is JSON, token hashes. They call nothing of the API
 * back: dispatch (api.c) and the routes (api_routes.c) call them. */
#include "api_call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "db.h"
#include "log.h"

void api_token_hash_hex(const char *token, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
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

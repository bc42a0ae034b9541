/* One request to the Exo API with libcurl: JSON in, JSON out, and every
 * way it can fail turned into one line a person can act on.
 *
 * Errors (the function returns -1, err->msg says what happened, without the
 * "exo: " prefix and never with the token or a password from the URL):
 *   - not reached (refused, DNS, timeout): http_status 0,
 *     "cannot reach URL: Couldn't connect to server (is EXO_URL right?)";
 *   - TLS verification failed: http_status 0, names the certificate problem;
 *   - an answer that is not JSON, or larger than HTTP_CLIENT_MAX_BODY:
 *     http_status set, the message names the status;
 *   - a JSON answer with a status outside 2xx: http_status set; 401 becomes
 *     "the server refused the token (401): MESSAGE — check EXO_TOKEN", other
 *     statuses the server's {"error": {"message"}} (404 "no deployment 42",
 *     409 the conflict), with the status added for 5xx and 403. */
#ifndef EXO_HTTP_CLIENT_H
#define EXO_HTTP_CLIENT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli_opts.h"
#include "err.h"

/* Larger answers are refused rather than held in memory (the reply's
 * buffer is capped at it). What exo reads are deployments and their lists
 * as JSON, far below this even for thousands of deployments; the cap is
 * there so that a wrong --url (a file server, a proxy streaming something
 * else) cannot make exo hold more. 64 MiB, the largest recording the
 * backend stores, is the most any API answer could sensibly be. */
#define HTTP_CLIENT_MAX_BODY (64L * 1024 * 1024)

typedef struct {
    long status; /* 0 when no answer came */
    buf body;    /* the bytes as received */
    cJSON *json; /* body parsed; NULL when it is not JSON */
} http_reply;

#define HTTP_REPLY_INIT {0, BUF_INIT, NULL}

/* Takes libcurl's global state; call once, before http_client_call, and
 * pair with http_client_global_cleanup. */
int http_client_global_init(exo_err *err);
void http_client_global_cleanup(void);

/* Sends METHOD o->url + path (path starts with "/api/v1/"), with `body`
 * as JSON when not NULL, and the token as a bearer token. out must be
 * HTTP_REPLY_INIT. 0 when the server
 * answered 2xx with JSON: out->json is then set. -1 otherwise, with err
 * filled as described above. `out` is filled in both cases as far as the
 * answer went; the caller frees it with http_reply_free. */
int http_client_call(const cli_opts *o, const char *method, const char *path, const cJSON *body,
                     http_reply *out, exo_err *err);

/* A transfer that streams: a file up, a 2xx answer down, or both. */
typedef struct {
    FILE *upload;             /* sent as the body (PUT), or NULL */
    long long upload_size;    /* its size in bytes */
    const char *content_type; /* of the upload */
    FILE *download;           /* a 2xx answer's bytes are written here, or NULL */
} http_stream;

/* As http_client_call, with the body read from stream->upload and a 2xx
 * answer written to stream->download as the bytes come (a buffer of
 * libcurl's at a time: memory stays flat whatever the size). An error
 * answer is read into out as http_client_call does, and worded the same.
 * --timeout bounds connecting and any stall, not the whole transfer. A
 * failed write or read is an error naming it (errno's text). */
int http_client_stream(const cli_opts *o, const char *method, const char *path,
                       const http_stream *stream, http_reply *out, exo_err *err);

void http_reply_free(http_reply *r);

#endif

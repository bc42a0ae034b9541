#include "http_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "table.h"
#include "version.h"

typedef struct {
    buf *body; /* capped at HTTP_CLIENT_MAX_BODY */
    bool too_large;
    CURL *h;
    FILE *download; /* a 2xx answer's body goes here, when set */
    bool write_failed;
    int write_errno; /* libcurl may change errno after the callback */
    /* A stream's stall: when bytes last moved, and how many had. */
    long stall_limit_s;
    double moved_at;
    curl_off_t moved;
    bool stalled;
} sink;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Ends a stream that moved no byte for --timeout seconds. libcurl's own
 * low-speed check averages over a window, so a stall after a burst would
 * take several times as long to notice. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    sink *s = ud;
    double now = now_s();
    if (dlnow + ulnow != s->moved || s->moved_at == 0) {
        s->moved = dlnow + ulnow;
        s->moved_at = now;
        return 0;
    }
    if (now - s->moved_at >= (double)s->stall_limit_s) {
        s->stalled = true;
        return 1;
    }
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;
    long status = 0;
    if (s->download)
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        /* Streamed through: memory stays flat whatever the size. */
        if (fwrite(data, 1, len, s->download) != len) {
            s->write_failed = true;
            s->write_errno = errno;
            return 0;
        }
        return len;
    }
    if (buf_append(s->body, data, len) == BUF_TOO_LARGE) {
        s->too_large = true;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    return len;
}

/* Out of memory aborts, as xmalloc does, rather than dropping a header
 * (a lost Authorization header would read as a wrong token). */
static struct curl_slist *add_header(struct curl_slist *list, const char *h)
{
    struct curl_slist *l = curl_slist_append(list, h);
    if (!l) {
        fputs("exo: out of memory\n", stderr);
        abort();
    }
    return l;
}

/* The URL as the user wrote it, with a password in it replaced by "***":
 * messages name the server but never hold a secret. */
static void url_for_messages(buf *out, const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t authority = strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < host + authority; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
    if (!colon) {
        buf_puts(out, url);
        return;
    }
    buf_append(out, url, (size_t)(colon + 1 - url));
    buf_puts(out, "***");
    buf_puts(out, at);
}

static const char *url_name(const cli_opts *o)
{
    return o->url_from == CLI_FROM_FLAG ? "--url" : "EXO_URL";
}

static bool is_tls_error(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_ISSUER_ERROR;
}

static int transport_error(const cli_opts *o, CURL *h, const char *method, bool stream,
                           CURLcode rc, const char *detail, exo_err *err)
{
    buf shown = BUF_INIT;
    url_for_messages(&shown, o->url);
    long sent = 0;
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
    if (rc == CURLE_PEER_FAILED_VERIFICATION) {
        err_set(err,
                "cannot verify the TLS certificate of %s: %s (--insecure skips the check, "
                "for testing only)",
                shown.ptr, *detail ? detail : curl_easy_strerror(rc));
    } else if (is_tls_error(rc)) {
        /* libcurl's own line names the TLS problem; its generic text does not. */
        err_set(err, "cannot reach %s: %s (is %s right?)", shown.ptr,
                *detail ? detail : curl_easy_strerror(rc), url_name(o));
    } else if (rc == CURLE_OPERATION_TIMEDOUT && sent > 0 && stream) {
        err_set(err, "the transfer with %s stalled for %lds (--timeout waits longer)%s", shown.ptr,
                o->timeout,
                strcmp(method, "GET") != 0 ? "; the change may have been made all the same" : "");
    } else if (rc == CURLE_OPERATION_TIMEDOUT && sent > 0) {
        /* The request went out, then no answer in time: the server is there
         * but slow, and a write may have been done all the same. */
        err_set(err, "%s did not answer within %lds (--timeout waits longer)%s", shown.ptr,
                o->timeout,
                strcmp(method, "GET") != 0 ? "; the change may have been made all the same" : "");
    } else {
        err_set(err, "cannot reach %s: %s (is %s right?)", shown.ptr, curl_easy_strerror(rc),
                url_name(o));
    }
    buf_free(&shown);
    return -1;
}

/* A JSON error object's message, made safe for a terminal; NULL when the
 * answer has none. Free with free(). */
static char *server_message(const cJSON *j)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (!cJSON_IsString(m) || !*m->valuestring)
        return NULL;
    buf b = BUF_INIT;
    table_escape(&b, m->valuestring);
    return buf_detach(&b);
}

static int answer_error(const cli_opts *o, const http_reply *r, exo_err *err)
{
    long st = r->status;
    char *msg = server_message(r->json);
    buf shown = BUF_INIT;
    url_for_messages(&shown, o->url);
    if (!r->json)
        err_set(err,
                "the server at %s answered %ld with a body that is not JSON (is %s the Exo "
                "API?)",
                shown.ptr, st, url_name(o));
    else if (st == 401)
        err_set(err, "the server refused the token (401): %s — check %s",
                msg ? msg : "unauthorized",
                o->token_from == CLI_FROM_FLAG ? "--token" : "EXO_TOKEN");
    else if (st == 404 && msg && strcmp(msg, "no such API path") == 0)
        err_set(err, "the server at %s has no such API path (404; is %s the Exo API?)", shown.ptr,
                url_name(o));
    else if (st >= 500)
        err_set(err, "the server failed (%ld): %s", st, msg ? msg : "no message");
    else if (st == 403 || st == 405)
        err_set(err, "the server refused (%ld): %s", st, msg ? msg : "no message");
    else if (msg)
        err_set(err, "%s", msg);
    else
        err_set(err, "the server answered %ld without an error message", st);
    if (err)
        err->http_status = (int)st;
    free(msg);
    buf_free(&shown);
    return -1;
}

int http_client_global_init(exo_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(err, "cannot initialise libcurl");
    return 0;
}

void http_client_global_cleanup(void)
{
    curl_global_cleanup();
}

static size_t on_read(char *data, size_t size, size_t n, void *ud)
{
    FILE *f = ud;
    size_t got = fread(data, 1, size * n, f);
    return got == 0 && ferror(f) ? CURL_READFUNC_ABORT : got;
}

/* One request: a JSON body, or a file streamed up; the answer held
 * (capped), or a 2xx answer streamed down to a file. */
static int perform(const cli_opts *o, const char *method, const char *path, const cJSON *body,
                   const http_stream *stream, http_reply *out, exo_err *err)
{
    int rc = -1;
    struct curl_slist *headers = NULL;
    char *payload = NULL;
    buf url = BUF_INIT, auth = BUF_INIT, ctype = BUF_INIT;
    char detail[CURL_ERROR_SIZE] = "";
    buf_init_max(&out->body, HTTP_CLIENT_MAX_BODY);
    CURL *h = curl_easy_init();
    sink s = {&out->body, false, h, stream ? stream->download : NULL, false, 0, 0, 0, 0, false};
    if (!h) {
        err_set(err, "cannot start a libcurl handle");
        goto out;
    }

    /* "http://host:8080/" and "http://host:8080" mean the same server. */
    size_t base = strlen(o->url);
    while (base && o->url[base - 1] == '/')
        base--;
    buf_append(&url, o->url, base);
    buf_puts(&url, path);
    curl_easy_setopt(h, CURLOPT_URL, url.ptr);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* No redirects (libcurl's default, kept on purpose): following one
     * would hand the token to whichever host the answer names. */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (stream) {
        /* A transfer of 64 MiB may take longer than any fixed limit: the
         * limit is on connecting and on a stall (no byte for that long). */
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->timeout * 1000L);
        s.stall_limit_s = o->timeout;
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &s);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout * 1000L);
    }
    curl_easy_setopt(h, CURLOPT_USERAGENT, "exo/" EXO_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    if (o->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    headers = add_header(headers, "Accept: application/json");
    /* A 100-continue round trip buys nothing for bodies this small. */
    headers = add_header(headers, "Expect:");
    buf_printf(&auth, "Authorization: Bearer %s", o->token);
    headers = add_header(headers, auth.ptr);
    if (body) {
        payload = cJSON_PrintUnformatted(body);
        if (!payload) {
            err_set(err, "cannot encode the request body");
            goto out;
        }
        headers = add_header(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    }
    if (stream && stream->upload) {
        buf_printf(&ctype, "Content-Type: %s", stream->content_type);
        headers = add_header(headers, ctype.ptr);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, stream->upload);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)stream->upload_size);
    }
    if (strcmp(method, body ? "POST" : stream && stream->upload ? "PUT" : "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (cc == CURLE_WRITE_ERROR && s.write_failed) {
        err_set(err, "cannot write the answer: %s", strerror(s.write_errno));
    } else if (cc == CURLE_ABORTED_BY_CALLBACK && s.stalled) {
        transport_error(o, h, method, true, CURLE_OPERATION_TIMEDOUT, detail, err);
    } else if (cc == CURLE_ABORTED_BY_CALLBACK || cc == CURLE_READ_ERROR) {
        err_set(err, "cannot read the file to send");
    } else if (cc == CURLE_WRITE_ERROR && s.too_large) {
        err_set(err, "the server's answer (%ld) is larger than %ld MiB", out->status,
                HTTP_CLIENT_MAX_BODY / (1024 * 1024));
        if (err)
            err->http_status = (int)out->status;
    } else if (cc != CURLE_OK) {
        transport_error(o, h, method, stream != NULL, cc, detail, err);
    } else if (s.download && out->status >= 200 && out->status < 300) {
        rc = 0;
    } else {
        out->json = cJSON_ParseWithLength(out->body.ptr, out->body.len);
        if (out->json && out->status >= 200 && out->status < 300)
            rc = 0;
        else
            answer_error(o, out, err);
    }

out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(payload);
    buf_free(&url);
    buf_free(&auth);
    buf_free(&ctype);
    return rc;
}

int http_client_call(const cli_opts *o, const char *method, const char *path, const cJSON *body,
                     http_reply *out, exo_err *err)
{
    return perform(o, method, path, body, NULL, out, err);
}

int http_client_stream(const cli_opts *o, const char *method, const char *path,
                       const http_stream *stream, http_reply *out, exo_err *err)
{
    return perform(o, method, path, NULL, stream, out, err);
}

void http_reply_free(http_reply *r)
{
    cJSON_Delete(r->json);
    r->json = NULL;
    buf_free(&r->body);
    r->status = 0;
}

#include "kube_client.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "version.h"
#include "xalloc.h"

/* Past this many refused connections the server is taken for down: a
 * retry loop would only delay the one line the user needs to read. */
#define MAX_CONNECT_FAILURES 3

typedef struct {
    char *kind, *resource;
    bool namespaced;
} disc_res;

/* One group-version's discovery answer. Entries are only ever added, so a
 * kube_resource handed out earlier stays valid across refreshes. */
typedef struct disc_gv {
    struct disc_gv *next;
    char *group, *version;
    disc_res *res;
    size_t n;
    bool fetched;
} disc_gv;

struct kube_client {
    kube_config *cfg;
    CURL *h; /* reused for every request: its connection cache is the point */
    kube_client_opts o;
    char *user_agent;
    kube_stats stats;
    disc_gv *disc;
    uint64_t rng;
    long retry_after; /* from the last response's headers, -1 when absent */
    buf *resp;        /* the answer being received */
    bool too_large;   /* it went past its cap: the transfer was stopped */
    char errbuf[CURL_ERROR_SIZE];
};

/* The reason the API server would give, for answers that carry no Status. */
static const char *reason_for(long status)
{
    static const struct {
        long status;
        const char *reason;
    } reasons[] = {
        {400, "BadRequest"},      {401, "Unauthorized"},         {403, "Forbidden"},
        {404, "NotFound"},        {405, "MethodNotAllowed"},     {409, "Conflict"},
        {410, "Expired"},         {415, "UnsupportedMediaType"}, {422, "Invalid"},
        {429, "TooManyRequests"}, {500, "InternalError"},        {503, "ServiceUnavailable"},
        {504, "Timeout"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return NULL;
}

int kube_status_error(exo_err *err, long status, const char *method, const char *path,
                      const char *body, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    bool is_status = cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0;
    const cJSON *msg = is_status ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;
    const cJSON *reason = is_status ? cJSON_GetObjectItemCaseSensitive(j, "reason") : NULL;
    if (cJSON_IsString(msg) && msg->valuestring[0]) {
        err_set(err, "%s", msg->valuestring);
    } else {
        /* Not a Status (a proxy's page, a plain-text /readyz): keep one line. */
        size_t n = strcspn(body, "\r\n");
        err_set(err, "%s %s: HTTP %ld%s%.*s", method, path, status, n ? ": " : "",
                (int)(n > 200 ? 200 : n), body);
    }
    if (err) {
        const char *r = cJSON_IsString(reason) && reason->valuestring[0] ? reason->valuestring
                                                                         : reason_for(status);
        free(err->reason);
        err->reason = r ? xstrdup(r) : NULL;
        err->http_status = (int)status;
    }
    cJSON_Delete(j);
    return -1;
}

static void err_move(exo_err *dst, exo_err *src)
{
    if (dst) {
        err_clear(dst);
        *dst = *src;
    } else {
        err_clear(src);
    }
    *src = (exo_err)EXO_ERR_INIT;
}

/* splitmix64: jitter needs spread, not secrecy. */
static uint64_t next_random(kube_client *c)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Retry-After wins; else capped exponential backoff with "equal jitter"
 * (half fixed, half random) so that many clients do not retry in step. */
static long backoff_ms(kube_client *c, int attempt, long retry_after)
{
    if (retry_after >= 0)
        return retry_after * 1000 < c->o.backoff_max_ms ? retry_after * 1000 : c->o.backoff_max_ms;
    long d = c->o.backoff_base_ms;
    for (int i = 0; i < attempt && d < c->o.backoff_max_ms; i++)
        d *= 2;
    if (d > c->o.backoff_max_ms)
        d = c->o.backoff_max_ms;
    return d / 2 + (long)(next_random(c) % (uint64_t)(d / 2 + 1));
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    kube_client *c = ud;
    if (buf_append(c->resp, data, size * n) == BUF_TOO_LARGE) {
        c->too_large = true;
        return 0; /* libcurl stops the transfer with CURLE_WRITE_ERROR */
    }
    return size * n;
}

/* "64 MiB", or the bytes when the cap is not whole MiB (as in tests). */
static void put_size(buf *out, size_t n)
{
    if (n >= ((size_t)1 << 20) && n % ((size_t)1 << 20) == 0)
        buf_printf(out, "%zu MiB", n >> 20);
    else
        buf_printf(out, "%zu bytes", n);
}

static int too_large_error(exo_err *err, const char *method, const char *path, size_t cap,
                           const char *what)
{
    buf size = BUF_INIT;
    put_size(&size, cap);
    err_set(err, "%s %s: %s is larger than %s (the most this client reads)", method, path, what,
            size.ptr);
    buf_free(&size);
    return -1;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    kube_client *c = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char *v = xstrndup(data + 12, len - 12);
        char *end;
        long secs = strtol(v, &end, 10);
        if (end != v && secs >= 0 && strspn(end, " \t\r\n") == strlen(end)) {
            c->retry_after = secs;
        } else {
            /* An HTTP date: curl parses those. */
            time_t when = curl_getdate(v + strspn(v, " \t"), NULL);
            if (when != -1)
                c->retry_after = when > time(NULL) ? (long)(when - time(NULL)) : 0;
        }
        free(v);
    }
    return len;
}

static void setup_common(kube_client *c, CURL *h, const char *path, const kube_credentials *cr,
                         struct curl_slist **headers)
{
    buf url = BUF_INIT;
    buf_printf(&url, "%s%s", kube_config_server(c->cfg), path);
    curl_easy_setopt(h, CURLOPT_URL, url.ptr);
    buf_free(&url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    size_t ca_len;
    const unsigned char *ca = kube_config_ca(c->cfg, &ca_len);
    if (kube_config_insecure(c->cfg)) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (ca) {
        struct curl_blob b = {(void *)ca, ca_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    }
    if (cr->cert) {
        struct curl_blob cert = {(void *)cr->cert, cr->cert_len, CURL_BLOB_COPY};
        struct curl_blob key = {(void *)cr->key, cr->key_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    *headers = curl_slist_append(*headers, "Accept: application/json");
    /* A 100-continue round trip per large body buys nothing against the API server. */
    *headers = curl_slist_append(*headers, "Expect:");
    if (cr->token) {
        buf auth = BUF_INIT;
        buf_printf(&auth, "Authorization: Bearer %s", cr->token);
        *headers = curl_slist_append(*headers, auth.ptr);
        buf_free(&auth);
    }
}

int kube_client_setup_handle(kube_client *c, CURL *h, const char *path_and_query,
                             struct curl_slist **headers, exo_err *err)
{
    kube_credentials cr;
    *headers = NULL;
    if (kube_config_credentials(c->cfg, &cr, err) < 0)
        return -1;
    setup_common(c, h, path_and_query, &cr, headers);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
    return 0;
}

static void transport_error(kube_client *c, CURLcode rc, bool connecting, exo_err *e)
{
    const char *server = kube_config_server(c->cfg);
    long os_errno = 0;
    curl_easy_getinfo(c->h, CURLINFO_OS_ERRNO, &os_errno);
    if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
        err_set(e, "%s: connection refused", server);
    else if (rc == CURLE_COULDNT_CONNECT && os_errno)
        err_set(e, "%s: %s", server, strerror((int)os_errno));
    else if (rc == CURLE_OPERATION_TIMEDOUT && connecting)
        err_set(e, "%s: could not connect within %ld ms", server, c->o.connect_timeout_ms);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        err_set(e, "%s: no answer within %ld ms", server, c->o.timeout_ms);
    else
        err_set(e, "%s: %s", server, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
}

/* Counts a retry by its cause and tells opts.on_retry. */
static void note_retry(kube_client *c, const char *method, const char *path, const char *cause,
                       long wait_ms, const exo_err *why)
{
    unsigned long *n = strcmp(cause, "429") == 0       ? &c->stats.retried_429
                       : strcmp(cause, "500") == 0     ? &c->stats.retried_500
                       : strcmp(cause, "503") == 0     ? &c->stats.retried_503
                       : strcmp(cause, "5xx") == 0     ? &c->stats.retried_5xx
                       : strcmp(cause, "timeout") == 0 ? &c->stats.retried_timeout
                       : strcmp(cause, "dropped") == 0 ? &c->stats.retried_dropped
                                                       : NULL;
    if (n)
        (*n)++;
    c->stats.retries++;
    if (c->o.on_retry)
        c->o.on_retry(c->o.on_retry_ud, method, path, cause, wait_ms, err_msg(why));
}

/* kube_request; retry_safe: a POST that cannot create twice (see
 * kube_create), retried like any other method. */
static int request(kube_client *c, const char *method, const char *path_and_query,
                   const char *content_type, const void *body, size_t body_len, buf *resp,
                   long *status, bool retry_safe, exo_err *err)
{
    bool post = strcmp(method, "POST") == 0 && !retry_safe, reauthed = false;
    bool maybe_done = false; /* an earlier attempt may have been processed */
    int connect_failures = 0;
    buf own = BUF_INIT;
    exo_err last = EXO_ERR_INIT;
    size_t keep = resp ? resp->len : 0;
    if (!resp)
        resp = &own;
    if (status)
        *status = 0;
    if (path_and_query[0] != '/')
        return err_set(err, "%s %s: the path must start with '/'", method, path_and_query);
    /* The answer's cap, on top of what resp holds already; a smaller cap
     * of the caller's own stays. Put back before returning. */
    size_t caller_max = resp->max, cap = c->o.max_response;
    if (!resp->max || resp->max - keep > cap)
        resp->max = keep + cap;
    else
        cap = resp->max - keep;
    c->resp = resp;
    for (int attempt = 0;; attempt++) {
        kube_credentials cr;
        struct curl_slist *headers = NULL;
        if (kube_config_credentials(c->cfg, &cr, &last) < 0)
            break;
        curl_easy_reset(c->h);
        setup_common(c, c->h, path_and_query, &cr, &headers);
        if (content_type) {
            buf ct = BUF_INIT;
            buf_printf(&ct, "Content-Type: %s", content_type);
            headers = curl_slist_append(headers, ct.ptr);
            buf_free(&ct);
        }
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c->h, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
        curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
        curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
        if (body) {
            curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        if (strcmp(method, body ? "POST" : "GET") != 0)
            curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
        c->errbuf[0] = '\0';
        c->retry_after = -1;
        if (resp->len > keep) { /* drop an earlier attempt's answer */
            resp->len = keep;
            resp->ptr[keep] = '\0';
        }
        c->too_large = false;
        CURLcode rc = curl_easy_perform(c->h);
        curl_slist_free_all(headers);
        c->stats.requests++;
        long code = 0;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
        bool retry = false;
        const char *cause = NULL;
        if (rc == CURLE_WRITE_ERROR && c->too_large) {
            /* Asking again would get the same answer. */
            if (status)
                *status = code;
            too_large_error(&last, method, path_and_query, cap, "the answer");
            break;
        } else if (rc != CURLE_OK) {
            long sent = 0;
            curl_easy_getinfo(c->h, CURLINFO_REQUEST_SIZE, &sent);
            /* Nothing sent: the server never saw the request (refused, or
             * a connect or TLS handshake that timed out). */
            transport_error(c, rc, sent == 0, &last);
            cause = rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ? "timeout"
                                                                                  : "dropped";
            if (rc == CURLE_COULDNT_CONNECT || (rc == CURLE_OPERATION_TIMEDOUT && sent == 0))
                retry = ++connect_failures < MAX_CONNECT_FAILURES;
            else
                retry = rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
                        rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE ||
                        rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2_STREAM ||
                        rc == CURLE_HTTP2;
            if (sent > 0)
                maybe_done = true;
            if (post && sent > 0)
                retry = false; /* it may have been created: retrying could create it twice */
        } else if (code >= 200 && code < 300) {
            if (status)
                *status = code;
            resp->max = caller_max;
            c->resp = NULL;
            buf_free(&own);
            err_clear(&last); /* an earlier attempt's failure */
            return 0;
        } else {
            if (status)
                *status = code;
            kube_status_error(&last, code, method, path_and_query, resp->ptr + keep,
                              resp->len - keep);
            last.retry_after = c->retry_after;
            if (code == 429)
                c->stats.throttled++;
            if (code == 401 && !reauthed && kube_config_invalidate(c->cfg)) {
                reauthed = true;
                c->stats.reauths++;
                note_retry(c, method, path_and_query, "401", 0, &last);
                continue; /* unauthenticated requests are not processed: retry now */
            }
            if (code == 409 && maybe_done && last.msg)
                err_set(&last, "%s (an earlier attempt, whose answer was lost, may have made it)",
                        last.msg);
            /* A POST that got an answer was seen by the server; only a 429
             * or 503 with Retry-After says it was turned away unprocessed. */
            bool turned_away = (code == 429 || code == 503) && c->retry_after >= 0;
            if (code == 429 || (code >= 500 && code != 501)) {
                retry = !post || turned_away;
                cause = code == 429 ? "429" : code == 500 ? "500" : code == 503 ? "503" : "5xx";
                if (!turned_away)
                    maybe_done = true;
            }
        }
        if (!retry || attempt >= c->o.max_retries)
            break;
        long wait = backoff_ms(c, attempt, c->retry_after);
        note_retry(c, method, path_and_query, cause, wait, &last);
        sleep_ms(wait);
    }
    resp->max = caller_max;
    c->resp = NULL;
    buf_free(&own);
    err_move(err, &last);
    return -1;
}

int kube_request(kube_client *c, const char *method, const char *path_and_query,
                 const char *content_type, const void *body, size_t body_len, buf *resp,
                 long *status, exo_err *err)
{
    return request(c, method, path_and_query, content_type, body, body_len, resp, status, false,
                   err);
}

static int json_call(kube_client *c, const char *method, const char *path, const char *ctype,
                     const cJSON *body, bool retry_safe, cJSON **out, exo_err *err)
{
    buf resp = BUF_INIT;
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    int rc = request(c, method, path, ctype, text, text ? strlen(text) : 0, &resp, NULL, retry_safe,
                     err);
    if (rc == 0 && out) {
        *out = cJSON_ParseWithLength(resp.ptr, resp.len);
        if (!*out)
            rc = err_set(err, "%s %s: the response is not JSON", method, path);
    }
    free(text);
    buf_free(&resp);
    return rc;
}

static void put_escaped(buf *b, const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    buf_puts(b, e);
    curl_free(e);
}

void kube_query_add(buf *path, const char *key, const char *value)
{
    buf_printf(path, "%c%s=", strchr(path->ptr, '?') ? '&' : '?', key);
    put_escaped(path, value);
}

void kube_resource_path(buf *out, const kube_resource *r, const char *ns, const char *name)
{
    if (r->group && *r->group)
        buf_printf(out, "/apis/%s/%s", r->group, r->version);
    else
        buf_printf(out, "/api/%s", r->version);
    if (r->namespaced && ns && *ns) {
        buf_puts(out, "/namespaces/");
        put_escaped(out, ns);
    }
    buf_printf(out, "/%s", r->resource);
    if (name) {
        buf_putc(out, '/');
        put_escaped(out, name);
    }
}

static const char *ns_or_default(kube_client *c, const char *ns)
{
    return ns && *ns ? ns : kube_config_namespace(c->cfg);
}

int kube_get(kube_client *c, const kube_resource *r, const char *ns, const char *name, cJSON **out,
             exo_err *err)
{
    buf path = BUF_INIT;
    kube_resource_path(&path, r, ns_or_default(c, ns), name);
    int rc = json_call(c, "GET", path.ptr, NULL, NULL, false, out, err);
    buf_free(&path);
    return rc;
}

int kube_list(kube_client *c, const kube_resource *r, const char *ns, const char *label_selector,
              long limit, cJSON **items, char **resource_version, exo_err *err)
{
    cJSON *all = cJSON_CreateArray();
    char *cont = NULL, *rv = NULL;
    buf path = BUF_INIT;
    int rc = -1;
    *items = NULL;
    if (resource_version)
        *resource_version = NULL;
    for (;;) {
        buf_clear(&path);
        kube_resource_path(&path, r, ns ? ns : kube_config_namespace(c->cfg), NULL);
        if (label_selector)
            kube_query_add(&path, "labelSelector", label_selector);
        if (limit > 0) {
            char n[32];
            snprintf(n, sizeof n, "%ld", limit);
            kube_query_add(&path, "limit", n);
        }
        if (cont)
            kube_query_add(&path, "continue", cont);
        cJSON *page = NULL;
        if (json_call(c, "GET", path.ptr, NULL, NULL, false, &page, err) < 0) {
            if (!cont || !err || err->http_status != 410)
                goto out;
            /* The continue token expired mid-list: start over, in one piece. */
            err_clear(err);
            cJSON_Delete(all);
            all = cJSON_CreateArray();
            free(cont);
            cont = NULL;
            limit = 0;
            continue;
        }
        cJSON *list = cJSON_GetObjectItemCaseSensitive(page, "items");
        while (cJSON_GetArraySize(list) > 0)
            cJSON_AddItemToArray(all, cJSON_DetachItemFromArray(list, 0));
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(page, "metadata");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(md, "continue");
        free(rv);
        rv = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
        free(cont);
        cont = cJSON_IsString(next) && next->valuestring[0] ? xstrdup(next->valuestring) : NULL;
        cJSON_Delete(page);
        if (!cont)
            break;
    }
    *items = all;
    all = NULL;
    if (resource_version) {
        *resource_version = rv ? rv : xstrdup("");
        rv = NULL;
    }
    rc = 0;
out:
    cJSON_Delete(all);
    free(cont);
    free(rv);
    buf_free(&path);
    return rc;
}

int kube_create(kube_client *c, const kube_resource *r, const char *ns, const cJSON *obj,
                unsigned flags, cJSON **out, exo_err *err)
{
    buf path = BUF_INIT;
    kube_resource_path(&path, r, ns_or_default(c, ns), NULL);
    if (flags & KUBE_DRY_RUN)
        kube_query_add(&path, "dryRun", "All");
    /* A named object is created once whatever happens to the answers: a
     * second POST of it gets 409 AlreadyExists. */
    const cJSON *name =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");
    bool safe = (flags & (KUBE_DRY_RUN | KUBE_IDEMPOTENT)) ||
                (cJSON_IsString(name) && name->valuestring[0]);
    int rc = json_call(c, "POST", path.ptr, "application/json", obj, safe, out, err);
    buf_free(&path);
    return rc;
}

int kube_apply(kube_client *c, const kube_resource *r, const char *ns, const cJSON *obj,
               const char *field_manager, unsigned flags, cJSON **out, exo_err *err)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    const cJSON *obj_ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
    if (!cJSON_IsString(name) || !name->valuestring[0])
        return err_set(err, "apply %s: the object has no metadata.name", r->resource);
    if (!field_manager || !*field_manager)
        return err_set(err, "apply %s \"%s\": a field manager is required", r->resource,
                       name->valuestring);
    if (!ns && cJSON_IsString(obj_ns))
        ns = obj_ns->valuestring;
    cJSON *body = cJSON_Duplicate(obj, 1);
    /* The server owns managedFields; sending them back would fight it. */
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "metadata"),
                                            "managedFields");
    buf path = BUF_INIT;
    kube_resource_path(&path, r, ns_or_default(c, ns), name->valuestring);
    kube_query_add(&path, "fieldManager", field_manager);
    if (flags & KUBE_FORCE)
        kube_query_add(&path, "force", "true");
    if (flags & KUBE_DRY_RUN)
        kube_query_add(&path, "dryRun", "All");
    /* JSON is YAML: the API server takes it as an apply patch. */
    int rc = json_call(c, "PATCH", path.ptr, "application/apply-patch+yaml", body, false, out, err);
    buf_free(&path);
    cJSON_Delete(body);
    return rc;
}

int kube_apply_manifest(kube_client *c, const cJSON *obj, const char *field_manager, unsigned flags,
                        cJSON **out, exo_err *err)
{
    const cJSON *api = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    kube_resource r;
    if (!cJSON_IsString(api) || !cJSON_IsString(kind))
        return err_set(err, "apply: the manifest has no apiVersion or kind");
    if (kube_discover(c, api->valuestring, kind->valuestring, &r, err) < 0)
        return -1;
    return kube_apply(c, &r, NULL, obj, field_manager, flags, out, err);
}

int kube_delete(kube_client *c, const kube_resource *r, const char *ns, const char *name,
                kube_propagation propagation, unsigned flags, exo_err *err)
{
    static const char *const policies[] = {NULL, "Background", "Foreground", "Orphan"};
    buf path = BUF_INIT;
    kube_resource_path(&path, r, ns_or_default(c, ns), name);
    if (propagation > KUBE_PROPAGATE_DEFAULT && propagation <= KUBE_PROPAGATE_ORPHAN)
        kube_query_add(&path, "propagationPolicy", policies[propagation]);
    if (flags & KUBE_DRY_RUN)
        kube_query_add(&path, "dryRun", "All");
    int rc = json_call(c, "DELETE", path.ptr, NULL, NULL, false, NULL, err);
    buf_free(&path);
    return rc;
}

/* Adds what the server serves in gv and this cache lacks. A 404 means the
 * group-version is not served (yet): an empty answer, not an error. */
static int disc_fetch(kube_client *c, disc_gv *gv, exo_err *err)
{
    buf path = BUF_INIT, resp = BUF_INIT;
    long status;
    cJSON *j = NULL;
    int rc = -1;
    if (*gv->group)
        buf_printf(&path, "/apis/%s/%s", gv->group, gv->version);
    else
        buf_printf(&path, "/api/%s", gv->version);
    if (kube_request(c, "GET", path.ptr, NULL, NULL, 0, &resp, &status, err) < 0) {
        if (status == 404) {
            err_clear(err);
            gv->fetched = true;
            rc = 0;
        }
        goto out;
    }
    j = cJSON_ParseWithLength(resp.ptr, resp.len);
    if (!j) {
        err_set(err, "GET %s: the response is not JSON", path.ptr);
        goto out;
    }
    const cJSON *e;
    cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(j, "resources")) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(e, "kind");
        if (!cJSON_IsString(name) || !cJSON_IsString(kind) || strchr(name->valuestring, '/'))
            continue; /* subresources (pods/log) are not addressable kinds */
        bool have = false;
        for (size_t i = 0; i < gv->n && !have; i++)
            have = strcmp(gv->res[i].resource, name->valuestring) == 0;
        if (have)
            continue;
        gv->res = xrealloc(gv->res, (gv->n + 1) * sizeof *gv->res);
        gv->res[gv->n].kind = xstrdup(kind->valuestring);
        gv->res[gv->n].resource = xstrdup(name->valuestring);
        gv->res[gv->n].namespaced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "namespaced"));
        gv->n++;
    }
    gv->fetched = true;
    rc = 0;
out:
    cJSON_Delete(j);
    buf_free(&path);
    buf_free(&resp);
    return rc;
}

static bool disc_lookup(const disc_gv *gv, const char *kind, kube_resource *out)
{
    for (size_t i = 0; i < gv->n; i++) {
        if (strcmp(gv->res[i].kind, kind) == 0) {
            out->group = gv->group;
            out->version = gv->version;
            out->resource = gv->res[i].resource;
            out->namespaced = gv->res[i].namespaced;
            return true;
        }
    }
    return false;
}

int kube_discover(kube_client *c, const char *api_version, const char *kind, kube_resource *out,
                  exo_err *err)
{
    const char *slash = strchr(api_version, '/');
    char *group = slash ? xstrndup(api_version, (size_t)(slash - api_version)) : xstrdup("");
    const char *version = slash ? slash + 1 : api_version;
    disc_gv *gv = c->disc;
    while (gv && !(strcmp(gv->group, group) == 0 && strcmp(gv->version, version) == 0))
        gv = gv->next;
    if (!gv) {
        gv = xcalloc(1, sizeof *gv);
        gv->group = group;
        gv->version = xstrdup(version);
        gv->next = c->disc;
        c->disc = gv;
    } else {
        free(group);
    }
    bool just_fetched = !gv->fetched;
    if (!gv->fetched && disc_fetch(c, gv, err) < 0)
        return -1;
    if (disc_lookup(gv, kind, out))
        return 0;
    /* A miss in an older answer may be a CRD created since: ask once more. */
    if (!just_fetched && disc_fetch(c, gv, err) < 0)
        return -1;
    if (disc_lookup(gv, kind, out))
        return 0;
    err_set(err, "the server has no kind \"%s\" in \"%s\" (is its CRD installed and established?)",
            kind, api_version);
    if (err) {
        free(err->reason);
        err->reason = xstrdup("NotFound");
    }
    return -1;
}

int kube_client_new(kube_client **out, kube_config *cfg, const kube_client_opts *opts, exo_err *err)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(err, "libcurl: global initialisation failed");
    kube_client *c = xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->h = curl_easy_init();
    if (!c->h) {
        kube_client_free(c);
        return err_set(err, "libcurl: cannot create a handle");
    }
    if (opts)
        c->o = *opts;
    c->o.timeout_ms = c->o.timeout_ms > 0 ? c->o.timeout_ms : 60000;
    c->o.connect_timeout_ms = c->o.connect_timeout_ms > 0 ? c->o.connect_timeout_ms : 5000;
    c->o.max_retries = c->o.max_retries > 0 ? c->o.max_retries : c->o.max_retries < 0 ? 0 : 6;
    c->o.backoff_base_ms = c->o.backoff_base_ms > 0 ? c->o.backoff_base_ms : 250;
    c->o.backoff_max_ms = c->o.backoff_max_ms > 0 ? c->o.backoff_max_ms : 30000;
    c->o.max_response = c->o.max_response ? c->o.max_response : KUBE_MAX_RESPONSE;
    c->o.max_watch_line = c->o.max_watch_line ? c->o.max_watch_line : KUBE_MAX_WATCH_LINE;
    c->user_agent = xstrdup(c->o.user_agent ? c->o.user_agent : "exo/" EXO_VERSION);
    c->o.user_agent = c->user_agent;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
    *out = c;
    return 0;
}

void kube_client_free(kube_client *c)
{
    if (!c)
        return;
    while (c->disc) {
        disc_gv *gv = c->disc;
        c->disc = gv->next;
        for (size_t i = 0; i < gv->n; i++) {
            free(gv->res[i].kind);
            free(gv->res[i].resource);
        }
        free(gv->res);
        free(gv->group);
        free(gv->version);
        free(gv);
    }
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c->user_agent);
    free(c);
    curl_global_cleanup();
}

const kube_stats *kube_client_stats(const kube_client *c)
{
    return &c->stats;
}

kube_config *kube_client_config(kube_client *c)
{
    return c->cfg;
}

size_t kube_client_max_watch_line(const kube_client *c)
{
    return c->o.max_watch_line;
}

void kube_client_count_watch(kube_client *c, bool restarted, bool expired, bool failed)
{
    c->stats.watch_restarts += restarted;
    c->stats.watch_expired += expired;
    c->stats.watch_errors += failed;
}

bool kube_is_already_exists(const exo_err *err)
{
    return err && err->reason && strcmp(err->reason, "AlreadyExists") == 0;
}

void kube_stats_describe(const kube_stats *s, buf *out)
{
    const struct {
        unsigned long n;
        const char *one, *many; /* after the number */
    } parts[] = {
        {s->retried_500, "x 500", "x 500"},
        {s->retried_429, "x 429", "x 429"},
        {s->retried_503, "x 503", "x 503"},
        {s->retried_5xx, "x other 5xx", "x other 5xx"},
        {s->retried_dropped, " dropped connection", " dropped connections"},
        {s->retried_timeout, " timeout or refused connection", " timeouts or refused connections"},
        {s->reauths, " credential refresh", " credential refreshes"},
    };
    if (s->retries == 0)
        return;
    buf_printf(out, "retried %lu API request%s:", s->retries, s->retries == 1 ? "" : "s");
    const char *sep = " ";
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (parts[i].n) {
            buf_printf(out, "%s%lu%s", sep, parts[i].n,
                       parts[i].n == 1 ? parts[i].one : parts[i].many);
            sep = ", ";
        }
    }
}

bool kube_is_not_found(const exo_err *err)
{
    return err && err->reason && strcmp(err->reason, "NotFound") == 0;
}

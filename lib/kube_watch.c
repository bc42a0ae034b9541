#include "kube_watch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

/* Consumed bytes are dropped from the buffer once they are this many and
 * more than half of it, so that compaction stays linear overall. */
#define COMPACT_AT 65536

struct kube_watch {
    kube_client *c;
    CURLM *m;
    CURL *h; /* a watch holds its connection for minutes: not the client's handle */
    struct curl_slist *headers;
    char *path;
    char *rv;
    int timeout_s;
    /* Received bytes; those before `start` are consumed. Capped at the
     * client's max_watch_line (16 MiB), so what a watch holds unread is
     * bounded: while complete lines wait to be read, the transfer is
     * paused (curl keeps the chunk and delivers it again on resume), and a
     * line that alone would not fit fails the watch. */
    buf in;
    size_t start;   /* first byte of the line being received */
    size_t scanned; /* in [start, scanned) there is no '\n' */
    long status;    /* HTTP status, 0 until the first body byte */
    bool done;      /* the transfer ended */
    bool paused;    /* on_body paused the transfer until lines are read */
    bool too_large; /* an event (or an error answer) went past the cap */
    CURLcode result;
    kube_watch_type ended; /* CLOSED or EXPIRED once over; NONE before */
    char errbuf[CURL_ERROR_SIZE];
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Drops the consumed bytes. */
static void compact(kube_watch *w)
{
    memmove(w->in.ptr, w->in.ptr + w->start, w->in.len - w->start);
    w->in.len -= w->start;
    w->in.ptr[w->in.len] = '\0';
    w->scanned -= w->start;
    w->start = 0;
}

/* Appends: lines are found by kube_watch_next, which scans each byte once.
 * Only when the cap is in the way does this look for line ends itself. */
static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    kube_watch *w = ud;
    size_t len = size * n;
    if (w->status == 0)
        curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
    if (w->start && w->in.len + len > w->in.max)
        compact(w);
    if (buf_append(&w->in, data, len) == 0)
        return len;
    if (w->status == 200 &&
        memchr(w->in.ptr + w->scanned, '\n', w->in.len - w->scanned)) {
        /* Events wait to be read: hold the stream until they are. */
        w->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    /* Unread is one line, the one being received. If it ends in this chunk
     * within the cap, the chunk is taken whole (the cap stretches by the
     * rest of one chunk, and the next pause holds the stream). */
    const char *nl = w->status == 200 ? memchr(data, '\n', len) : NULL;
    if (!nl || w->in.len + (size_t)(nl - data) + 1 > w->in.max) {
        w->too_large = true;
        return 0; /* libcurl stops the transfer with CURLE_WRITE_ERROR */
    }
    size_t max = w->in.max;
    w->in.max = 0;
    buf_append(&w->in, data, len);
    w->in.max = max;
    return len;
}

int kube_watch_start(kube_watch **out, kube_client *c, const kube_resource *r, const char *ns,
                     const char *label_selector, const char *resource_version, exo_err *err)
{
    kube_watch *w = xcalloc(1, sizeof *w);
    buf path = BUF_INIT;
    struct timespec ts;
    *out = NULL;
    w->c = c;
    buf_init_max(&w->in, kube_client_max_watch_line(c));
    w->rv = xstrdup(resource_version ? resource_version : "");
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Spread reconnects of many watchers over five minutes, as client-go does. */
    w->timeout_s = 300 + (int)(((unsigned long)ts.tv_nsec ^ (unsigned long)getpid()) % 301);
    kube_resource_path(&path, r, ns ? ns : kube_config_namespace(kube_client_config(c)), NULL);
    kube_query_add(&path, "watch", "1");
    if (*w->rv)
        kube_query_add(&path, "resourceVersion", w->rv);
    kube_query_add(&path, "allowWatchBookmarks", "true");
    char secs[16];
    snprintf(secs, sizeof secs, "%d", w->timeout_s);
    kube_query_add(&path, "timeoutSeconds", secs);
    if (label_selector)
        kube_query_add(&path, "labelSelector", label_selector);
    w->path = buf_detach(&path);
    w->h = curl_easy_init();
    w->m = curl_multi_init();
    if (!w->h || !w->m) {
        kube_watch_free(w);
        return err_set(err, "libcurl: cannot create a handle");
    }
    if (kube_client_setup_handle(c, w->h, w->path, &w->headers, err) < 0) {
        kube_watch_free(w);
        return -1;
    }
    curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->h, CURLOPT_ERRORBUFFER, w->errbuf);
    /* The server ends the stream after timeoutSeconds; this only catches a
     * server that stops answering without closing. */
    curl_easy_setopt(w->h, CURLOPT_TIMEOUT_MS, (w->timeout_s + 60) * 1000L);
    curl_multi_add_handle(w->m, w->h);
    *out = w;
    return 0;
}

static void set_rv(kube_watch *w, const cJSON *object)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(object, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    if (cJSON_IsString(rv)) {
        free(w->rv);
        w->rv = xstrdup(rv->valuestring);
    }
}

/* Returns 1 with an event in ev, 0 for a bookmark, -1 on error. */
static int take_line(kube_watch *w, const char *line, size_t len, kube_watch_event *ev,
                     exo_err *err)
{
    static const char *const types[] = {"ADDED", "MODIFIED", "DELETED"};
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    cJSON *object = cJSON_GetObjectItemCaseSensitive(j, "object");
    int rc = -1;
    if (!cJSON_IsString(type) || !cJSON_IsObject(object)) {
        err_set(err, "watch %s: not an event: %.*s", w->path, (int)(len > 100 ? 100 : len), line);
        goto out;
    }
    if (strcmp(type->valuestring, "BOOKMARK") == 0) {
        set_rv(w, object);
        rc = 0;
        goto out;
    }
    if (strcmp(type->valuestring, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(object, "code");
        long status = cJSON_IsNumber(code) ? (long)code->valuedouble : 500;
        if (status == 410) {
            ev->type = w->ended = KUBE_WATCH_EXPIRED;
            kube_client_count_watch(w->c, false, true, false);
            rc = 1;
        } else {
            kube_client_count_watch(w->c, false, false, true);
            char *text = cJSON_PrintUnformatted(object);
            kube_status_error(err, status, "watch", w->path, text, strlen(text));
            free(text);
        }
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        if (strcmp(type->valuestring, types[i]) == 0) {
            set_rv(w, object);
            ev->type = (kube_watch_type)(KUBE_WATCH_ADDED + i);
            ev->object = cJSON_DetachItemViaPointer(j, object);
            rc = 1;
            goto out;
        }
    }
    err_set(err, "watch %s: unknown event type \"%s\"", w->path, type->valuestring);
out:
    cJSON_Delete(j);
    return rc;
}

/* The transfer ended: say how. */
static int finish(kube_watch *w, kube_watch_event *ev, exo_err *err)
{
    kube_config *cfg = kube_client_config(w->c);
    if (w->too_large) {
        /* Watching again would meet the same object: the owner sees why. */
        kube_client_count_watch(w->c, false, false, true);
        size_t max = w->in.max;
        return err_set(err, "watch %s: %s is larger than %zu%s (the most this client reads)",
                       w->path, w->status == 200 ? "an event" : "the answer",
                       max % ((size_t)1 << 20) ? max : max >> 20,
                       max % ((size_t)1 << 20) ? " bytes" : " MiB");
    }
    if (w->status == 200 || w->ended != KUBE_WATCH_NONE) {
        /* A stream that ends, cleanly or not, is resumed from the last RV;
         * a partial last line is dropped with it. */
        if (w->ended == KUBE_WATCH_NONE) {
            w->ended = KUBE_WATCH_CLOSED;
            kube_client_count_watch(w->c, true, false, false);
        }
        ev->type = w->ended;
        return 0;
    }
    if (w->status == 410) {
        ev->type = w->ended = KUBE_WATCH_EXPIRED;
        kube_client_count_watch(w->c, false, true, false);
        return 0;
    }
    kube_client_count_watch(w->c, false, false, true);
    if (w->result != CURLE_OK && w->status == 0) {
        long os_errno = 0;
        curl_easy_getinfo(w->h, CURLINFO_OS_ERRNO, &os_errno);
        if (w->result == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
            return err_set(err, "%s: connection refused", kube_config_server(cfg));
        return err_set(err, "%s: %s", kube_config_server(cfg),
                       w->errbuf[0] ? w->errbuf : curl_easy_strerror(w->result));
    }
    if (w->status == 401)
        kube_config_invalidate(cfg); /* the next watch fetches fresh credentials */
    return kube_status_error(err, w->status, "watch", w->path, w->in.ptr, w->in.len);
}

int kube_watch_next(kube_watch *w, long timeout_ms, kube_watch_event *ev, exo_err *err)
{
    long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    bool polled = false; /* a zero timeout still reads what has arrived */
    ev->type = KUBE_WATCH_NONE;
    ev->object = NULL;
    if (w->ended != KUBE_WATCH_NONE) {
        ev->type = w->ended;
        return 0;
    }
    for (;;) {
        while (w->status == 200 && w->scanned < w->in.len) {
            char *nl = memchr(w->in.ptr + w->scanned, '\n', w->in.len - w->scanned);
            if (!nl) {
                w->scanned = w->in.len;
                break;
            }
            size_t begin = w->start, len = (size_t)(nl - w->in.ptr) - begin;
            w->start = w->scanned = (size_t)(nl - w->in.ptr) + 1;
            int got = len ? take_line(w, w->in.ptr + begin, len, ev, err) : 0;
            if (w->start >= COMPACT_AT && w->start * 2 > w->in.len)
                compact(w);
            if (got != 0)
                return got < 0 ? -1 : 0;
        }
        if (w->paused) {
            /* Every waiting line is read: take the held chunk (curl may
             * deliver it right here) and scan again. */
            w->paused = false;
            curl_easy_pause(w->h, CURLPAUSE_CONT);
            continue;
        }
        if (w->done)
            return finish(w, ev, err);
        long wait = timeout_ms >= 0 ? deadline - now_ms() : 1000;
        if (wait < 0)
            wait = 0;
        if (polled && wait == 0)
            return 0; /* KUBE_WATCH_NONE */
        polled = true;
        int running = 0;
        curl_multi_poll(w->m, NULL, 0, (int)(wait > 1000 ? 1000 : wait), NULL);
        curl_multi_perform(w->m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(w->m, &left))) {
            if (msg->msg == CURLMSG_DONE) {
                w->done = true;
                w->result = msg->data.result;
                curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
            }
        }
    }
}

const char *kube_watch_resource_version(const kube_watch *w)
{
    return w->rv;
}

int kube_watch_timeout_seconds(const kube_watch *w)
{
    return w->timeout_s;
}

void kube_watch_free(kube_watch *w)
{
    if (!w)
        return;
    if (w->m && w->h)
        curl_multi_remove_handle(w->m, w->h);
    if (w->h)
        curl_easy_cleanup(w->h);
    if (w->m)
        curl_multi_cleanup(w->m);
    curl_slist_free_all(w->headers);
    buf_free(&w->in);
    free(w->path);
    free(w->rv);
    free(w);
}

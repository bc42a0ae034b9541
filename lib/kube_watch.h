/* Watching a resource: one streamed GET
 * ?watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N
 * (N random in 300..600 so that many watchers do not reconnect in step) on a
 * CURL handle of its own, since a watch blocks its connection.
 *
 * Events are newline-delimited JSON; each line is parsed once, when its last
 * byte arrives (bytes are scanned once, so a long stream costs linear time).
 * BOOKMARK events only move the resourceVersion and are not returned. An
 * ERROR event with code 410, or an HTTP 410, means the resourceVersion is too
 * old: the caller lists again and starts a new watch from the list's RV.
 *
 * Usage: list, start at the list's RV, call kube_watch_next in a loop; on
 * KUBE_WATCH_CLOSED start again from kube_watch_resource_version; on
 * KUBE_WATCH_EXPIRED list again. Not thread-safe; the watch borrows its
 * client, which must outlive it. */
#ifndef EXO_KUBE_WATCH_H
#define EXO_KUBE_WATCH_H

#include <cjson/cJSON.h>

#include "err.h"
#include "kube_client.h"

typedef struct kube_watch kube_watch;

typedef enum {
    KUBE_WATCH_NONE, /* the timeout passed without an event */
    KUBE_WATCH_ADDED,
    KUBE_WATCH_MODIFIED,
    KUBE_WATCH_DELETED,
    KUBE_WATCH_CLOSED,  /* the stream ended (timeoutSeconds, dropped connection): watch again */
    KUBE_WATCH_EXPIRED, /* 410 Gone: the resourceVersion is too old; list again */
} kube_watch_type;

typedef struct {
    kube_watch_type type;
    cJSON *object; /* for ADDED/MODIFIED/DELETED, owned by the caller (cJSON_Delete); else NULL */
} kube_watch_event;

/* Starts watching r in ns (NULL: the context's namespace; "" all
 * namespaces) from resource_version (NULL or "": the server's choice, which
 * replays the current state as ADDED events). label_selector may be NULL.
 * The connection is made by the first kube_watch_next. *out is owned by the
 * caller (kube_watch_free). */
int kube_watch_start(kube_watch **out, kube_client *c, const kube_resource *r, const char *ns,
                     const char *label_selector, const char *resource_version, exo_err *err);

/* Waits up to timeout_ms (0: just poll, -1: no limit) for the next event.
 * Returns 0 with ev filled (type NONE when the time ran out), or -1 when
 * the watch failed: the server refused it (err holds its Status, with
 * http_status and reason), could not be reached, or sent something that is
 * not an event. After CLOSED, EXPIRED or -1 the watch is over: free it. */
int kube_watch_next(kube_watch *w, long timeout_ms, kube_watch_event *ev, exo_err *err);

/* The resourceVersion of the last event or bookmark seen (the starting one
 * before any); borrowed, valid until the next kube_watch_next or free. */
const char *kube_watch_resource_version(const kube_watch *w);

/* The timeoutSeconds the watch asked for (300..600). */
int kube_watch_timeout_seconds(const kube_watch *w);

void kube_watch_free(kube_watch *w);

#endif

/* A Kubernetes API client: JSON in and out (cJSON), TLS and credentials from
 * a kube_config kept in memory, one reused connection, retries, discovery.
 *
 * Not thread-safe: a client owns one CURL easy handle (so that requests reuse
 * one connection) and borrows one kube_config; use one client per thread.
 *
 * Retry rule. A request is retried, with capped exponential backoff and
 * jitter (or after Retry-After when the server sends one), on:
 *   - 429 Too Many Requests, and 5xx except 501 Not Implemented;
 *   - a dropped connection, an empty reply or a timeout;
 *   - a refused or timed-out connect, at most twice, so that an unreachable server
 *     fails within seconds with one line such as
 *     "https://127.0.0.1:6443: connection refused";
 *   - a 401, once, after fetching fresh credentials (token file, exec plugin).
 * A POST is not idempotent: once it may have reached the server it is
 * retried only on 429 or 503 carrying Retry-After (the API server sends
 * those before it processes anything), or when not one byte of it was sent.
 * kube_create is the exception for an object with a metadata.name (and for
 * KUBE_DRY_RUN, KUBE_IDEMPOTENT): a second create of one name is refused
 * with 409 AlreadyExists, so it cannot create twice and is retried like a
 * GET; the caller of such a create must take AlreadyExists as "it may be the
 * object this very call created" and read it back.
 *
 * An answer larger than opts.max_response (64 MiB) fails, without a retry,
 * with "METHOD PATH: the answer is larger than 64 MiB (the most this client
 * reads)".
 *
 * Errors: when the server answers non-2xx, err->http_status is the status,
 * err->reason the Status reason ("NotFound", "Forbidden", "AlreadyExists",
 * "Conflict", ...), err->msg the Status message verbatim and
 * err->retry_after the Retry-After seconds (-1 when absent). Transport errors
 * leave http_status 0 and name the server. Messages never hold credentials. */
#ifndef EXO_KUBE_CLIENT_H
#define EXO_KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "err.h"
#include "kube_config.h"

/* A resource type as the API addresses it: /api/v1/namespaces/NS/pods,
 * /apis/apps/v1/deployments. */
typedef struct {
    const char *group;    /* "" for the core group */
    const char *version;  /* "v1" */
    const char *resource; /* plural, lower case: "deployments" */
    bool namespaced;
} kube_resource;

/* Counted over the client's life; exo-install prints the retries, the
 * controller exports them on /metrics. */
typedef struct {
    unsigned long requests;  /* HTTP attempts, each retry included */
    unsigned long retries;   /* attempts after the first, any cause */
    unsigned long throttled; /* 429 answers */
    unsigned long reauths;   /* 401 answers that led to fresh credentials */
    /* Retries by the cause of the attempt before (they add up to
     * retries - reauths). */
    unsigned long retried_429;
    unsigned long retried_500;
    unsigned long retried_503;
    unsigned long retried_5xx;     /* other 5xx (502, 504, ...) */
    unsigned long retried_dropped; /* connection dropped or reset, cut mid-body, empty reply */
    unsigned long retried_timeout; /* no answer in time; connect refused or timed out */
    /* Watches on this client (kube_watch): */
    unsigned long watch_restarts; /* streams that ended, cleanly or not: resumed from their RV */
    unsigned long watch_expired;  /* 410 Gone: the owner lists again */
    unsigned long watch_errors;   /* refused (an error status) or not connected */
} kube_stats;

/* Called before each retry's pause (kube_client_opts.on_retry): cause is
 * "429", "500", "503", "5xx", "dropped", "timeout" or "401"; why is the
 * failure's one-line message. Borrowed strings, for the call only. */
typedef void (*kube_retry_fn)(void *ud, const char *method, const char *path, const char *cause,
                              long wait_ms, const char *why);

typedef struct {
    const char *user_agent;  /* NULL: "exo/VERSION" */
    long timeout_ms;         /* whole request; 0: 60000 */
    long connect_timeout_ms; /* 0: 5000 */
    int max_retries;         /* 0: 6; -1: none */
    long backoff_base_ms;    /* first backoff; 0: 250 */
    long backoff_max_ms;     /* cap, also for Retry-After; 0: 30000 */
    kube_retry_fn on_retry;  /* may be NULL */
    void *on_retry_ud;
    size_t max_response;     /* the most one answer may hold; 0: KUBE_MAX_RESPONSE */
    size_t max_watch_line;   /* the most one watch event may hold; 0: KUBE_MAX_WATCH_LINE */
} kube_client_opts;

/* What the API server sends is held in memory, so its size is capped
 * (buf_init_max): a larger answer fails with a message naming the cap
 * rather than growing the process. A list answer grows with the cluster
 * (kube_list pages with `limit`, but a caller may ask for one page, and a
 * page of Secrets or ConfigMaps near etcd's 1.5 MiB object limit is big),
 * so the cap on an answer is generous; one watch event carries one object,
 * which etcd keeps under 1.5 MiB, so 16 MiB leaves room for JSON escaping
 * and managedFields many times over. */
#define KUBE_MAX_RESPONSE ((size_t)64 << 20)
#define KUBE_MAX_WATCH_LINE ((size_t)16 << 20)

typedef struct kube_client kube_client;

/* flags for create, apply and delete */
#define KUBE_DRY_RUN 1u /* dryRun=All: the server validates but persists nothing */
#define KUBE_FORCE 2u   /* apply: force=true, take fields owned by other managers */
/* create: the POST persists nothing (SelfSubjectAccessReview, TokenRequest):
 * retried like a GET */
#define KUBE_IDEMPOTENT 4u

typedef enum {
    KUBE_PROPAGATE_DEFAULT, /* the resource's own default */
    KUBE_PROPAGATE_BACKGROUND,
    KUBE_PROPAGATE_FOREGROUND,
    KUBE_PROPAGATE_ORPHAN,
} kube_propagation;

/* Creates a client for cfg, which it borrows: cfg must outlive the client.
 * opts may be NULL. Also takes a reference on libcurl's global state
 * (curl_global_init, which libcurl counts) that kube_client_free releases;
 * create the first client before starting threads. *out is owned by the
 * caller (kube_client_free). */
int kube_client_new(kube_client **out, kube_config *cfg, const kube_client_opts *opts,
                    exo_err *err);
void kube_client_free(kube_client *c);

const kube_stats *kube_client_stats(const kube_client *c);
kube_config *kube_client_config(kube_client *c);

/* Namespaces: ns NULL means the context's namespace; it is ignored for
 * cluster-scoped resources. kube_list also takes "" for all namespaces. */

/* GET one object; *out is owned by the caller (cJSON_Delete). */
int kube_get(kube_client *c, const kube_resource *r, const char *ns, const char *name, cJSON **out,
             exo_err *err);

/* Lists every object, `limit` per page (0: one unpaginated request),
 * following `continue` tokens. *items is a cJSON array of all pages' items
 * (caller frees); *resource_version (caller frees; may be NULL to skip) is
 * the list's resourceVersion, the point to start a watch from.
 * label_selector may be NULL. If a continue token expires (410), the list
 * starts again without pagination, as client-go's pager does. */
int kube_list(kube_client *c, const kube_resource *r, const char *ns, const char *label_selector,
              long limit, cJSON **items, char **resource_version, exo_err *err);

/* POST obj. flags: KUBE_DRY_RUN, KUBE_IDEMPOTENT. *out (may be NULL) gets
 * the created object (caller frees). Retried as the retry rule says: a named
 * object's create that fails with reason "AlreadyExists" after a retry may
 * have been created by an earlier attempt whose answer was lost (the
 * message says so). */
int kube_create(kube_client *c, const kube_resource *r, const char *ns, const cJSON *obj,
                unsigned flags, cJSON **out, exo_err *err);

/* Server-side apply: PATCH ?fieldManager=field_manager[&force=true]
 * [&dryRun=All] with Content-Type application/apply-patch+yaml and obj as
 * JSON, minus metadata.managedFields (obj itself is not changed). Creates
 * the object when missing. ns NULL: obj's metadata.namespace, else the
 * context's. flags: KUBE_FORCE, KUBE_DRY_RUN. *out (may be NULL) gets the
 * object as the server stored it (caller frees). */
int kube_apply(kube_client *c, const kube_resource *r, const char *ns, const cJSON *obj,
               const char *field_manager, unsigned flags, cJSON **out, exo_err *err);

/* kube_apply for any manifest: finds the resource from obj's apiVersion and
 * kind with kube_discover. */
int kube_apply_manifest(kube_client *c, const cJSON *obj, const char *field_manager, unsigned flags,
                        cJSON **out, exo_err *err);

/* DELETE with ?propagationPolicy= and, with KUBE_DRY_RUN, dryRun=All. A
 * missing object fails with reason "NotFound"; callers that mean "delete if
 * present" check err->reason. */
int kube_delete(kube_client *c, const kube_resource *r, const char *ns, const char *name,
                kube_propagation propagation, unsigned flags, exo_err *err);

/* Any request: path_and_query starts with '/' ("/readyz?verbose",
 * "/apis"). body may be NULL; content_type is required with a body. The
 * response body is appended to resp (may be NULL) whatever the status, up
 * to opts.max_response bytes (or resp's own cap, when smaller);
 * *status (may be NULL) gets the HTTP status, 0 when none arrived. Returns
 * 0 on 2xx, else -1 with err filled as described above. */
int kube_request(kube_client *c, const char *method, const char *path_and_query,
                 const char *content_type, const void *body, size_t body_len, buf *resp,
                 long *status, exo_err *err);

/* Finds the resource of apiVersion ("v1", "apps/v1") and kind ("Deployment")
 * through discovery (/api/v1, /apis/GROUP/VERSION), cached per client. A
 * kind missing from an earlier answer makes one fresh request, so a CRD
 * created since is found. The strings in *out are borrowed from the client's
 * cache and valid until kube_client_free. Fails with reason "NotFound" when
 * the server does not serve the kind. */
int kube_discover(kube_client *c, const char *api_version, const char *kind, kube_resource *out,
                  exo_err *err);

/* Appends r's path: /api/v1[/namespaces/NS]/pods[/NAME] or
 * /apis/GROUP/VERSION/...; ns is skipped when NULL or "" or r is
 * cluster-scoped. ns and name are percent-escaped. */
void kube_resource_path(buf *out, const kube_resource *r, const char *ns, const char *name);

/* Appends ?key=value, or &key=value when path already has a query; value is
 * percent-escaped. */
void kube_query_add(buf *path, const char *key, const char *value);

/* For kube_watch: prepares h (a handle other than the client's own) for a GET
 * of path_and_query with this client's server, TLS settings, credentials and
 * User-Agent. *headers must be freed with curl_slist_free_all after the
 * transfer. */
int kube_client_setup_handle(kube_client *c, CURL *h, const char *path_and_query,
                             struct curl_slist **headers, exo_err *err);

/* For kube_watch: the most one watch event may hold
 * (kube_client_opts.max_watch_line). */
size_t kube_client_max_watch_line(const kube_client *c);

/* For kube_watch: counts a watch's end in the client's stats. */
void kube_client_count_watch(kube_client *c, bool restarted, bool expired, bool failed);

/* Whether err is the API's "AlreadyExists" (409 on a create). */
bool kube_is_already_exists(const exo_err *err);

/* "retried 14 API requests: 5x 500, 4x 429, 3x 503, 2 dropped connections"
 * (the non-zero causes), or nothing when no request was retried. */
void kube_stats_describe(const kube_stats *s, buf *out);

/* Whether err is the API's "NotFound" (the object, or the kind, does not
 * exist): the one failure callers that mean "if present" let pass. */
bool kube_is_not_found(const exo_err *err);

/* Fills err from a non-2xx answer: the Status object's message and reason
 * when body is one, else "METHOD PATH: HTTP status" and the start of the
 * body. Returns -1. */
int kube_status_error(exo_err *err, long status, const char *method, const char *path,
                      const char *body, size_t len);

#endif

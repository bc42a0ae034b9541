#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "listen_addr.h"
#include "metrics.h"
#include "xalloc.h"

#define HTTP_DRAIN_SECONDS 25
/* Connections served beyond the pool's max_open: the probes and /metrics
 * while every database connection is taken, and API requests queued in
 * pool_get for the next one (as database/sql callers queue). Connections
 * beyond max_open + this are closed by MHD at once, so threads, stacks and
 * connection memory stay bounded whatever the clients do. */
#define HTTP_SPARE_CONNECTIONS 64
/* MHD's memory per connection, half of which becomes the read buffer while
 * a body arrives. A recording upload came in 16 KiB reads at the default
 * 32 KiB, each with its own select(), recv(), window update, callback and
 * write(); at 1 MiB they are 512 KiB, and a 64 MiB upload costs the server
 * a fifth to a quarter less CPU than at 256 KiB. MHD maps the pool lazily:
 * idle connections and small requests touch a few pages of it, an upload
 * about 512 KiB. */
#define HTTP_CONNECTION_MEMORY (1024 * 1024)

struct http_server {
    struct MHD_Daemon *daemon;
    pool *db;
    atomic_bool ready;
    _Atomic(api *) api; /* set once boot is done */
    atomic_int in_flight; /* API requests begun and not yet completed */
    /* What the last readiness check found (boot's connection first): what
     * /metrics reports, so that a scrape never waits for a pool connection
     * (a saturated pool, a database that does not answer). */
    atomic_bool db_answered;
    pthread_mutex_t lock; /* guards waiting */
    char *waiting;        /* why boot has not begun yet ("" / NULL: booting) */
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Whether the database answers. A connection found dead (the server
 * restarted since it was opened) does not count against it: the idle ones
 * beside it are dropped and a fresh one asked, as database/sql retries on a
 * bad connection. */
static bool database_answers(pool *db)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        exo_err err = EXO_ERR_INIT;
        PGconn *c = pool_get(db, &err);
        err_clear(&err);
        if (!c)
            return false;
        PGresult *r = PQexec(c, "SELECT 1");
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        bool lost = !ok && PQstatus(c) == CONNECTION_BAD;
        PQclear(r);
        pool_put(db, c, !ok);
        if (ok || !lost)
            return ok;
        pool_close_idle(db);
    }
    return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version;
    http_server *s = cls;
    if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) == 0) {
        api *a = atomic_load(&s->api);
        if (a) {
            bool first = *state == NULL;
            enum MHD_Result r = api_handle(a, conn, method, url, upload, upload_size, state);
            if (first && *state)
                atomic_fetch_add(&s->in_flight, 1);
            return r;
        }
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "booting\n");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) {
        buf text = BUF_INIT;
        /* Boot owns the database until it is done: meanwhile what it last
         * found (waiting: no server answered) stands for the database. */
        bool booted = atomic_load(&s->ready);
        int db_up;
        if (booted) {
            db_up = atomic_load(&s->db_answered);
        } else {
            pthread_mutex_lock(&s->lock);
            db_up = !(s->waiting && *s->waiting);
            pthread_mutex_unlock(&s->lock);
        }
        metrics_render(&text, s->db, booted && db_up, db_up);
        size_t len = text.len;
        struct MHD_Response *r =
            MHD_create_response_from_buffer(len, buf_detach(&text), MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ok;
    }
    if (strcmp(url, "/healthz") == 0)
        return reply(conn, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        if (!atomic_load(&s->ready)) {
            buf why = BUF_INIT;
            pthread_mutex_lock(&s->lock);
            if (s->waiting)
                buf_printf(&why, "waiting for the database: %s\n", s->waiting);
            pthread_mutex_unlock(&s->lock);
            if (!why.len)
                return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "booting\n");
            size_t len = why.len;
            struct MHD_Response *r = MHD_create_response_from_buffer(len, buf_detach(&why),
                                                                     MHD_RESPMEM_MUST_FREE);
            MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
            enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, r);
            MHD_destroy_response(r);
            return ok;
        }
        bool answered = database_answers(s->db);
        atomic_store(&s->db_answered, answered);
        if (!answered)
            return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "database not answering\n");
        return reply(conn, MHD_HTTP_OK, "ok\n");
    }
    return reply(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
                      enum MHD_RequestTerminationCode why)
{
    (void)conn, (void)why;
    http_server *s = cls;
    if (*state)
        atomic_fetch_sub(&s->in_flight, 1);
    api_request_done(*state);
    *state = NULL;
}

int http_start(http_server **out, const char *addr, pool *db, exo_err *err)
{
    struct sockaddr_storage ss;
    if (listen_addr_parse(addr, "EXO_HTTP_ADDR=", ":8080", &ss, err) < 0)
        return -1;
    http_server *s = xcalloc(1, sizeof *s);
    s->db = db;
    atomic_init(&s->ready, false);
    atomic_init(&s->api, NULL);
    atomic_init(&s->in_flight, 0);
    pthread_mutex_init(&s->lock, NULL);
    /* A thread per connection, up to the pool's max_open plus spares. An
     * API request blocks its thread while it waits on the database (libpq
     * is synchronous), so the server must run as many requests at once as
     * the pool has connections, or the pool's limit is never reached: with
     * a fixed pool of 8 threads, 8 requests held every connection the
     * server could use and a 9th queued behind one of them in MHD, not in
     * pool_get. A thread pool of max_open threads would still multiplex
     * several connections onto one thread, so a probe could wait behind a
     * slow API request on its thread; a thread per connection never does.
     * poll(), not select(): with 100 database sockets beside the HTTP
     * ones, descriptors can pass FD_SETSIZE. */
    pool_stats ps;
    pool_get_stats(db, &ps);
    unsigned limit = (unsigned)ps.max_open + HTTP_SPARE_CONNECTIONS;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &ss,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 60u,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
                                 MHD_OPTION_CONNECTION_LIMIT, limit,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return err_set(err, "EXO_HTTP_ADDR=\"%s\": cannot listen: %s", addr, strerror(errno));
    }
    *out = s;
    return 0;
}

void http_set_api(http_server *s, api *a)
{
    atomic_store(&s->api, a);
}

void http_set_ready(http_server *s, bool ready)
{
    /* Boot has just used the database: it answered. */
    if (ready)
        atomic_store(&s->db_answered, true);
    atomic_store(&s->ready, ready);
}

void http_set_waiting(http_server *s, const char *why)
{
    char *copy = why ? xstrdup(why) : NULL;
    pthread_mutex_lock(&s->lock);
    char *old = s->waiting;
    s->waiting = copy;
    pthread_mutex_unlock(&s->lock);
    free(old);
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    /* Graceful: stop accepting, let requests in flight finish (at most
     * HTTP_DRAIN_SECONDS), then stop. */
    MHD_socket listener = MHD_quiesce_daemon(s->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    for (int i = 0; i < HTTP_DRAIN_SECONDS * 100 && atomic_load(&s->in_flight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->lock);
    free(s->waiting);
    free(s);
}

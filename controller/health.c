#include "health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "buf.h"
#include "listen_addr.h"
#include "metrics.h"
#include "xalloc.h"

struct health {
    struct MHD_Daemon *daemon;
    atomic_bool ready;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, mode);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    health *h = cls;
    static const char *const text = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, "method not allowed\n",
                     MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/healthz") == 0)
        return reply(conn, MHD_HTTP_OK, text, "ok\n", MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/readyz") == 0)
        return atomic_load(&h->ready)
                   ? reply(conn, MHD_HTTP_OK, text, "ok\n", MHD_RESPMEM_PERSISTENT)
                   : reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, "informers not synced\n",
                           MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/metrics") == 0) {
        buf b = BUF_INIT;
        metrics_render(&b);
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf_detach(&b),
                     MHD_RESPMEM_MUST_FREE);
    }
    return reply(conn, MHD_HTTP_NOT_FOUND, text, "not found\n", MHD_RESPMEM_PERSISTENT);
}

int health_start(health **out, const char *addr, exo_err *err)
{
    struct sockaddr_storage ss;
    if (listen_addr_parse(addr, "--health-addr ", ":8081", &ss, err) < 0)
        return -1;
    health *h = xcalloc(1, sizeof *h);
    atomic_init(&h->ready, false);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, &ss,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!h->daemon) {
        free(h);
        return err_set(err, "--health-addr \"%s\": cannot listen: %s", addr, strerror(errno));
    }
    *out = h;
    return 0;
}

void health_set_ready(health *h, bool ready)
{
    if (h)
        atomic_store(&h->ready, ready);
}

void health_stop(health *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}

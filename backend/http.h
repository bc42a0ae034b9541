/* The backend's HTTP server (libmicrohttpd, a thread per connection): /healthz
 * (the process is alive), /readyz (boot done and the database answering),
 * /metrics (Prometheus text) and the API under /api/v1/ (api.h). */
#ifndef EXO_HTTP_H
#define EXO_HTTP_H

#include <stdbool.h>

#include "err.h"
#include "api.h"
#include "pool.h"

typedef struct http_server http_server;

/* Listens on addr (":8080", "127.0.0.1:8080", "[::1]:8080"). The pool is
 * borrowed and must outlive the server. Serves up to the pool's max_open
 * plus 64 connections at once, each on a thread of its own, so that as
 * many API requests as the pool has connections run together and the
 * probes still answer; further connections are closed at once. */
int http_start(http_server **out, const char *addr, pool *db, exo_err *err);

/* Serves the API under /api/v1/ from now on (503 before). Borrowed. */
void http_set_api(http_server *s, api *a);

/* Marks boot as done: /readyz answers 200 from now on while the database
 * answers. */
void http_set_ready(http_server *s, bool ready);

/* Before boot: why it has not begun (the database not reachable yet),
 * which /readyz then says; NULL clears it. The text is copied; it names
 * the database redacted, never a password. */
void http_set_waiting(http_server *s, const char *why);

/* Stops accepting, finishes in-flight requests, frees. */
void http_stop(http_server *s);

#endif

/* The backend's HTTP server (libmicrohttpd): /healthz (the process is
 * alive) and /readyz (boot done and the database answering). The API
 * under /api/v1/ comes on top of this. */
#ifndef EXO_HTTP_H
#define EXO_HTTP_H

#include <stdbool.h>

#include "err.h"
#include "pool.h"

typedef struct http_server http_server;

/* Listens on addr (":8080", "127.0.0.1:8080", "[::1]:8080"). The pool is
 * borrowed and must outlive the server. */
int http_start(http_server **out, const char *addr, pool *db, exo_err *err);

/* Marks boot as done: /readyz answers 200 from now on while the database
 * answers. */
void http_set_ready(http_server *s, bool ready);

/* Stops accepting, finishes in-flight requests, frees. */
void http_stop(http_server *s);

#endif

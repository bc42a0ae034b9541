/* The address an HTTP server listens on, as the backend's EXO_HTTP_ADDR and
 * the controller's --health-addr take it: ":8080" (every address),
 * "127.0.0.1:8080", "[::1]:8080". */
#ifndef EXO_LISTEN_ADDR_H
#define EXO_LISTEN_ADDR_H

#include <sys/socket.h>

#include "err.h"

/* name and example word the message: name "EXO_HTTP_ADDR=" and example
 * ":8080" give `EXO_HTTP_ADDR=":x": want [host]:port, e.g. :8080`. */
int listen_addr_parse(const char *addr, const char *name, const char *example,
                      struct sockaddr_storage *ss, exo_err *err);

#endif

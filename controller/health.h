/* /healthz, /readyz and /metrics on --health-addr, served by
 * libmicrohttpd's own thread. Liveness means the process answers; readiness
 * means the informers have synced, or that this process stands by as a
 * non-leader (it is ready to take over: the kubelet must not restart it). */
#ifndef EXO_CTL_HEALTH_H
#define EXO_CTL_HEALTH_H

#include <stdbool.h>

#include "err.h"

typedef struct health health;

/* addr: ":8081", "127.0.0.1:8081", "[::1]:8081". Errors name --health-addr.
 * *out owned by the caller (health_stop). */
int health_start(health **out, const char *addr, exo_err *err);
void health_set_ready(health *h, bool ready);
void health_stop(health *h);

#endif

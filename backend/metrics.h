/* Counters for /metrics (Prometheus text format 0.0.4). Updated from any
 * thread with atomics; rendered on demand with the pool's own figures. */
#ifndef EXO_METRICS_H
#define EXO_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "pool.h"

/* One HTTP request served: its status and how long it took. */
void metrics_request(int status, double seconds);
/* One maintenance pass and what it did. */
void metrics_maintenance(int ok, int partitions_dropped, long rows_deleted);
/* Session and audit events accepted through the API. */
void metrics_events(const char *kind, uint64_t n);

/* Appends the exposition text; db may be NULL. */
void metrics_render(buf *out, pool *db);

#endif

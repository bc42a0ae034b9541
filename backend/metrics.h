/* Counters for /metrics (Prometheus text format 0.0.4). Updated from any
 * thread with atomics; rendered on demand with the pool's own figures. */
#ifndef EXO_METRICS_H
#define EXO_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "partitions.h"
#include "pool.h"

/* One HTTP request served: its status and how long it took. */
void metrics_request(int status, double seconds);
/* One maintenance pass and what it did. */
void metrics_maintenance(int ok, int partitions_dropped, long rows_deleted);
/* A pass that did its work (not skipped) succeeded, now. */
void metrics_maintenance_done(void);
/* After such a pass: how many months ahead table has partitions. */
void metrics_partitions_ahead(const char *table, int months);
/* Once booted: how long the boot took, the schema version the database is
 * migrated to, the keyring's active key id (an id, never key material). */
void metrics_boot(long duration_ms, int schema_version, int key_id);
/* The recordings directory, whose volume /metrics reports. Borrowed. */
void metrics_cast_dir(const char *dir);
/* Session and audit events accepted through the API. */
void metrics_events(const char *kind, uint64_t n);

/* Appends the exposition text; db may be NULL. */
void metrics_render(buf *out, pool *db);

#endif

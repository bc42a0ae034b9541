/* Counters for /metrics (Prometheus text format 0.0.4). Updated from any
 * thread with atomics; rendered on demand with the pool's own figures. */
#ifndef EXO_METRICS_H
#define EXO_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "partitions.h"
#include "pool.h"

/* The most route templates counted apart; the API's table has fewer. */
#define METRICS_ROUTES_MAX 32
/* Method and route of a request that matched no route (bounded, whatever
 * the client sent). */
#define METRICS_ROUTE_OTHER "other"

/* One API request answered: the method and the route template of the
 * route table that matched it (strings that live as long as the process;
 * "*" marks an id segment) or METRICS_ROUTE_OTHER for both, its status and
 * how long it took. */
void metrics_request(const char *method, const char *pattern, int status, double seconds);
/* One maintenance pass and what it did. */
void metrics_maintenance(int ok, int partitions_dropped, long rows_deleted);
/* A pass that did its work (not skipped) succeeded, now. */
void metrics_maintenance_done(void);
/* After such a pass: how many months ahead table has partitions. */
void metrics_partitions_ahead(const char *table, int months);
/* Once booted: how long the boot took, how many DDL statements it issued
 * (migrations and partitions; 0 when the schema was current), the schema
 * version the database is migrated to, the keyring's active key id (an id,
 * never key material). */
void metrics_boot(long duration_ms, int ddl_statements, int schema_version, int key_id);
/* The recordings directory, whose volume /metrics reports. Borrowed. */
void metrics_cast_dir(const char *dir);
/* EXO_MAINTENANCE_INTERVAL, for alerts on a late pass. */
void metrics_maintenance_interval(long long seconds);
/* Session and audit events accepted through the API. */
void metrics_events(const char *kind, uint64_t n);

/* Appends the exposition text; db may be NULL. ready and db_up (1 or 0)
 * are what the caller last found, without asking the database now. */
void metrics_render(buf *out, pool *db, int ready, int db_up);

#endif

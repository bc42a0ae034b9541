/* Durations as Kubernetes users write them: the one parser of the project,
 * with Go's time.ParseDuration semantics ("300ms", "1.5h", "2h45m", "-1m";
 * units ns, us, µs, ms, s, m, h; a bare "0" is zero; any other number needs
 * a unit). Flags (--timeout, --lease-duration), the backend's
 * EXO_MAINTENANCE_INTERVAL and the ExoControlPlane's maintenanceInterval
 * all read durations through it; each caller checks its own bounds. */
#ifndef EXO_DURATION_H
#define EXO_DURATION_H

#include <stdint.h>

/* Parses s into nanoseconds. Returns 0, or -1 (nothing written) when s is
 * not a duration or does not fit in 64 bits of nanoseconds (about 292
 * years), as Go's parser. */
int duration_parse(const char *s, int64_t *ns);

#define DURATION_MS INT64_C(1000000)
#define DURATION_S INT64_C(1000000000)

#endif

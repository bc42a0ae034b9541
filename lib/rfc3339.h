/* RFC 3339 instants, the one parser and formatter of the project: the
 * backend's API bodies and --now, Kubernetes timestamps (exec credentials'
 * expirationTimestamp, Lease times), the installer's and controller's
 * status output. */
#ifndef EXO_RFC3339_H
#define EXO_RFC3339_H

#include <stdbool.h>
#include <time.h>

/* Parses an RFC 3339 instant ("2027-01-15T10:00:00Z", "…+01:00",
 * fractions allowed, dropped). Strict: a date that does not exist, year 0,
 * or an offset past +-15:59 is refused. Returns false when s is not one. */
bool rfc3339_parse(const char *s, time_t *out);
/* Formats t as "2027-01-15T10:00:00Z" into out (at least 21 bytes). */
void rfc3339_format(time_t t, char out[32]);

#endif

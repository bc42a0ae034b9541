/* Calendar months in UTC, the unit of partitioning. Month boundaries are
 * always computed in UTC, whatever the server's or the host's time zone
 * (pg_partman's DST and non-UTC boundary bugs came from not doing so). */
#ifndef EXO_MONTHS_H
#define EXO_MONTHS_H

#include <stdbool.h>
#include <time.h>

/* A month as year * 12 + (month - 1): consecutive months differ by one. */
typedef int month_t;

month_t month_of(time_t t);
time_t month_start(month_t m);
/* "2026_11": the suffix of a partition's name. */
void month_suffix(month_t m, char out[16]);
/* Parses "<anything>_pYYYY_MM" at the end of name; false when it is not. */
bool month_from_partition_name(const char *name, month_t *out);
/* "2026-11-01 00:00:00+00": a timestamptz literal of the month's start. */
void month_literal(month_t m, char out[32]);

#endif

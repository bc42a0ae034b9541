/* Strict checking of API request bodies: only the fields a route knows,
 * each of its type, before anything is written. */
#ifndef EXO_API_JSON_H
#define EXO_API_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"

typedef enum {
    JF_STRING, /* a string, at most 1000 bytes */
    JF_INT,    /* a whole number that an int64 holds exactly (|n| <= 2^53) */
    JF_INT_OR_NULL,
    JF_JSON, /* any JSON whose numbers are finite doubles: stored as jsonb */
    JF_TIME, /* an RFC 3339 string */
    JF_ARRAY,
} json_kind;

typedef struct {
    const char *name;
    json_kind kind;
    bool required;
} json_field;

/* obj must be an object holding only `fields` (NULL-name terminated),
 * required ones present, each of its kind. `where` prefixes field names
 * in messages ("events[3].kind"). */
int api_json_check(const cJSON *obj, const json_field *fields, const char *where, exo_err *err);

/* The integer value of a checked JF_INT field, or `fallback` when absent
 * or null. */
int64_t api_json_int(const cJSON *obj, const char *name, int64_t fallback);

/* The string value of a field, or NULL; borrowed. */
const char *api_json_str(const cJSON *obj, const char *name);

/* v as compact JSON text (caller frees) with every number written so that
 * it reads back as the same double: cJSON's own printer keeps only 15
 * digits when 17 are "close enough" (0.30000000000000004 became 0.3 and
 * 9007199254740991 became 9007199254740990 on their way into jsonb). */
char *api_json_print(const cJSON *v);

#endif

#include "api_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

#define MAX_STRING 1000
#define MAX_EXACT 9007199254740992.0 /* 2^53 */

static const char *kind_name(json_kind k)
{
    switch (k) {
    case JF_STRING:
        return "a string";
    case JF_INT:
        return "a whole number";
    case JF_INT_OR_NULL:
        return "a whole number or null";
    case JF_TIME:
        return "an RFC 3339 time such as 2027-01-15T10:00:00Z";
    case JF_ARRAY:
        return "an array";
    default:
        return "JSON whose numbers fit a double (at most about 1.8e308)";
    }
}

/* cJSON reads a number past a double's range (1e999) as infinity, which
 * it would print as null: such a value is refused, not changed. */
static bool all_finite(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return isfinite(v->valuedouble);
    for (const cJSON *c = v->child; c; c = c->next)
        if (!all_finite(c))
            return false;
    return true;
}

static bool is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && fabs(v->valuedouble) <= MAX_EXACT &&
           v->valuedouble == floor(v->valuedouble);
}

static bool fits(const cJSON *v, json_kind k)
{
    time_t t;
    switch (k) {
    case JF_STRING:
        return cJSON_IsString(v) && strlen(v->valuestring) <= MAX_STRING;
    case JF_INT:
        return is_int(v);
    case JF_INT_OR_NULL:
        return cJSON_IsNull(v) || is_int(v);
    case JF_TIME:
        return cJSON_IsString(v) && rfc3339_parse(v->valuestring, &t);
    case JF_ARRAY:
        return cJSON_IsArray(v);
    default:
        return all_finite(v);
    }
}

int api_json_check(const cJSON *obj, const json_field *fields, const char *where, exo_err *err)
{
    const char *sep = *where ? "." : "";
    if (!cJSON_IsObject(obj))
        return err_set(err, "%s must be a JSON object", *where ? where : "the body");
    for (const cJSON *m = obj->child; m; m = m->next) {
        const json_field *f = fields;
        while (f->name && strcmp(f->name, m->string) != 0)
            f++;
        if (!f->name)
            return err_set(err, "unknown field \"%s%s%s\"", where, sep, m->string);
        if (!fits(m, f->kind))
            return err_set(err, "field \"%s%s%s\" must be %s", where, sep, m->string,
                           kind_name(f->kind));
    }
    for (const json_field *f = fields; f->name; f++)
        if (f->required && !cJSON_GetObjectItemCaseSensitive(obj, f->name))
            return err_set(err, "field \"%s%s%s\" is required", where, sep, f->name);
    return 0;
}

int64_t api_json_int(const cJSON *obj, const char *name, int64_t fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return is_int(v) ? (int64_t)v->valuedouble : fallback;
}

const char *api_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Replaces every finite number under node by a Raw node holding the
 * shortest "%.Ng" that reads back as exactly its double (cJSON writes the
 * others as null). */
static void exact_numbers(cJSON *node)
{
    cJSON *next;
    for (cJSON *c = node->child; c; c = next) {
        next = c->next;
        if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble)) {
            exact_numbers(c);
            continue;
        }
        char text[32];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(text, sizeof text, "%.*g", digits, c->valuedouble);
            if (strtod(text, NULL) == c->valuedouble)
                break;
        }
        cJSON *raw = cJSON_CreateRaw(text);
        if (!raw)
            abort(); /* out of memory: as xmalloc does */
        raw->string = c->string;
        raw->type |= c->type & cJSON_StringIsConst;
        c->string = NULL;
        cJSON_ReplaceItemViaPointer(node, c, raw);
    }
}

char *api_json_print(const cJSON *v)
{
    /* In an array, so that a bare number is replaced like any other. */
    cJSON *wrap = cJSON_CreateArray();
    cJSON *copy = cJSON_Duplicate(v, true);
    if (!wrap || !copy)
        abort();
    cJSON_AddItemToArray(wrap, copy);
    exact_numbers(wrap);
    char *text = cJSON_PrintUnformatted(wrap->child);
    cJSON_Delete(wrap);
    if (!text)
        abort();
    return text;
}

/* The checks of API request bodies (backend/api_json.c, months.c's
 * rfc3339_parse): the body is parsed as api.c does, then checked against
 * the fields of one route, chosen by the first byte. The field lists are
 * the contract of docs/api.md.
 *
 * The verdict of api_json_check is compared with a reference written here
 * (each kind checked plainly; a time is strict RFC 3339 with a real
 * calendar date, which is what PostgreSQL's timestamptz takes, so that a
 * bad time is a 400 and not a failed insert). An accepted body must also
 * give back its values through api_json_int/api_json_str, and
 * api_json_print must write JSON that parses to the same tree (batches go
 * to PostgreSQL that way). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_json.h"
#include "fuzz_common.h"
#include "rfc3339.h"

static const json_field user[] = {{"email", JF_STRING, true},
                                  {"name", JF_STRING, false},
                                  {"role", JF_STRING, false},
                                  {0}};
static const json_field token[] = {{"name", JF_STRING, false},
                                   {"expires_in_days", JF_INT_OR_NULL, false},
                                   {"expires_in", JF_STRING, false},
                                   {0}};
static const json_field deployment[] = {{"name", JF_STRING, true},
                                        {"retention_days", JF_INT_OR_NULL, false},
                                        {0}};
static const json_field retention[] = {{"days", JF_INT_OR_NULL, true}, {0}};
static const json_field status[] = {{"tool_status", JF_JSON, true}, {0}};
static const json_field session[] = {{"deployment_id", JF_INT, true}, {0}};
static const json_field batch[] = {{"events", JF_ARRAY, true}, {0}};
static const json_field session_event[] = {{"time", JF_TIME, false},
                                           {"kind", JF_STRING, true},
                                           {"data", JF_JSON, false},
                                           {0}};
static const json_field audit_event[] = {{"time", JF_TIME, false},
                                         {"action", JF_STRING, true},
                                         {"deployment_id", JF_INT_OR_NULL, false},
                                         {"detail", JF_JSON, false},
                                         {0}};

/* ---- the reference ---- */

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Asked of the C library rather than computed, so that the reference does
 * not share the product's arithmetic: timegm() moves a day that does not
 * exist into the next month. */
static bool date_exists(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = 12};
    timegm(&tm);
    return tm.tm_mon == month - 1 && tm.tm_mday == day;
}

/* YYYY-MM-DDTHH:MM:SS[.fraction](Z|z|+HH:MM|-HH:MM), a date that exists,
 * an offset within PostgreSQL's +-15:59. */
static bool ref_time(const char *s)
{
    if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return false;
    int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || !date_exists(y, mo, d) || num(s + 11, 2) > 23 ||
        num(s + 14, 2) > 59 || num(s + 17, 2) > 60)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        size_t n = strspn(p + 1, "0123456789");
        if (n == 0)
            return false;
        p += 1 + n;
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    return (*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2) && p[3] == ':' &&
           digits(p + 4, 2) && num(p + 1, 2) <= 15 && num(p + 4, 2) <= 59;
}

static bool ref_whole(const cJSON *v)
{
    return cJSON_IsNumber(v) && floor(v->valuedouble) == v->valuedouble &&
           fabs(v->valuedouble) <= 9007199254740992.0;
}

/* JSON kept as it came: no number that cJSON read as infinity. */
static bool ref_finite(const cJSON *v)
{
    bool ok = !cJSON_IsNumber(v) || isfinite(v->valuedouble);
    for (const cJSON *c = v->child; c && ok; c = c->next)
        ok = ref_finite(c);
    return ok;
}

static bool ref_fits(const cJSON *v, json_kind k)
{
    switch (k) {
    case JF_STRING:
        return cJSON_IsString(v) && strlen(v->valuestring) <= 1000;
    case JF_INT:
        return ref_whole(v);
    case JF_INT_OR_NULL:
        return cJSON_IsNull(v) || ref_whole(v);
    case JF_TIME:
        return cJSON_IsString(v) && ref_time(v->valuestring);
    case JF_ARRAY:
        return cJSON_IsArray(v);
    default:
        return ref_finite(v);
    }
}

static bool ref_check(const cJSON *obj, const json_field *fields)
{
    if (!cJSON_IsObject(obj))
        return false;
    for (const cJSON *m = obj->child; m; m = m->next) {
        const json_field *f = fields;
        while (f->name && strcmp(f->name, m->string) != 0)
            f++;
        if (!f->name || !ref_fits(m, f->kind))
            return false;
    }
    for (const json_field *f = fields; f->name; f++)
        if (f->required && !cJSON_GetObjectItemCaseSensitive(obj, f->name))
            return false;
    return true;
}

/* ---- the product ---- */

static bool check(const cJSON *obj, const json_field *fields, const char *where)
{
    exo_err err = EXO_ERR_INIT;
    bool ok = api_json_check(obj, fields, where, &err) == 0;
    char *shown = cJSON_PrintUnformatted(obj);
    FUZZ_CHECK(ok == ref_check(obj, fields), "api_json_check %s %s (%s), the reference does not",
               ok ? "accepts" : "refuses", shown, err_msg(&err));
    FUZZ_CHECK(ok == (err.msg == NULL), "a message exactly when refused");
    if (ok) {
        for (const json_field *f = fields; f->name; f++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->name);
            if ((f->kind == JF_INT || f->kind == JF_INT_OR_NULL) && cJSON_IsNumber(v))
                FUZZ_CHECK((double)api_json_int(obj, f->name, -7) == v->valuedouble,
                           "api_json_int(%s) of %s", f->name, shown);
            if (f->kind == JF_STRING && v)
                FUZZ_CHECK(api_json_str(obj, f->name) == v->valuestring, "api_json_str");
            time_t t, again;
            /* Offsets can carry 9999-12-31 into year 10000, which RFC 3339
             * cannot write. */
            if (f->kind == JF_TIME && v && strncmp(v->valuestring, "9999-12-31", 10) != 0) {
                FUZZ_CHECK(rfc3339_parse(v->valuestring, &t), "a checked time parses");
                char text[32];
                rfc3339_format(t, text);
                FUZZ_CHECK(rfc3339_parse(text, &again) && again == t,
                           "%s formats as %s, which reads back differently", v->valuestring,
                           text);
            }
        }
    }
    free(shown);
    err_clear(&err);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const json_field *const routes[] = {user, token, deployment, retention, status,
                                               session, session_event, audit_event};
    if (size < 1)
        return 0;
    const json_field *fields = routes[data[0] % 8];
    cJSON *body = cJSON_ParseWithLength((const char *)data + 1, size - 1);
    if (!body)
        return 0;
    bool ok;
    if (fields == session_event || fields == audit_event) {
        ok = check(body, batch, "");
        const cJSON *events = cJSON_GetObjectItemCaseSensitive(body, "events");
        int i = 0;
        for (const cJSON *ev = ok ? events->child : NULL; ev && ok; ev = ev->next, i++) {
            char where[32];
            snprintf(where, sizeof where, "events[%d]", i);
            ok = check(ev, fields, where);
        }
    } else {
        ok = check(body, fields, "");
    }
    if (ok) {
        char *text = api_json_print(body);
        cJSON *back = cJSON_Parse(text);
        FUZZ_CHECK(back && fuzz_same_tree(body, back, false), "%s reads back differently", text);
        cJSON_Delete(back);
        free(text);
    }
    cJSON_Delete(body);
    return 0;
}

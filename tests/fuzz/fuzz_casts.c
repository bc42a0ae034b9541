/* The asciicast validator of uploads (backend/cast_validate.c). The first
 * byte seeds how the rest, the body, is cut into chunks; the body is fed to
 * a cast_validator in those chunks and finished, then again in one chunk,
 * as the recording store feeds every upload before writing it. Its fast
 * path (word-at-a-time and SSE2 scans, its own decimal reader) must never
 * change a verdict, so both runs are compared with a plain reference written
 * here: lines cut at '\n', each checked for UTF-8 and control characters
 * byte by byte and then parsed whole by cJSON. Any disagreement on
 * accept/refuse, or on the line named, is a finding. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cast_validate.h"
#include "fuzz_common.h"

/* ---- the reference ---- */

/* Strict UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) and no control characters but tab and CR. */
static bool clean_text(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\r')
                return false;
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            k = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < k)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k;
    }
    return true;
}

static bool only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static bool positive_whole(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 2147483647.0 &&
           floor(v->valuedouble) == v->valuedouble;
}

/* "COLSxROWS": 1 to 9 digits each, both above zero. */
static bool is_size(const char *s)
{
    for (int part = 0; part < 2; part++) {
        size_t digits = strspn(s, "0123456789");
        if (digits == 0 || digits > 9 || strtol(s, NULL, 10) <= 0)
            return false;
        s += digits;
        if (*s != (part == 0 ? 'x' : '\0'))
            return false;
        s++;
    }
    return true;
}

typedef struct {
    int version;
    double last;
} ref_state;

static bool ref_line(ref_state *st, int64_t lineno, const char *p, size_t n)
{
    if (!clean_text((const unsigned char *)p, n))
        return false;
    if (lineno > 1 && (only_space(p, n) || (st->version == 3 && n > 0 && p[0] == '#')))
        return true;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (!j)
        return false;
    bool ok = only_space(end, (size_t)(p + n - end));
    if (ok && lineno == 1) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
        ok = cJSON_IsObject(j) && cJSON_IsNumber(v) &&
             (v->valuedouble == 2 || v->valuedouble == 3);
        int version = ok ? (int)v->valuedouble : 0;
        const cJSON *size = version == 3 ? cJSON_GetObjectItemCaseSensitive(j, "term") : j;
        ok = ok && (version == 2 || cJSON_IsObject(size)) &&
             positive_whole(cJSON_GetObjectItemCaseSensitive(size, version == 3 ? "cols" : "width")) &&
             positive_whole(cJSON_GetObjectItemCaseSensitive(size, version == 3 ? "rows" : "height"));
        if (ok)
            st->version = version;
    } else if (ok) {
        ok = cJSON_IsArray(j) && cJSON_GetArraySize(j) == 3;
        const cJSON *t = ok ? cJSON_GetArrayItem(j, 0) : NULL;
        const cJSON *code = ok ? cJSON_GetArrayItem(j, 1) : NULL;
        const cJSON *d = ok ? cJSON_GetArrayItem(j, 2) : NULL;
        ok = ok && cJSON_IsNumber(t) && isfinite(t->valuedouble) && t->valuedouble >= 0;
        if (ok && st->version == 2) {
            ok = t->valuedouble >= st->last;
            if (ok)
                st->last = t->valuedouble;
        }
        ok = ok && cJSON_IsString(code) && strlen(code->valuestring) == 1 &&
             strchr(st->version == 2 ? "oimr" : "oimrx", code->valuestring[0]);
        ok = ok && cJSON_IsString(d) && (code->valuestring[0] != 'r' || is_size(d->valuestring));
    }
    cJSON_Delete(j);
    return ok;
}

/* 0 when valid, else the number of the first bad line. */
static int64_t reference(const char *body, size_t n)
{
    ref_state st = {0, 0};
    int64_t lineno = 1;
    const char *p = body, *end = body + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!ref_line(&st, lineno, p, (size_t)((nl ? nl : end) - p)))
            return lineno;
        if (!nl)
            break;
        p = nl + 1;
        lineno++;
    }
    return st.version ? 0 : 1;
}

/* ---- the product ---- */

/* 0 when accepted, else the line number its message names. */
static int64_t upload(const char *body, size_t n, unsigned seed)
{
    cast_validator *cv = cast_validate_new();
    exo_err err = EXO_ERR_INIT;
    int rc = 0;
    size_t off = 0;
    while (off < n && rc == 0) {
        size_t k = n - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % (seed & 0x100 ? 7 : 97);
            k = k > n - off ? n - off : k;
        }
        rc = cast_validate_feed(cv, body + off, k, &err);
        off += k;
    }
    if (rc == 0)
        rc = cast_validate_finish(cv, &err);
    cast_validate_free(cv);
    int64_t line = 0;
    if (rc != 0)
        FUZZ_CHECK(sscanf(err_msg(&err), "line %" SCNd64, &line) == 1 && line > 0,
                   "a refusal names a line: %s", err_msg(&err));
    err_clear(&err);
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    int64_t want = reference(body, n);
    int64_t chunked = upload(body, n, data[0] | 1u);
    int64_t whole = upload(body, n, 0);
    FUZZ_CHECK(chunked == want && whole == want,
               "verdicts (0 = accepted, else the bad line): reference %" PRId64
               ", in chunks %" PRId64 ", whole %" PRId64,
               want, chunked, whole);
    return 0;
}

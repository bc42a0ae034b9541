#include "cast_validate.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "xalloc.h"

struct cast_validator {
    buf line;         /* the bytes after the last newline: one partial line */
    int64_t lineno;   /* number of the line being received, from 1 */
    int version;      /* 2 or 3 once the header passed; 0 before */
    double last_time; /* v2: the previous event's time */
};

/* ---- validation of one complete line ---- */

/* The length (2 to 4) of the well-formed multi-byte UTF-8 sequence at s,
 * whose first byte is >= 0x80; 0 when it is not one (overlong forms,
 * surrogates, code points past U+10FFFF, or cut short by the end at n). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (n - 1 < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* High bit set in each byte of v below b (b <= 0x80), exact for the lowest
 * such byte; bytes above it may be flagged falsely (borrows), which only
 * matters to callers that look past the first. */
static uint64_t bytes_below(uint64_t v, unsigned char b)
{
    return (v - ONES * b) & ~v & HIGHS;
}

static uint64_t bytes_equal(uint64_t v, unsigned char b)
{
    return bytes_below(v ^ (ONES * b), 1);
}

/* The index, in memory order, of the first byte flagged in a non-zero mask
 * from the functions above. On little-endian machines that is the lowest
 * byte, which they flag exactly; on others a false flag (a borrow) can come
 * first, which only costs the line a trip through the full check. */
static size_t first_flagged(uint64_t mask)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(mask) / 8;
#else
    unsigned char b[8];
    memcpy(b, &mask, 8);
    size_t i = 0;
    while (!(b[i] & 0x80))
        i++;
    return i;
#endif
}

/* The offset of the first byte that is not well-formed UTF-8 or is a
 * control character JSON allows nowhere; n when there is none. Lines are
 * checked whole, so a sequence split across chunks has been joined by now. */
static size_t bad_byte(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* Eight plain ASCII bytes at a time (no high bit, none below 0x20). */
        while (n - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if ((v & HIGHS) || bytes_below(v, 0x20))
                break;
            i += 8;
        }
        if (i == n)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\r')
                return i;
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}

/* The length of the run at s of string text that needs no second look:
 * printable ASCII other than '"' and '\\'. It stops at a quote, a
 * backslash, a control character or a byte >= 0x80 (UTF-8 to check). */
static size_t plain_text(const unsigned char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    /* Sixteen at a time where SSE2 is there (every x86-64): as signed
     * bytes, controls and bytes >= 0x80 are both below 0x20. */
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
                  backslash = _mm_set1_epi8('\\');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i stop =
            _mm_or_si128(_mm_cmplt_epi8(v, space),
                         _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        unsigned mask = (unsigned)_mm_movemask_epi8(stop);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    while (n - i >= 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        uint64_t stop =
            (v & HIGHS) | bytes_below(v, 0x20) | bytes_equal(v, '"') | bytes_equal(v, '\\');
        if (stop)
            return i + first_flagged(stop);
        i += 8;
    }
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

__attribute__((format(printf, 3, 4))) static int bad_line(cast_validator *cv, exo_err *err,
                                                          const char *fmt, ...)
{
    buf m = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&m, fmt, ap);
    va_end(ap);
    err_set(err, "line %" PRId64 ": %s", cv->lineno, m.ptr);
    buf_free(&m);
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* A whole number that fits an int and is > 0 (terminal sizes). */
static int positive_int(const cJSON *v)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    return d >= 1 && d <= INT_MAX && d == (double)(int)d;
}

/* "COLSxROWS", both positive decimals. */
static int is_size(const char *s)
{
    for (int part = 0; part < 2; part++) {
        long v = 0;
        int digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 9; s++, digits++)
            v = v * 10 + (*s - '0');
        if (v <= 0 || *s != (part == 0 ? 'x' : '\0'))
            return 0;
        s++;
    }
    return 1;
}

static int check_header(cast_validator *cv, const cJSON *h, exo_err *err)
{
    if (!cJSON_IsObject(h))
        return bad_line(cv, err, "the header must be a JSON object");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, "version");
    if (!cJSON_IsNumber(v) || (v->valuedouble != 2 && v->valuedouble != 3))
        return bad_line(cv, err, "header \"version\" must be 2 or 3");
    int version = (int)v->valuedouble;
    const cJSON *size = h;
    const char *prefix = "", *cols = "width", *rows = "height";
    if (version == 3) {
        size = cJSON_GetObjectItemCaseSensitive(h, "term");
        if (!cJSON_IsObject(size))
            return bad_line(cv, err, "header \"term\" must be an object");
        prefix = "term.";
        cols = "cols";
        rows = "rows";
    }
    if (!positive_int(cJSON_GetObjectItemCaseSensitive(size, cols)))
        return bad_line(cv, err, "header \"%s%s\" must be a positive integer", prefix, cols);
    if (!positive_int(cJSON_GetObjectItemCaseSensitive(size, rows)))
        return bad_line(cv, err, "header \"%s%s\" must be a positive integer", prefix, rows);
    cv->version = version;
    return 0;
}

static int check_event(cast_validator *cv, const cJSON *e, exo_err *err)
{
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 3)
        return bad_line(cv, err, "an event must be an array [%s, code, data]",
                        cv->version == 2 ? "time" : "interval");
    const cJSON *t = e->child, *code = t->next, *data = code->next;
    if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0)
        return bad_line(cv, err, "event %s must be a number >= 0",
                        cv->version == 2 ? "time" : "interval");
    /* v3 times are intervals, so only v2 can go backwards. */
    if (cv->version == 2) {
        if (t->valuedouble < cv->last_time)
            return bad_line(cv, err, "time %g is before the previous event's %g", t->valuedouble,
                            cv->last_time);
        cv->last_time = t->valuedouble;
    }
    const char *codes = cv->version == 2 ? "oimr" : "oimrx";
    if (!cJSON_IsString(code) || strlen(code->valuestring) != 1 ||
        !strchr(codes, code->valuestring[0]))
        return bad_line(cv, err, "event code must be one of %s",
                        cv->version == 2 ? "o, i, m, r" : "o, i, m, r, x");
    if (!cJSON_IsString(data))
        return bad_line(cv, err, "event data must be a string");
    if (code->valuestring[0] == 'r' && !is_size(data->valuestring))
        return bad_line(cv, err, "resize data must be COLSxROWS (e.g. \"80x24\")");
    return 0;
}

/* Appends the digits at q to *m (wrapping past 19 of them) and returns
 * how many there were. */
static size_t digit_run(const char *q, const char *end, uint64_t *m)
{
    const char *s = q;
    unsigned d;
    while (q < end && (d = (unsigned)(unsigned char)*q - '0') <= 9) {
        *m = *m * 10 + d;
        q++;
    }
    return (size_t)(q - s);
}

/* Reads the plain JSON decimal at s ("0", "123", "123.456": no sign, no
 * exponent, no leading zero, digits on both sides of the point) into *t,
 * the double strtod (and so cJSON) gives for it. Returns its length; 0 when
 * there is no such number or it is longer than 30 characters.
 *
 * Without strtod's cost: with at most 15 significant digits and at most 22
 * after the point, digits / 10^k has exact operands and one rounding, so it
 * is the correctly rounded value (Clinger's fast path). Longer ones go to
 * strtod itself. Either path gives the same double for the same text, so
 * time order is judged alike. */
static size_t read_decimal(const char *s, const char *end, double *t)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t m = 0;
    size_t whole = digit_run(s, end, &m), frac = 0, len = whole;
    if (whole == 0 || (s[0] == '0' && whole > 1))
        return 0;
    if (len < (size_t)(end - s) && s[len] == '.') {
        frac = digit_run(s + len + 1, end, &m);
        if (frac == 0)
            return 0;
        len += 1 + frac;
    }
    if (len > 30)
        return 0;
    /* With at most 19 digits m holds them all, and its value has exactly
     * the significant ones. */
    if (whole + frac <= 19 && m < 1000000000000000ULL && frac <= 22) {
        *t = (double)m / pow10[frac];
    } else {
        char text[32];
        memcpy(text, s, len);
        text[len] = '\0';
        *t = strtod(text, NULL);
    }
    return len;
}

static inline const char *skip_space(const char *p, const char *end)
{
    /* Most bytes are above ' ', so one comparison says they are not space. */
    while (p < end && (unsigned char)*p <= ' ' && is_space(*p))
        p++;
    return p;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The event codes the fast path takes: not 'r', whose data has a shape. */
static int plain_code(const cast_validator *cv, char c)
{
    return c == 'o' || c == 'i' || c == 'm' || (c == 'x' && cv->version == 3);
}

/* The common event line `[1.25, "o", "text"]` at p, checked in one pass
 * and without a cJSON tree (which cost most of an upload's time): a plain
 * decimal number, a one-letter code, and a string of printable ASCII,
 * well-formed UTF-8 and JSON's escapes. It only ever accepts, and only lines
 * that the full check (bad_byte, then cJSON) accepts too: anything else
 * (exponents, other shapes, resize events, control characters, bad UTF-8,
 * any doubt) goes to that check, which words the error.
 *
 * The line ends at its newline or at end, and the scan finds which, so a
 * chunk's lines need no memchr() first. Returns where the line ends, with
 * *t the event's time (whose order the caller judges), or NULL when the
 * full check must look. Changes nothing. */
static const char *fast_event(const cast_validator *cv, const char *p, const char *end, double *t)
{
    const char *q = skip_space(p, end);
    if (q == end || *q++ != '[')
        return NULL;
    q = skip_space(q, end);
    size_t len = read_decimal(q, end, t);
    if (len == 0)
        return NULL;
    q += len;
    q = skip_space(q, end);
    if (q == end || *q++ != ',')
        return NULL;
    q = skip_space(q, end);
    if (end - q < 3 || q[0] != '"' || !plain_code(cv, q[1]) || q[2] != '"')
        return NULL;
    q = skip_space(q + 3, end);
    if (q == end || *q++ != ',')
        return NULL;
    q = skip_space(q, end);
    if (q == end || *q++ != '"')
        return NULL;
    for (;;) {
        q += plain_text((const unsigned char *)q, (size_t)(end - q));
        if (q == end)
            return NULL;
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            break;
        if (c >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)q, (size_t)(end - q));
            if (k == 0)
                return NULL;
            q += k;
        } else if (c == '\\' && end - q >= 2) {
            switch (q[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                q += 2;
                break;
            case 'u':
                if (end - q < 6 || !is_hex(q[2]) || !is_hex(q[3]) || !is_hex(q[4]) || !is_hex(q[5]))
                    return NULL;
                /* \uD800-\uDFFF: cJSON takes a surrogate only as half of
                 * a pair, so it judges those. */
                if ((q[2] == 'd' || q[2] == 'D') && !(q[3] >= '0' && q[3] <= '7'))
                    return NULL;
                q += 6;
                break;
            default:
                return NULL;
            }
        } else {
            return NULL; /* a control character, or a backslash at the end */
        }
    }
    q = skip_space(q + 1, end);
    if (q == end || *q++ != ']')
        return NULL;
    q = skip_space(q, end);
    return q == end || *q == '\n' ? q : NULL;
}

/* v2: whether t keeps event times in order, and if so, the new last time.
 * A time going back is for the full check to word. */
static int keep_order(cast_validator *cv, double t)
{
    if (cv->version == 2) {
        if (t < cv->last_time)
            return 0;
        cv->last_time = t;
    }
    return 1;
}

/* The full check of one line (no newline in it), which words what is
 * wrong. */
static int check_line_fully(cast_validator *cv, const char *p, size_t n, exo_err *err)
{
    size_t bad = bad_byte((const unsigned char *)p, n);
    if (bad < n) {
        unsigned char c = (unsigned char)p[bad];
        if (c < 0x20)
            return bad_line(cv, err, "control character 0x%02x at byte %zu", c, bad + 1);
        return bad_line(cv, err, "invalid UTF-8 at byte %zu", bad + 1);
    }
    if (cv->lineno > 1) {
        size_t i = 0;
        while (i < n && is_space(p[i]))
            i++;
        if (i == n || (cv->version == 3 && p[0] == '#'))
            return 0; /* blank lines, and v3 comments, carry nothing */
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (!j)
        return bad_line(cv, err, "%s is not valid JSON",
                        cv->lineno == 1 ? "the header" : "the event");
    while (end < p + n && is_space(*end))
        end++;
    int rc;
    if (end != p + n)
        rc = bad_line(cv, err, "unexpected text after the JSON value");
    else if (cv->lineno == 1)
        rc = check_header(cv, j, err);
    else
        rc = check_event(cv, j, err);
    cJSON_Delete(j);
    return rc;
}

static int check_line(cast_validator *cv, const char *p, size_t n, exo_err *err)
{
    double t;
    if (cv->lineno > 1 && fast_event(cv, p, p + n, &t) == p + n && keep_order(cv, t))
        return 0;
    return check_line_fully(cv, p, n, err);
}

/* ---- a recording in chunks ---- */

cast_validator *cast_validate_new(void)
{
    cast_validator *cv = xcalloc(1, sizeof *cv);
    buf_init(&cv->line);
    cv->lineno = 1;
    return cv;
}

void cast_validate_free(cast_validator *cv)
{
    if (!cv)
        return;
    buf_free(&cv->line);
    free(cv);
}

int cast_validate_feed(cast_validator *cv, const void *data, size_t len, exo_err *err)
{
    /* Complete lines inside the chunk are checked where they lie; only a
     * line cut by a chunk boundary is copied, and never past the limit. */
    const char *p = data, *end = p + len;
    while (p < end) {
        /* Most lines are common events, found and checked in one pass. */
        int tried_fast = cv->line.len == 0 && cv->lineno > 1;
        if (tried_fast) {
            double t;
            const char *e = fast_event(cv, p, end, &t);
            if (e && e < end && e - p <= CAST_VALIDATE_MAX_LINE && keep_order(cv, t)) {
                cv->lineno++;
                p = e + 1;
                continue;
            }
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (cv->line.len + n > CAST_VALIDATE_MAX_LINE)
            return err_set(err, "line %" PRId64 " is longer than 1 MiB", cv->lineno);
        if (!nl) {
            buf_append(&cv->line, p, n);
            break;
        }
        int rc;
        if (tried_fast) {
            rc = check_line_fully(cv, p, n, err);
        } else if (cv->line.len == 0) {
            rc = check_line(cv, p, n, err); /* the header */
        } else {
            buf_append(&cv->line, p, n);
            rc = check_line(cv, cv->line.ptr, cv->line.len, err);
            buf_clear(&cv->line);
        }
        if (rc < 0)
            return -1;
        cv->lineno++;
        p = nl + 1;
    }
    return 0;
}

int cast_validate_finish(cast_validator *cv, exo_err *err)
{
    if (cv->line.len > 0 && check_line(cv, cv->line.ptr, cv->line.len, err) < 0)
        return -1;
    if (cv->version == 0)
        return err_set(err, "line 1: the recording is empty; it needs at least the header");
    return 0;
}

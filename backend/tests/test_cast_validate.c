/* The asciicast validator (cast_validate.h) on its own: each recording
 * judged in chunks of several sizes, so that a line, an escape or a UTF-8
 * sequence cut anywhere is judged as if whole. The store's own tests
 * (test_casts.c) show that an upload goes through it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cast_samples.h"

#include "buf.h"
#include "cast_validate.h"
#include "err.h"

#define MIB (1024 * 1024)

/* Judges body fed in chunks of `chunk` bytes, stopping at the first refusal
 * as the store does, then its end. Returns 0 or -1 with err set. */
static int judge(const char *body, size_t len, size_t chunk, exo_err *err)
{
    err_clear(err);
    cast_validator *cv = cast_validate_new();
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = cast_validate_feed(cv, body + off, n, err);
    }
    if (rc == 0)
        rc = cast_validate_finish(cv, err);
    cast_validate_free(cv);
    return rc;
}

static const size_t chunks[] = {1, 7, 4096};

static void expect_accepted(const char *body)
{
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        exo_err err = EXO_ERR_INIT;
        if (judge(body, strlen(body), chunks[i], &err) != 0)
            fail_msg("chunks of %zu: %s", chunks[i], err_msg(&err));
        err_clear(&err);
    }
}

/* Refused with exactly `want` in every chunking. */
static void expect_refused(const char *body, size_t len, const char *want)
{
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        exo_err err = EXO_ERR_INIT;
        assert_int_equal(judge(body, len, chunks[i], &err), -1);
        if (strcmp(err_msg(&err), want) != 0)
            fail_msg("chunks of %zu: got \"%s\", want \"%s\"", chunks[i], err_msg(&err), want);
        err_clear(&err);
    }
}

#define REFUSED(body, want) expect_refused(body, sizeof(body) - 1, want)

/* ---- tests ---- */

static void test_v2_accepted_in_chunks_of_1_7_and_4096_bytes(void **state)
{
    (void)state;
    expect_accepted(v2_body);
}

static void test_v3_with_comments_accepted_in_chunks_of_1_7_and_4096_bytes(void **state)
{
    (void)state;
    expect_accepted(v3_body);
}

static void test_valid_final_line_without_newline_is_accepted(void **state)
{
    (void)state;
    expect_accepted("{\"version\": 2, \"width\": 80, \"height\": 24}\n"
                    "[0.5, \"o\", \"no newline after me \xE2\x82\xAC\"]");
    expect_accepted("{\"version\": 3, \"term\": {\"cols\": 1, \"rows\": 1}}");
}

static void test_crlf_line_endings_and_blank_lines_accepted(void **state)
{
    (void)state;
    expect_accepted("{\"version\": 2, \"width\": 80, \"height\": 24}\r\n"
                    "[0.5, \"o\", \"a\"]\r\n\r\n  \n[0.6, \"o\", \"b\"]\r\n");
}

static void test_line_of_exactly_1_mib_is_accepted(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    buf_puts(&b, "{\"version\": 2, \"width\": 80, \"height\": 24}\n[1, \"o\", \"");
    size_t start = b.len - 10;
    while (b.len - start < CAST_VALIDATE_MAX_LINE - 2)
        buf_putc(&b, 'a');
    buf_puts(&b, "\"]\n");
    assert_int_equal(b.len - start - 1, CAST_VALIDATE_MAX_LINE);
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(judge(b.ptr, b.len, 4096, &err), 0);
    assert_int_equal(judge(b.ptr, b.len, b.len, &err), 0);
    buf_free(&b);
}

#define V2_HEADER "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
#define V3_HEADER "{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24}}\n"

static void test_invalid_header_refused_naming_line_1(void **state)
{
    (void)state;
    REFUSED("not json\n", "line 1: the header is not valid JSON");
    REFUSED("\n[0, \"o\", \"x\"]\n", "line 1: the header is not valid JSON");
    REFUSED("[2, 80, 24]\n", "line 1: the header must be a JSON object");
    REFUSED("{\"width\": 80, \"height\": 24}\n", "line 1: header \"version\" must be 2 or 3");
    REFUSED("{\"version\": 1, \"width\": 80, \"height\": 24}\n",
            "line 1: header \"version\" must be 2 or 3");
    REFUSED("{\"version\": \"2\", \"width\": 80, \"height\": 24}\n",
            "line 1: header \"version\" must be 2 or 3");
    REFUSED("{\"version\": 2, \"width\": 0, \"height\": 24}\n",
            "line 1: header \"width\" must be a positive integer");
    REFUSED("{\"version\": 2, \"width\": \"80\", \"height\": 24}\n",
            "line 1: header \"width\" must be a positive integer");
    REFUSED("{\"version\": 2, \"width\": 80, \"height\": 24.5}\n",
            "line 1: header \"height\" must be a positive integer");
    REFUSED("{\"version\": 2, \"width\": 80}\n",
            "line 1: header \"height\" must be a positive integer");
    REFUSED("{\"version\": 3, \"width\": 80, \"height\": 24}\n",
            "line 1: header \"term\" must be an object");
    REFUSED("{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": -1}}\n",
            "line 1: header \"term.rows\" must be a positive integer");
    REFUSED("{\"version\": 2, \"width\": 80, \"height\": 24}}\n",
            "line 1: unexpected text after the JSON value");
    REFUSED("{\"version\": 2, \"width\": 80, \"height\": 24",
            "line 1: the header is not valid JSON");
}

static void test_bad_event_refused_naming_its_line(void **state)
{
    (void)state;
    REFUSED(V2_HEADER "[0, \"o\", \"ok\"]\n{\"time\": 1}\n",
            "line 3: an event must be an array [time, code, data]");
    REFUSED(V2_HEADER "[0, \"o\", \"ok\"]\n[1, \"o\"]\n",
            "line 3: an event must be an array [time, code, data]");
    REFUSED(V2_HEADER "[0, \"o\", \"ok\"]\n[1, \"o\", \"a\", \"b\"]\n",
            "line 3: an event must be an array [time, code, data]");
    REFUSED(V2_HEADER "[-1, \"o\", \"x\"]\n", "line 2: event time must be a number >= 0");
    REFUSED(V2_HEADER "[\"1\", \"o\", \"x\"]\n", "line 2: event time must be a number >= 0");
    REFUSED(V2_HEADER "[1e999, \"o\", \"x\"]\n", "line 2: event time must be a number >= 0");
    REFUSED(V2_HEADER "[1, \"z\", \"x\"]\n", "line 2: event code must be one of o, i, m, r");
    REFUSED(V2_HEADER "[1, \"oo\", \"x\"]\n", "line 2: event code must be one of o, i, m, r");
    REFUSED(V2_HEADER "[1, \"x\", \"0\"]\n", "line 2: event code must be one of o, i, m, r");
    REFUSED(V2_HEADER "[1, 111, \"x\"]\n", "line 2: event code must be one of o, i, m, r");
    REFUSED(V2_HEADER "[1, \"o\", 5]\n", "line 2: event data must be a string");
    REFUSED(V2_HEADER "[1, \"o\", \"x\"] [2]\n", "line 2: unexpected text after the JSON value");
    REFUSED(V2_HEADER "# comments are v3 only\n", "line 2: the event is not valid JSON");
    REFUSED(V2_HEADER "[1, \"o\", \"x\"]\n[2, \"o\", \"unterminated",
            "line 3: the event is not valid JSON");
    REFUSED(V3_HEADER "# fine\n[-0.5, \"o\", \"x\"]\n",
            "line 3: event interval must be a number >= 0");
    REFUSED(V3_HEADER "[0.5, \"q\", \"x\"]\n", "line 2: event code must be one of o, i, m, r, x");
}

static void test_decreasing_v2_time_refused_naming_its_line(void **state)
{
    (void)state;
    REFUSED(V2_HEADER "[1, \"o\", \"a\"]\n[2.5, \"o\", \"b\"]\n[2.5, \"o\", \"c\"]\n"
                      "[1.25, \"o\", \"d\"]\n",
            "line 5: time 1.25 is before the previous event's 2.5");
}

static void test_bad_resize_refused_naming_its_line(void **state)
{
    (void)state;
    static const char *const bad[] = {"80x",     "x24", "0x24",   "80x0",  "80x24x",
                                      "80 x 24", "",    "-80x24", "80X24", "1234567890x24"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf b = BUF_INIT;
        buf_printf(&b, V3_HEADER "[0.1, \"o\", \"x\"]\n[0.1, \"r\", \"%s\"]\n", bad[i]);
        expect_refused(b.ptr, b.len, "line 3: resize data must be COLSxROWS (e.g. \"80x24\")");
        buf_free(&b);
    }
    expect_accepted(V2_HEADER "[0.1, \"r\", \"80x24\"]\n[0.2, \"r\", \"1x1\"]\n");
}

static void test_invalid_utf8_refused_naming_its_line(void **state)
{
    (void)state;
    /* `[1, "o", "ab` is 12 bytes: the bad sequence starts at byte 13. */
    static const char *const bad[] = {
        "\xC0\xAF",         /* overlong '/' */
        "\xE0\x80\xAF",     /* overlong, three bytes */
        "\xF0\x80\x80\xAF", /* overlong, four bytes */
        "\xED\xA0\x80",     /* UTF-16 surrogate */
        "\xF4\x90\x80\x80", /* past U+10FFFF */
        "\xF5\x80\x80\x80", /* no such lead byte */
        "\x80",             /* continuation without a lead */
        "\xE2\x82",         /* cut short by the closing quote */
        "\xFF",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf b = BUF_INIT;
        buf_printf(&b, V2_HEADER "[1, \"o\", \"ab%s\"]\n", bad[i]);
        expect_refused(b.ptr, b.len, "line 2: invalid UTF-8 at byte 13");
        buf_free(&b);
    }
    REFUSED("{\"version\": 2, \"width\": 80, \"height\": 24, \"title\": \"\xC3\"}\n",
            "line 1: invalid UTF-8 at byte 53");
    /* A final line without newline cut inside a sequence. */
    REFUSED(V2_HEADER "[1, \"o\", \"x\"]\n[2, \"o\", \"y\"]\xE2\x82",
            "line 3: invalid UTF-8 at byte 14");
    /* Raw control characters are not JSON; NUL included. */
    REFUSED(V2_HEADER "[1, \"o\", \"ab\x01\"]\n", "line 2: control character 0x01 at byte 13");
    REFUSED(V2_HEADER "[1, \"o\", \"ab\0\"]\n", "line 2: control character 0x00 at byte 13");
}

/* ---- the one-pass check of common event lines, against hostile text ---- */

static void test_escapes_accepted_and_malformed_ones_or_lone_surrogates_refused(void **state)
{
    (void)state;
    expect_accepted(V2_HEADER "[1, \"o\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]\n"
                              "[1, \"o\", \"\\u00e9\\u00E9\\u20AC\\uFFFF\\uD7ff\\uE000\"]\n"
                              "[1, \"o\", \"\\ud83d\\ude00 a pair \\uD83D\\uDE00\"]\n"
                              "[1, \"o\", \"ends in an escaped backslash \\\\\"]\n"
                              "[1, \"o\", \"\"]\n");
    /* cJSON takes a surrogate escape only as half of a pair. */
    static const char *const bad[] = {
        "a\\x",     "a\\u12",          "a\\u123",  "a\\ud800", "a\\uDBFF", "a\\udc00",
        "a\\uDFFF", "a\\ud800\\u0041", "a\\U00e9", "a\\",      "a\"b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf b = BUF_INIT;
        buf_printf(&b, V2_HEADER "[1, \"o\", \"%s\"]\n", bad[i]);
        expect_refused(b.ptr, b.len, "line 2: the event is not valid JSON");
        buf_free(&b);
    }
}

static const char *const multibyte[] = {
    "\xC2\x80",         "\xC3\xA9",         "\xDF\xBF",
    "\xE0\xA0\x80",     "\xE2\x82\xAC",     "\xED\x9F\xBF", /* U+D7FF, just below the surrogates */
    "\xEE\x80\x80",     "\xEF\xBF\xBF",     "\xF0\x90\x80\x80",
    "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", /* U+10FFFF */
};

/* Text is scanned 16 bytes at a time (SSE2), then 8, then one by one: k
 * letters before the character under test put it at every offset of each. */
#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGH"

/* A character of each length at every offset of a step, and chunks that
 * cut it everywhere. */
static void test_multibyte_text_at_every_offset_accepted_in_any_chunking(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    buf_puts(&b, V2_HEADER);
    for (int k = 0; k <= 33; k++)
        for (size_t c = 0; c < sizeof multibyte / sizeof multibyte[0]; c++)
            buf_printf(&b, "[%d, \"o\", \"%.*s%s%s\\r\\n%s\"]\n", k, k, LETTERS, multibyte[c],
                       multibyte[c], multibyte[c]);
    /* The edges of plain text: space, '!' and '#' around the quote, '[' and
     * ']' around the backslash, '~' and DEL below 0x80. */
    buf_puts(&b, "[34, \"o\", \" !#[]~\x7F !#[]~\x7F !#[]~\x7F !#[]~\x7F\"]\n");
    expect_accepted(b.ptr);
    static const size_t more[] = {2, 3, 5, 11, 13, 16, 17};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        exo_err err = EXO_ERR_INIT;
        if (judge(b.ptr, b.len, more[i], &err) != 0)
            fail_msg("chunks of %zu: %s", more[i], err_msg(&err));
    }
    buf_free(&b);
}

/* `[1, "o", "` is 10 bytes: after k letters, the bad byte is byte 11 + k,
 * at every offset of the 16- and 8-byte steps. */
static void test_bad_utf8_and_control_characters_refused_at_every_offset(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xC0\xAF",
        "\xC1\xBF",
        "\xE0\x9F\xBF",
        "\xED\xA0\x80",
        "\xF0\x8F\xBF\xBF",
        "\xF4\x90\x80\x80",
        "\xF8\x88\x80\x80\x80",
        "\x80",
        "\xBF",
        "\xC3",
        "\xE2\x82",
        "\xF0\x9F\x98",
        "\xE2\x82x",
        "\xFE",
        "\xFF",
    };
    for (int k = 0; k <= 33; k++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            buf b = BUF_INIT, want = BUF_INIT;
            buf_printf(&b, V2_HEADER "[1, \"o\", \"%.*s%s tail\"]\n", k, LETTERS, bad[i]);
            buf_printf(&want, "line 2: invalid UTF-8 at byte %d", 11 + k);
            expect_refused(b.ptr, b.len, want.ptr);
            /* The same after a valid two-byte character. */
            buf_clear(&b);
            buf_clear(&want);
            buf_printf(&b, V2_HEADER "[1, \"o\", \"\xC3\xA9%.*s%s\"]\n", k, LETTERS, bad[i]);
            buf_printf(&want, "line 2: invalid UTF-8 at byte %d", 13 + k);
            expect_refused(b.ptr, b.len, want.ptr);
            buf_free(&b);
            buf_free(&want);
        }
        static const unsigned char controls[] = {0x00, 0x01, 0x08, 0x0B, 0x0C, 0x1B, 0x1F};
        for (size_t i = 0; i < sizeof controls; i++) {
            buf b = BUF_INIT, want = BUF_INIT;
            buf_printf(&b, V2_HEADER "[1, \"o\", \"%.*s", k, LETTERS);
            buf_putc(&b, (char)controls[i]);
            buf_puts(&b, "\\u001b\"]\n");
            buf_printf(&want, "line 2: control character 0x%02x at byte %d", controls[i], 11 + k);
            expect_refused(b.ptr, b.len, want.ptr);
            buf_free(&b);
            buf_free(&want);
        }
    }
}

/* Times are read by the fast path (short plain decimals) or by cJSON
 * (exponents, long ones): the same number gives the same double either way,
 * so order is judged alike. */
static void test_times_spelled_differently_compare_as_cjson_reads_them(void **state)
{
    (void)state;
    expect_accepted(V2_HEADER "[0.1, \"o\", \"a\"]\n[1e-1, \"o\", \"b\"]\n"
                              "[0.1, \"o\", \"c\"]\n[0.10000000000000000555, \"o\", \"d\"]\n"
                              "[0.1, \"o\", \"e\"]\n[9007199254740993, \"o\", \"f\"]\n"
                              "[9007199254740992, \"o\", \"g\"]\n"
                              "[9007199254740992.0, \"o\", \"h\"]\n");
    REFUSED(V2_HEADER "[0.30000000000000004, \"o\", \"a\"]\n[0.3, \"o\", \"b\"]\n",
            "line 3: time 0.3 is before the previous event's 0.3");
    REFUSED(V2_HEADER "[2, \"o\", \"a\"]\n[1.9999999999999999999, \"o\", \"b\"]\n"
                      "[1.999999999999999, \"o\", \"c\"]\n",
            "line 4: time 2 is before the previous event's 2");
    REFUSED(V2_HEADER "[01.5, \"o\", \"a\"]\n[1, \"o\", \"b\"]\n",
            "line 3: time 1 is before the previous event's 1.5");
    /* Past 19 digits the fast path's integer wraps: strtod reads those. */
    REFUSED(V2_HEADER "[18446744073709551617, \"o\", \"a\"]\n[1.5, \"o\", \"b\"]\n",
            "line 3: time 1.5 is before the previous event's 1.84467e+19");
    REFUSED(V2_HEADER "[0.0000000000000000001, \"o\", \"a\"]\n[1e-19, \"o\", \"b\"]\n"
                      "[0.00000000000000000009, \"o\", \"c\"]\n",
            "line 4: time 9e-20 is before the previous event's 1e-19");
}

/* ---- random lines, built knowing whether and where they are wrong ---- */

static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (uint32_t)(rnd_state % n);
}

/* Appends a valid event of time t, with a random layout and text. When
 * `flaw` is not 0, one flaw of that kind goes at a random place in the
 * text: 1 invalid UTF-8, 2 a control character, 3 a malformed escape; *at
 * is set to the 1-based offset in the line of the flaw's first byte. */
static void random_event(buf *b, unsigned t, int flaw, size_t *at)
{
    static const char *const space[] = {"", " ", "  ", "\t", " \t "};
    static const char *const piece[] = {
        "plain text ",
        "\\r\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\u001b[1;31m",
        "\\ud83d\\ude00",
        "\xC3\xA9",
        "\xE2\x82\xAC",
        "\xF0\x9F\x98\x80",
        "x",
        "0123456789abcdef",
    };
    static const char *const bad_utf8[] = {"\xC0\xAF", "\xED\xA0\x80",     "\x80",
                                           "\xE2\x82", "\xF4\x90\x80\x80", "\xFF"};
    static const char *const bad_escape[] = {"\\x", "\\udc00", "\\ud800", "\\'"};
    size_t start = b->len;
    buf_printf(b, "%s[%s%u.%u%s,%s\"%c\"%s,%s\"", space[rnd(5)], space[rnd(5)], t, rnd(1000),
               space[rnd(5)], space[rnd(5)], "oim"[rnd(3)], space[rnd(5)], space[rnd(5)]);
    int pieces = (int)rnd(40), flaw_at = flaw ? (int)rnd((uint32_t)pieces + 1) : -1;
    for (int i = 0; i <= pieces; i++) {
        if (i == flaw_at) {
            *at = b->len - start + 1;
            if (flaw == 1)
                buf_puts(b, bad_utf8[rnd(6)]);
            else if (flaw == 2)
                buf_putc(b, (char)(1 + rnd(8))); /* 0x01-0x08 */
            else
                buf_puts(b, bad_escape[rnd(4)]);
        }
        if (i < pieces)
            buf_puts(b, piece[rnd(12)]);
    }
    buf_printf(b, "\"%s]%s\n", space[rnd(5)], space[rnd(5)]);
}

/* Uploads in chunks of random sizes (1 to 300 bytes, and now and then one
 * large one), aborting on the first refusal. */
/* Judges body in chunks of random sizes (1 to 300 bytes, and now and then
 * one large one), stopping at the first refusal. */
static int judge_random_chunks(const char *body, size_t len, exo_err *err)
{
    err_clear(err);
    cast_validator *cv = cast_validate_new();
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        size_t n = rnd(10) == 0 ? 4096 : 1 + rnd(300);
        if (n > len - off)
            n = len - off;
        rc = cast_validate_feed(cv, body + off, n, err);
        off += n;
    }
    if (rc == 0)
        rc = cast_validate_finish(cv, err);
    cast_validate_free(cv);
    return rc;
}

static void test_random_lines_cut_anywhere_judged_as_built(void **state)
{
    (void)state;
    exo_err err = EXO_ERR_INIT;
    buf b = BUF_INIT, want = BUF_INIT;
    buf_puts(&b, V2_HEADER);
    for (unsigned t = 0; t < 2000; t++)
        random_event(&b, t, 0, NULL);
    for (int round = 0; round < 5; round++) {
        if (judge_random_chunks(b.ptr, b.len, &err) != 0)
            fail_msg("valid random lines refused: %s", err_msg(&err));
    }

    for (int trial = 0; trial < 300; trial++) {
        int flaw = 1 + (int)rnd(3);
        unsigned lines = 1 + rnd(20);
        size_t at = 0, before = 0;
        buf_clear(&b);
        buf_puts(&b, V2_HEADER);
        for (unsigned t = 0; t < lines; t++)
            random_event(&b, t, 0, NULL);
        before = b.len;
        random_event(&b, lines, flaw, &at);
        for (unsigned t = lines + 1; t < lines + 5; t++)
            random_event(&b, t, 0, NULL);
        buf_clear(&want);
        if (flaw == 1)
            buf_printf(&want, "line %u: invalid UTF-8 at byte %zu", lines + 2, at);
        else if (flaw == 2)
            buf_printf(&want, "line %u: control character 0x%02x at byte %zu", lines + 2,
                       (unsigned char)b.ptr[before + at - 1], at);
        else
            buf_printf(&want, "line %u: the event is not valid JSON", lines + 2);
        if (judge_random_chunks(b.ptr, b.len, &err) != -1)
            fail_msg("trial %d: accepted, want \"%s\": %.*s", trial, want.ptr,
                     (int)(b.len - before), b.ptr + before);
        if (strcmp(err_msg(&err), want.ptr) != 0)
            fail_msg("trial %d: got \"%s\", want \"%s\"", trial, err_msg(&err), want.ptr);
    }
    buf_free(&b);
    buf_free(&want);
    err_clear(&err);
}

static void test_line_longer_than_1_mib_refused_naming_it(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    buf_puts(&b, V2_HEADER "[1, \"o\", \"x\"]\n[2, \"o\", \"");
    while (b.len < 2 * MIB)
        buf_putc(&b, 'a');
    size_t unterminated = b.len;
    buf_puts(&b, "\"]\n");
    exo_err err = EXO_ERR_INIT;
    /* Cut by chunks (the partial line is what grows), whole in one chunk,
     * and never terminated. */
    assert_int_equal(judge(b.ptr, b.len, 4096, &err), -1);
    assert_string_equal(err_msg(&err), "line 3 is longer than 1 MiB");
    assert_int_equal(judge(b.ptr, b.len, b.len, &err), -1);
    assert_string_equal(err_msg(&err), "line 3 is longer than 1 MiB");
    assert_int_equal(judge(b.ptr, unterminated, 65536, &err), -1);
    assert_string_equal(err_msg(&err), "line 3 is longer than 1 MiB");
    buf_free(&b);
    err_clear(&err);
}

static void test_empty_body_refused_at_finish(void **state)
{
    (void)state;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(judge("", 0, 1, &err), -1);
    assert_string_equal(err_msg(&err),
                        "line 1: the recording is empty; it needs at least the header");
    err_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_accepted_in_chunks_of_1_7_and_4096_bytes),
        cmocka_unit_test(test_v3_with_comments_accepted_in_chunks_of_1_7_and_4096_bytes),
        cmocka_unit_test(test_valid_final_line_without_newline_is_accepted),
        cmocka_unit_test(test_crlf_line_endings_and_blank_lines_accepted),
        cmocka_unit_test(test_line_of_exactly_1_mib_is_accepted),
        cmocka_unit_test(test_invalid_header_refused_naming_line_1),
        cmocka_unit_test(test_bad_event_refused_naming_its_line),
        cmocka_unit_test(test_decreasing_v2_time_refused_naming_its_line),
        cmocka_unit_test(test_bad_resize_refused_naming_its_line),
        cmocka_unit_test(test_invalid_utf8_refused_naming_its_line),
        cmocka_unit_test(test_escapes_accepted_and_malformed_ones_or_lone_surrogates_refused),
        cmocka_unit_test(test_multibyte_text_at_every_offset_accepted_in_any_chunking),
        cmocka_unit_test(test_bad_utf8_and_control_characters_refused_at_every_offset),
        cmocka_unit_test(test_times_spelled_differently_compare_as_cjson_reads_them),
        cmocka_unit_test(test_random_lines_cut_anywhere_judged_as_built),
        cmocka_unit_test(test_line_longer_than_1_mib_refused_naming_it),
        cmocka_unit_test(test_empty_body_refused_at_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

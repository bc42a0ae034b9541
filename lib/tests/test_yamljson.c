#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "yamljson.h"

static cJSON *parse_one(const char *yaml)
{
    cJSON *doc = NULL;
    exo_err err = EXO_ERR_INIT;
    if (yamljson_parse_one(&doc, yaml, strlen(yaml), "test.yaml", &err) < 0)
        fail_msg("parse failed: %s", err_msg(&err));
    err_clear(&err);
    return doc;
}

/* The error message of a parse that must fail; caller frees. */
static char *parse_error(const char *yaml)
{
    cJSON *docs = NULL;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(yamljson_parse(&docs, yaml, strlen(yaml), "values.yaml", &err), -1);
    assert_null(docs);
    char *msg = strdup(err_msg(&err));
    err_clear(&err);
    return msg;
}

static void assert_parse_error(const char *yaml, const char *want)
{
    char *msg = parse_error(yaml);
    assert_string_equal(msg, want);
    free(msg);
}

static char *emit(const cJSON *doc)
{
    buf out = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    if (yamljson_emit(&out, doc, &err) < 0)
        fail_msg("emit failed: %s", err_msg(&err));
    err_clear(&err);
    return buf_detach(&out);
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

static const char *raw(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsRaw(item));
    return item->valuestring;
}

/* parse -> emit -> parse gives the same tree; emit -> parse -> emit the same
 * bytes. Returns the first emission; caller frees. */
static char *assert_round_trip(const cJSON *doc)
{
    char *first = emit(doc);
    cJSON *again = parse_one(first);
    if (!cJSON_Compare(doc, again, 1))
        fail_msg("tree changed on a round trip through:\n%s", first);
    char *second = emit(again);
    assert_string_equal(first, second);
    free(second);
    cJSON_Delete(again);
    return first;
}

static void test_plain_scalars_follow_the_yaml12_core_schema(void **state)
{
    (void)state;
    cJSON *doc = parse_one("n1: ~\nn2: null\nn3: Null\nn4: NULL\nn5:\n"
                           "b1: true\nb2: True\nb3: FALSE\n"
                           "i1: 42\ni2: -17\ni3: +7\ni4: 0o17\ni5: 0x1F\ni6: 007\n"
                           "f1: 1.5\nf2: -.5\nf3: 1e3\nf4: 6.02E+23\nf5: 3.\n"
                           "s1: 0b101\ns2: 1_000\ns3: 12:30\ns4: 0x\ns5: 1.2.3\ns6: nULL\n");
    for (const char *k = "n1\0n2\0n3\0n4\0n5\0"; *k; k += 3)
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, k)));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "b1")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "b2")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "b3")));
    assert_true(num(doc, "i1") == 42 && num(doc, "i2") == -17 && num(doc, "i3") == 7);
    assert_true(num(doc, "i4") == 15 && num(doc, "i5") == 31 && num(doc, "i6") == 7);
    assert_true(num(doc, "f1") == 1.5 && num(doc, "f2") == -0.5 && num(doc, "f3") == 1000);
    assert_true(num(doc, "f4") == 6.02e23 && num(doc, "f5") == 3);
    assert_string_equal(str(doc, "s1"), "0b101");
    assert_string_equal(str(doc, "s2"), "1_000");
    assert_string_equal(str(doc, "s3"), "12:30");
    assert_string_equal(str(doc, "s4"), "0x");
    assert_string_equal(str(doc, "s5"), "1.2.3");
    assert_string_equal(str(doc, "s6"), "nULL");
    cJSON_Delete(doc);
}

static void test_yaml11_booleans_parse_as_strings_and_emit_quoted(void **state)
{
    (void)state;
    cJSON *doc = parse_one("a: yes\nb: no\nc: on\nd: off\ne: y\nf: n\ng: Yes\nh: OFF\n");
    assert_string_equal(str(doc, "a"), "yes");
    assert_string_equal(str(doc, "b"), "no");
    assert_string_equal(str(doc, "c"), "on");
    assert_string_equal(str(doc, "d"), "off");
    assert_string_equal(str(doc, "e"), "y");
    assert_string_equal(str(doc, "f"), "n");
    assert_string_equal(str(doc, "g"), "Yes");
    assert_string_equal(str(doc, "h"), "OFF");
    char *yaml = assert_round_trip(doc);
    assert_string_equal(yaml, "a: \"yes\"\nb: \"no\"\nc: \"on\"\nd: \"off\"\n"
                              "e: \"y\"\nf: \"n\"\ng: \"Yes\"\nh: \"OFF\"\n");
    free(yaml);
    cJSON_Delete(doc);
}

static void test_quoted_number_stays_string(void **state)
{
    (void)state;
    cJSON *doc = parse_one("a: \"80\"\nb: '80'\nc: \"true\"\nd: 'null'\ne: \"\"\n"
                           "f: |\n  80\ng: >-\n  1.5\n");
    assert_string_equal(str(doc, "a"), "80");
    assert_string_equal(str(doc, "b"), "80");
    assert_string_equal(str(doc, "c"), "true");
    assert_string_equal(str(doc, "d"), "null");
    assert_string_equal(str(doc, "e"), "");
    assert_string_equal(str(doc, "f"), "80\n");
    assert_string_equal(str(doc, "g"), "1.5");
    cJSON_Delete(doc);
}

static void test_explicit_tags_are_honoured(void **state)
{
    (void)state;
    cJSON *doc = parse_one("a: !!str 80\nb: !!int \"42\"\nc: !!float 1\nd: !!bool 'true'\n"
                           "e: !!null ''\nf: !custom 12\ng: ! 7\nh: !!binary aGk=\n");
    assert_string_equal(str(doc, "a"), "80");
    assert_true(num(doc, "b") == 42);
    assert_true(num(doc, "c") == 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "d")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "e")));
    assert_string_equal(str(doc, "f"), "12");
    assert_string_equal(str(doc, "g"), "7");
    assert_string_equal(str(doc, "h"), "aGk=");
    cJSON_Delete(doc);
}

static void test_value_that_contradicts_its_tag_is_refused(void **state)
{
    (void)state;
    assert_parse_error("port: !!int eighty\n", "values.yaml:1:7: value is not a valid !!int");
    assert_parse_error("on: !!bool yes\n", "values.yaml:1:5: value is not a valid !!bool");
}

static void test_big_integer_round_trips_exactly(void **state)
{
    (void)state;
    cJSON *doc =
        parse_one("big: 12345678901234567890\nneg: -98765432109876543210\n"
                  "limit: 9007199254740992\nover: 9007199254740993\nhex: 0xFFFFFFFFFFFFFFFFFF\n");
    assert_string_equal(raw(doc, "big"), "12345678901234567890");
    assert_string_equal(raw(doc, "neg"), "-98765432109876543210");
    assert_true(num(doc, "limit") == 9007199254740992.0);
    assert_string_equal(raw(doc, "over"), "9007199254740993");
    assert_string_equal(raw(doc, "hex"), "4722366482869645213695");
    char *yaml = assert_round_trip(doc);
    assert_string_equal(yaml, "big: 12345678901234567890\nneg: -98765432109876543210\n"
                              "limit: 9007199254740992\nover: 9007199254740993\n"
                              "hex: 4722366482869645213695\n");
    free(yaml);
    cJSON_Delete(doc);
}

static void test_inf_and_nan_are_kept_and_written_back(void **state)
{
    (void)state;
    cJSON *doc = parse_one("a: .inf\nb: -.Inf\nc: +.INF\nd: .NaN\ne: 1e999\n");
    assert_string_equal(raw(doc, "a"), ".inf");
    assert_string_equal(raw(doc, "b"), "-.inf");
    assert_string_equal(raw(doc, "c"), ".inf");
    assert_string_equal(raw(doc, "d"), ".nan");
    assert_string_equal(raw(doc, "e"), ".inf");
    char *yaml = assert_round_trip(doc);
    assert_string_equal(yaml, "a: .inf\nb: -.inf\nc: .inf\nd: .nan\ne: .inf\n");
    free(yaml);
    cJSON_Delete(doc);

    doc = cJSON_CreateNumber(-HUGE_VAL);
    yaml = emit(doc);
    assert_string_equal(yaml, "-.inf\n");
    free(yaml);
    cJSON_Delete(doc);
}

static void test_numbers_are_emitted_in_shortest_exact_form(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *yaml;
    } cases[] = {
        {1.0, "1\n"},
        {-0.0, "0\n"},
        {0.1, "0.1\n"},
        {1e20, "1.0e+20\n"},
        {1.0 / 3, "0.33333333333333331\n"},
        {-2.5e-7, "-2.5e-07\n"},
        {9007199254740992.0, "9007199254740992\n"},
        {9007199254740994.0, "9007199254740994.0\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *doc = cJSON_CreateNumber(cases[i].d);
        char *yaml = assert_round_trip(doc);
        assert_string_equal(yaml, cases[i].yaml);
        free(yaml);
        cJSON_Delete(doc);
    }
}

static void test_keys_are_kept_as_written(void **state)
{
    (void)state;
    cJSON *doc = parse_one("80: http\nnull: a\ntrue: b\n1.50: c\n\"q\": d\n");
    assert_string_equal(str(doc, "80"), "http");
    assert_string_equal(str(doc, "null"), "a");
    assert_string_equal(str(doc, "true"), "b");
    assert_string_equal(str(doc, "1.50"), "c");
    assert_string_equal(str(doc, "q"), "d");
    char *yaml = assert_round_trip(doc);
    assert_string_equal(yaml, "\"80\": http\n\"null\": a\n\"true\": b\n\"1.50\": c\nq: d\n");
    free(yaml);
    cJSON_Delete(doc);
}

static void test_non_scalar_key_is_refused(void **state)
{
    (void)state;
    assert_parse_error("? [a, b]\n: c\n", "values.yaml:1:3: mapping keys must be scalars");
    assert_parse_error("{a: 1}: x\n", "values.yaml:1:1: mapping keys must be scalars");
}

static void test_duplicate_key_is_refused_naming_key_and_line(void **state)
{
    (void)state;
    assert_parse_error("image: a\nport: 80\nimage: b\n",
                       "values.yaml:3:1: duplicate key \"image\"");
    assert_parse_error("a:\n  x: 1\n  \"x\": 2\n", "values.yaml:3:3: duplicate key \"x\"");
}

static void test_errors_carry_name_line_and_column(void **state)
{
    (void)state;
    assert_parse_error("a: 1\nb:\n  c: d: e\n",
                       "values.yaml:3:7: mapping values are not allowed in this context");
    assert_parse_error("a: [1, 2\n", "values.yaml:2:1: did not find expected ',' or ']' (while "
                                     "parsing a flow sequence at line 1)");
    assert_parse_error("a: \"x\\0y\"\n",
                       "values.yaml:1:4: NUL characters are not supported in strings");
}

static void test_aliases_are_expanded_as_copies(void **state)
{
    (void)state;
    cJSON *doc = parse_one("base: &base\n  image: nginx\n  ports: [80]\n"
                           "copy: *base\nname: &n web\nagain: *n\n*n : key-from-alias\n");
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(doc, "base");
    const cJSON *copy = cJSON_GetObjectItemCaseSensitive(doc, "copy");
    assert_true(cJSON_Compare(base, copy, 1));
    assert_ptr_not_equal(base->child, copy->child);
    assert_string_equal(str(doc, "again"), "web");
    assert_string_equal(str(doc, "web"), "key-from-alias");
    cJSON_Delete(doc);
}

static void test_unknown_alias_is_refused(void **state)
{
    (void)state;
    assert_parse_error("a: *nope\n", "values.yaml:1:4: unknown alias *nope");
    /* An anchor belongs to its document, and to its node only once complete. */
    assert_parse_error("a: &x 1\n---\nb: *x\n", "values.yaml:3:4: unknown alias *x");
    assert_parse_error("a: &x [*x]\n", "values.yaml:1:8: unknown alias *x");
}

static void test_alias_bomb_is_capped(void **state)
{
    (void)state;
    char *msg = parse_error("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                            "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                            "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                            "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                            "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                            "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                            "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n");
    assert_string_equal(msg,
                        "values.yaml:7:8: aliases expand to more than 1000000 nodes (alias bomb?)");
    free(msg);
}

static void test_nesting_beyond_the_limit_is_refused(void **state)
{
    (void)state;
    buf yaml = BUF_INIT;
    for (int i = 0; i < 1001; i++)
        buf_putc(&yaml, '[');
    for (int i = 0; i < 1001; i++)
        buf_putc(&yaml, ']');
    char *msg = parse_error(yaml.ptr);
    assert_string_equal(msg, "values.yaml:1:1001: nesting deeper than 1000 levels");
    free(msg);

    /* Aliases must not stack depth beyond the limit either. */
    buf_clear(&yaml);
    for (int line = 0; line < 2; line++) {
        buf_puts(&yaml, line == 0 ? "a: &a " : "\nb: ");
        for (int i = 0; i < 600; i++)
            buf_putc(&yaml, '[');
        buf_puts(&yaml, line == 0 ? "" : "*a");
        for (int i = 0; i < 600; i++)
            buf_putc(&yaml, ']');
    }
    msg = parse_error(yaml.ptr);
    assert_string_equal(msg, "values.yaml:2:604: alias *a nests deeper than 1000 levels");
    free(msg);
    buf_free(&yaml);
}

static void test_block_scalars_keep_their_chomping(void **state)
{
    (void)state;
    cJSON *doc = parse_one("clip: |\n  a\n   b\n\n"
                           "strip: |-\n  a\n  b\n\n"
                           "keep: |+\n  a\n  b\n\n"
                           "folded: >\n  a\n  b\n\n  c\n"
                           "folded_strip: >-\n  a\n  b\n"
                           "end: x\n");
    assert_string_equal(str(doc, "clip"), "a\n b\n");
    assert_string_equal(str(doc, "strip"), "a\nb");
    assert_string_equal(str(doc, "keep"), "a\nb\n\n");
    assert_string_equal(str(doc, "folded"), "a b\nc\n");
    assert_string_equal(str(doc, "folded_strip"), "a b");
    char *yaml = assert_round_trip(doc);
    assert_string_equal(yaml, "clip: |\n  a\n   b\nstrip: |-\n  a\n  b\nkeep: |+\n  a\n  b\n\n"
                              "folded: |\n  a b\n  c\nfolded_strip: a b\nend: x\n");
    free(yaml);
    cJSON_Delete(doc);
}

static void test_multi_document_stream_gives_one_item_per_document(void **state)
{
    (void)state;
    const char *yaml = "a: 1\n---\n---\n- x\n";
    cJSON *docs = NULL;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(yamljson_parse(&docs, yaml, strlen(yaml), "s.yaml", &err), 0);
    assert_int_equal(cJSON_GetArraySize(docs), 3);
    assert_true(num(cJSON_GetArrayItem(docs, 0), "a") == 1);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(docs, 1)));
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(docs, 2), 0)->valuestring, "x");

    buf out = BUF_INIT;
    assert_int_equal(yamljson_emit_stream(&out, docs, &err), 0);
    assert_string_equal(out.ptr, "---\na: 1\n---\nnull\n---\n- x\n");
    cJSON *again = NULL;
    assert_int_equal(yamljson_parse(&again, out.ptr, out.len, "s.yaml", &err), 0);
    assert_true(cJSON_Compare(docs, again, 1));
    cJSON_Delete(again);
    cJSON_Delete(docs);
    buf_free(&out);
}

static void test_empty_stream_gives_empty_array(void **state)
{
    (void)state;
    cJSON *docs = NULL;
    exo_err err = EXO_ERR_INIT;
    static const char *const streams[] = {"", "# only a comment\n"};
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        const char *yaml = streams[i];
        assert_int_equal(yamljson_parse(&docs, yaml, strlen(yaml), "e.yaml", &err), 0);
        assert_true(cJSON_IsArray(docs));
        assert_int_equal(cJSON_GetArraySize(docs), 0);
        buf out = BUF_INIT;
        assert_int_equal(yamljson_emit_stream(&out, docs, &err), 0);
        assert_string_equal(out.ptr, "");
        cJSON_Delete(docs);
    }
}

static void test_parse_one_requires_exactly_one_document(void **state)
{
    (void)state;
    cJSON *doc = NULL;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(yamljson_parse_one(&doc, "", 0, "none.yaml", &err), -1);
    assert_null(doc);
    assert_string_equal(err_msg(&err), "none.yaml: expected one YAML document, found 0");
    assert_int_equal(yamljson_parse_one(&doc, "a\n---\nb\n", 8, "two.yaml", &err), -1);
    assert_string_equal(err_msg(&err), "two.yaml: expected one YAML document, found 2");
    assert_int_equal(yamljson_parse_one(&doc, "---\na\n", 6, "one.yaml", &err), 0);
    assert_string_equal(doc->valuestring, "a");
    cJSON_Delete(doc);
    err_clear(&err);
}

static void test_ambiguous_strings_are_emitted_quoted(void **state)
{
    (void)state;
    static const char *const quoted[] = {
        "80",   "0x1F", "1e3",   "1_000", "yes",        "No",
        "on",   "OFF",  "y",     "n",     "true",       "null",
        "~",    "",     "12:30", ".5",    "2001-12-14", "<<",
        "0755", "0b11", "-1",    ".inf",  "1:20:30.5",  "2001-12-14 21:59:43.10 -5",
    };
    static const char *const plain[] = {"hello",      "100m", "128Mi", "v1.2.3",
                                        "nginx:1.25", "+inf", "x y"};
    for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++) {
        cJSON *doc = cJSON_CreateString(quoted[i]);
        char *yaml = assert_round_trip(doc);
        buf want = BUF_INIT;
        buf_printf(&want, "\"%s\"\n", quoted[i]);
        assert_string_equal(yaml, want.ptr);
        buf_free(&want);
        free(yaml);
        cJSON_Delete(doc);
    }
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        cJSON *doc = cJSON_CreateString(plain[i]);
        char *yaml = assert_round_trip(doc);
        assert_memory_equal(yaml, plain[i], strlen(plain[i]));
        free(yaml);
        cJSON_Delete(doc);
    }
}

static void test_tricky_strings_round_trip(void **state)
{
    (void)state;
    static const char *const strings[] = {
        ": \"#\n leading",
        " leading space",
        "trailing ",
        "a: b # c",
        "- item",
        "line with trailing space \nnext",
        " first line indented\nsecond",
        "\n",
        "\n\nx\n\n",
        "crlf\r\nline",
        "tab\there",
        "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac",
        "---",
        "...",
        "'single' and \"double\"",
        "back\\slash",
        "x\n...",
        "x\n...\n\n",
    };
    cJSON *doc = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(doc, "list");
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        cJSON_AddItemToArray(list, cJSON_CreateString(strings[i]));
        cJSON_AddStringToObject(doc, strings[i], strings[i]);
    }
    free(assert_round_trip(doc));
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        cJSON *one = cJSON_CreateString(strings[i]);
        free(assert_round_trip(one));
        cJSON_Delete(one);
    }
    cJSON_Delete(doc);
}

static void test_multiline_string_is_a_literal_block(void **state)
{
    (void)state;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "script", "set -eu\necho hi\n");
    cJSON_AddStringToObject(doc, "kept", "x\n\n");
    char *yaml = assert_round_trip(doc);
    assert_string_equal(yaml, "script: |\n  set -eu\n  echo hi\nkept: |+\n  x\n\n");
    free(yaml);
    cJSON_Delete(doc);

    /* libyaml ends a stream on a `|+` scalar with "..."; we never do. */
    doc = cJSON_CreateString("x\n\n");
    yaml = assert_round_trip(doc);
    assert_string_equal(yaml, "|+\n  x\n\n");
    free(yaml);
    cJSON_Delete(doc);
}

static void test_long_string_is_never_folded(void **state)
{
    (void)state;
    buf s = BUF_INIT;
    for (int i = 0; i < 200; i++)
        buf_puts(&s, "word ");
    buf_puts(&s, "end");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "k", s.ptr);
    char *yaml = assert_round_trip(doc);
    assert_int_equal(strlen(yaml), strlen("k: \n") + s.len);
    free(yaml);
    cJSON_Delete(doc);
    buf_free(&s);
}

static void test_collections_keep_order_and_empty_ones_are_flow(void **state)
{
    (void)state;
    cJSON *doc = parse_one("{z: 1, a: {b: [1, x, {c: d}]}, e: {}, l: [], t: true, none: null}");
    char *yaml = assert_round_trip(doc);
    assert_string_equal(
        yaml, "z: 1\na:\n  b:\n  - 1\n  - x\n  - c: d\ne: {}\nl: []\nt: true\nnone: null\n");
    free(yaml);
    cJSON_Delete(doc);
}

static void test_emit_refuses_what_yaml_cannot_hold(void **state)
{
    (void)state;
    buf out = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    buf_puts(&out, "kept\n");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "ok", "fine");
    cJSON_AddStringToObject(doc, "bad", "\xff\xfe");
    assert_int_equal(yamljson_emit(&out, doc, &err), -1);
    assert_string_equal(err_msg(&err), "YAML emitter: string is not valid UTF-8");
    assert_string_equal(out.ptr, "kept\n");
    cJSON_Delete(doc);

    doc = cJSON_CreateArray();
    cJSON_AddItemToArray(doc, cJSON_CreateRaw("{\"a\": 1}"));
    assert_int_equal(yamljson_emit_stream(&out, doc, &err), -1);
    assert_string_equal(err_msg(&err),
                        "YAML emitter: raw JSON that is not a number cannot be written");
    assert_string_equal(out.ptr, "kept\n");
    assert_int_equal(yamljson_emit_stream(&out, cJSON_GetArrayItem(doc, 0), &err), -1);
    cJSON_Delete(doc);
    buf_free(&out);
    err_clear(&err);
}

static const char manifest[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: web\n"
    "  labels:\n"
    "    app.kubernetes.io/name: web\n"
    "  annotations:\n"
    "    note: \"ports: 80 # not a comment\"\n"
    "    description: 'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac'\n"
    "    empty: \"\"\n"
    "    nothing: null\n"
    "    tilde: ~\n"
    "spec:\n"
    "  replicas: 3\n"
    "  selector:\n"
    "    matchLabels: {app: web}\n"
    "  template:\n"
    "    metadata:\n"
    "      labels:\n"
    "        app: web\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: web\n"
    "        image: nginx:1.25\n"
    "        args: [\"--port\", \"80\"]\n"
    "        command:\n"
    "        - /bin/sh\n"
    "        - -c\n"
    "        - |\n"
    "          set -eu\n"
    "          echo \"starting on :80 # really\"\n"
    "          exec nginx -g 'daemon off;'\n"
    "        ports:\n"
    "        - containerPort: 80\n"
    "          protocol: TCP\n"
    "        - {containerPort: 443, name: https}\n"
    "        env:\n"
    "        - name: PORT\n"
    "          value: \"80\"\n"
    "        - name: DEBUG\n"
    "          value: \"true\"\n"
    "        - name: ENABLED\n"
    "          value: yes\n"
    "        - name: EMPTY\n"
    "          value: \"\"\n"
    "        - name: UNSET\n"
    "        resources:\n"
    "          limits: {cpu: 500m, memory: 128Mi}\n"
    "      volumes: []\n"
    "      nodeSelector: {}\n";

static void test_kubernetes_manifest_round_trips(void **state)
{
    (void)state;
    cJSON *doc = parse_one(manifest);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
    assert_true(num(spec, "replicas") == 3);
    const cJSON *pod = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(spec, "template"), "spec");
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pod, "containers"), 0);
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(c, "env");
    assert_string_equal(str(cJSON_GetArrayItem(env, 0), "value"), "80");
    assert_string_equal(str(cJSON_GetArrayItem(env, 1), "value"), "true");
    assert_string_equal(str(cJSON_GetArrayItem(env, 2), "value"), "yes");
    assert_string_equal(str(cJSON_GetArrayItem(env, 3), "value"), "");
    assert_true(num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "ports"), 0),
                    "containerPort") == 80);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "command"), 2)->valuestring,
        "set -eu\necho \"starting on :80 # really\"\nexec nginx -g 'daemon off;'\n");

    char *yaml = assert_round_trip(doc);
    assert_non_null(strstr(yaml, "          value: \"80\"\n"));
    assert_non_null(strstr(yaml, "          value: \"yes\"\n"));
    assert_non_null(strstr(yaml, "        - |\n          set -eu\n"));
    assert_non_null(strstr(yaml, "    note: 'ports: 80 # not a comment'\n"));
    assert_non_null(strstr(yaml, "    nothing: null\n"));
    assert_null(strstr(yaml, "---"));
    free(yaml);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_scalars_follow_the_yaml12_core_schema),
        cmocka_unit_test(test_yaml11_booleans_parse_as_strings_and_emit_quoted),
        cmocka_unit_test(test_quoted_number_stays_string),
        cmocka_unit_test(test_explicit_tags_are_honoured),
        cmocka_unit_test(test_value_that_contradicts_its_tag_is_refused),
        cmocka_unit_test(test_big_integer_round_trips_exactly),
        cmocka_unit_test(test_inf_and_nan_are_kept_and_written_back),
        cmocka_unit_test(test_numbers_are_emitted_in_shortest_exact_form),
        cmocka_unit_test(test_keys_are_kept_as_written),
        cmocka_unit_test(test_non_scalar_key_is_refused),
        cmocka_unit_test(test_duplicate_key_is_refused_naming_key_and_line),
        cmocka_unit_test(test_errors_carry_name_line_and_column),
        cmocka_unit_test(test_aliases_are_expanded_as_copies),
        cmocka_unit_test(test_unknown_alias_is_refused),
        cmocka_unit_test(test_alias_bomb_is_capped),
        cmocka_unit_test(test_nesting_beyond_the_limit_is_refused),
        cmocka_unit_test(test_block_scalars_keep_their_chomping),
        cmocka_unit_test(test_multi_document_stream_gives_one_item_per_document),
        cmocka_unit_test(test_empty_stream_gives_empty_array),
        cmocka_unit_test(test_parse_one_requires_exactly_one_document),
        cmocka_unit_test(test_ambiguous_strings_are_emitted_quoted),
        cmocka_unit_test(test_tricky_strings_round_trip),
        cmocka_unit_test(test_multiline_string_is_a_literal_block),
        cmocka_unit_test(test_long_string_is_never_folded),
        cmocka_unit_test(test_collections_keep_order_and_empty_ones_are_flow),
        cmocka_unit_test(test_emit_refuses_what_yaml_cannot_hold),
        cmocka_unit_test(test_kubernetes_manifest_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

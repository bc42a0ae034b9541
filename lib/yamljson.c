#include "yamljson.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "xalloc.h"

/* cJSON's own recursion (Delete, Duplicate, Compare, Print) has no depth
 * guard, so trees deeper than cJSON's parser would accept are refused. */
#define MAX_DEPTH 1000
/* "Billion laughs": a few lines of nested aliases would otherwise expand to
 * gigabytes; a million copied nodes is far beyond any real manifest. */
#define MAX_ALIAS_NODES 1000000
/* Hex and octal literals are converted to decimal digit by digit, which is
 * quadratic; past this many digits the literal stays a string. */
#define MAX_RADIX_DIGITS 1024
/* 2^53: above it a double no longer holds every integer. */
#define MAX_EXACT_INT "9007199254740992"

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef enum { K_ANY, K_STR, K_NULL, K_BOOL, K_INT, K_FLOAT } kind;

/* cJSON reports out of memory as NULL; like xmalloc, we do not pretend to
 * recover from it. */
static cJSON *must(cJSON *j)
{
    if (!j) {
        fputs("fatal: out of memory in cJSON\n", stderr);
        abort();
    }
    return j;
}

/* ---- YAML 1.2 core schema ---------------------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static bool is_null(const char *s)
{
    static const char *const words[] = {"", "~", "null", "Null", "NULL", NULL};
    return in_list(s, words);
}

static bool is_bool(const char *s)
{
    static const char *const words[] = {"true", "True", "TRUE", "false", "False", "FALSE", NULL};
    return in_list(s, words);
}

/* Returns the base of an integer literal (0 when s is none) and points
 * *digits past any prefix and sign. */
static int int_base(const char *s, const char **digits, bool *neg)
{
    int base = 10;
    const char *set = "0123456789";
    *neg = false;
    if (s[0] == '0' && s[1] == 'o') {
        base = 8, set = "01234567", s += 2;
    } else if (s[0] == '0' && s[1] == 'x') {
        base = 16, set = "0123456789abcdefABCDEF", s += 2;
    } else if (*s == '-' || *s == '+') {
        *neg = *s++ == '-';
    }
    size_t n = strlen(s);
    if (n == 0 || strspn(s, set) != n)
        return 0;
    while (s[0] == '0' && s[1])
        s++;
    if (base != 10 && strlen(s) > MAX_RADIX_DIGITS)
        return 0;
    *digits = s;
    return base;
}

static bool is_special_float(const char *s)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
    return in_list(s + (*s == '-' || *s == '+'), inf) || in_list(s, nan);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float(const char *s)
{
    const char *digits = "0123456789";
    if (*s == '-' || *s == '+')
        s++;
    size_t whole = strspn(s, digits), frac = 0;
    s += whole;
    if (*s == '.') {
        frac = strspn(++s, digits);
        s += frac;
    }
    if (whole == 0 && frac == 0)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        size_t exp = strspn(s, digits);
        if (exp == 0)
            return false;
        s += exp;
    }
    return *s == '\0';
}

static kind classify(const char *s)
{
    const char *digits;
    bool neg;
    /* Every null, bool, int and float of the core schema starts with one of
     * these; most keys and values do not, and skip the word lists. */
    if (*s && !strchr("~nNtTfF.+-0123456789", *s))
        return K_STR;
    if (is_null(s))
        return K_NULL;
    if (is_bool(s))
        return K_BOOL;
    if (int_base(s, &digits, &neg))
        return K_INT;
    if (is_float(s) || is_special_float(s))
        return K_FLOAT;
    return K_STR;
}

/* Multiplies out digit by digit so that an integer of any size keeps every
 * digit; dec holds decimal digits least significant first. */
static void append_decimal(buf *out, const char *digits, int base)
{
    size_t n = 0;
    char *dec = xmalloc(strlen(digits) * 2 + 2);
    for (const char *p = digits; *p; p++) {
        int carry = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
        for (size_t i = 0; i < n; i++) {
            int v = dec[i] * base + carry;
            dec[i] = (char)(v % 10);
            carry = v / 10;
        }
        for (; carry; carry /= 10)
            dec[n++] = (char)(carry % 10);
    }
    if (n == 0)
        buf_putc(out, '0');
    while (n)
        buf_putc(out, (char)('0' + dec[--n]));
    free(dec);
}

/* A number when a double holds it exactly, else a Raw node holding its
 * decimal digits, which cJSON prints verbatim: nothing is rounded. */
static cJSON *int_node(const char *s)
{
    const char *digits;
    bool neg;
    int base = int_base(s, &digits, &neg);
    buf dec = BUF_INIT;
    if (neg && strcmp(digits, "0") != 0)
        buf_putc(&dec, '-');
    size_t sign = dec.len;
    if (base == 10)
        buf_puts(&dec, digits);
    else
        append_decimal(&dec, digits, base);
    size_t n = dec.len - sign;
    bool exact = n < 16 || (n == 16 && strcmp(dec.ptr + sign, MAX_EXACT_INT) <= 0);
    cJSON *node =
        must(exact ? cJSON_CreateNumber(strtod(dec.ptr, NULL)) : cJSON_CreateRaw(dec.ptr));
    buf_free(&dec);
    return node;
}

/* JSON has no inf or nan, and cJSON_Compare never finds them equal, so they
 * are Raw nodes holding their canonical YAML spelling; the emitter writes
 * Raw text back as is. */
static cJSON *float_node(const char *s)
{
    if (is_special_float(s)) {
        bool nan = s[strlen(s) - 1] == 'n' || s[strlen(s) - 1] == 'N';
        return must(cJSON_CreateRaw(nan ? ".nan" : *s == '-' ? "-.inf" : ".inf"));
    }
    double d = strtod(s, NULL);
    if (isinf(d))
        return must(cJSON_CreateRaw(d < 0 ? "-.inf" : ".inf"));
    return must(cJSON_CreateNumber(d));
}

/* The node for scalar text s read as `want`, or NULL when s is not a valid
 * value of that type (e.g. `!!int abc`). */
static cJSON *scalar_node(const char *s, kind want)
{
    kind k = classify(s);
    if (want == K_ANY)
        want = k;
    if (want == K_FLOAT && k == K_INT && is_float(s))
        k = K_FLOAT; /* `!!float 1` */
    if (want == K_STR)
        return must(cJSON_CreateString(s));
    if (k != want)
        return NULL;
    switch (k) {
    case K_NULL:
        return must(cJSON_CreateNull());
    case K_BOOL:
        return must(cJSON_CreateBool(s[0] == 't' || s[0] == 'T'));
    case K_INT:
        return int_node(s);
    default:
        return float_node(s);
    }
}

static kind tag_kind(const char *tag)
{
    static const struct {
        const char *name;
        kind k;
    } tags[] = {
        {"str", K_STR}, {"int", K_INT}, {"float", K_FLOAT}, {"bool", K_BOOL}, {"null", K_NULL}};
    size_t plen = strlen(TAG_PREFIX);
    if (strncmp(tag, TAG_PREFIX, plen) == 0)
        for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
            if (strcmp(tag + plen, tags[i].name) == 0)
                return tags[i].k;
    return K_STR; /* unknown tags, and "!", which forces a string */
}

/* ---- parser ------------------------------------------------------------ */

typedef struct {
    cJSON *node;  /* collection being filled, owned by the document tree */
    char *key;    /* a mapping's pending key, owned; NULL while a key is due */
    char *anchor; /* owned; registered when the collection ends */
    size_t nodes; /* nodes in this subtree, for the alias budget */
    int height;   /* levels of the deepest child, for the depth limit */
} frame;

typedef struct {
    char *name;
    const cJSON *node; /* borrowed from the document, or == owned */
    cJSON *owned;      /* for an anchored key, which has no node in the tree */
    char *text;        /* scalar text as written (an alias may be a key) */
    size_t nodes;
    int height;
} anchor;

typedef struct {
    const char *name;
    exo_err *err;
    cJSON *doc; /* root of the document being built, owned */
    frame *stack;
    int depth;
    anchor *anchors;
    size_t nanchors, anchors_cap;
    size_t expanded; /* nodes copied by aliases, across the whole stream */
} builder;

static int err_at(builder *b, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int err_at(builder *b, yaml_mark_t mark, const char *fmt, ...)
{
    buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    err_set(b->err, "%s:%zu:%zu: %s", b->name, mark.line + 1, mark.column + 1, msg.ptr);
    buf_free(&msg);
    return -1;
}

static int parser_error(builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "cannot parse YAML";
    if (p->error == YAML_READER_ERROR) /* no line: the reader decodes ahead */
        return err_set(b->err, "%s: %s at byte %zu", b->name, problem, p->problem_offset);
    if (p->context)
        return err_set(b->err, "%s:%zu:%zu: %s (%s at line %zu)", b->name, p->problem_mark.line + 1,
                       p->problem_mark.column + 1, problem, p->context, p->context_mark.line + 1);
    return err_at(b, p->problem_mark, "%s", problem);
}

static void clear_anchors(builder *b)
{
    for (size_t i = 0; i < b->nanchors; i++) {
        free(b->anchors[i].name);
        free(b->anchors[i].text);
        cJSON_Delete(b->anchors[i].owned);
    }
    b->nanchors = 0;
}

static void builder_free(builder *b)
{
    for (int i = 0; i < b->depth; i++) {
        free(b->stack[i].key);
        free(b->stack[i].anchor);
    }
    free(b->stack);
    clear_anchors(b);
    free(b->anchors);
    cJSON_Delete(b->doc);
}

/* Takes ownership of name and text. */
static void add_anchor(builder *b, char *name, const cJSON *node, cJSON *owned, char *text,
                       size_t nodes, int height)
{
    if (b->nanchors == b->anchors_cap) {
        b->anchors_cap = b->anchors_cap ? b->anchors_cap * 2 : 8;
        b->anchors = xrealloc(b->anchors, b->anchors_cap * sizeof *b->anchors);
    }
    b->anchors[b->nanchors++] = (anchor){name, node, owned, text, nodes, height};
}

static const anchor *find_anchor(const builder *b, const char *name)
{
    for (size_t i = b->nanchors; i > 0; i--) /* the latest definition wins */
        if (strcmp(b->anchors[i - 1].name, name) == 0)
            return &b->anchors[i - 1];
    return NULL;
}

static frame *top(builder *b)
{
    return b->depth ? &b->stack[b->depth - 1] : NULL;
}

static bool key_due(builder *b)
{
    frame *f = top(b);
    return f && cJSON_IsObject(f->node) && !f->key;
}

static int take_key(builder *b, const char *key, yaml_mark_t mark)
{
    frame *f = top(b);
    if (cJSON_GetObjectItemCaseSensitive(f->node, key))
        return err_at(b, mark, "duplicate key \"%s\"", key);
    f->key = xstrdup(key);
    return 0;
}

/* Hands item to its parent (or makes it the document) as soon as it exists,
 * so that on error one cJSON_Delete of the document frees everything. */
static void attach(builder *b, cJSON *item)
{
    frame *f = top(b);
    if (!f) {
        b->doc = item;
    } else if (cJSON_IsArray(f->node)) {
        cJSON_AddItemToArray(f->node, item);
    } else {
        if (!cJSON_AddItemToObject(f->node, f->key, item))
            must(NULL);
        free(f->key);
        f->key = NULL;
    }
}

static void account(builder *b, size_t nodes, int height)
{
    frame *f = top(b);
    if (!f)
        return;
    f->nodes += nodes;
    if (height > f->height)
        f->height = height;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *anchor_name = (const char *)ev->data.scalar.anchor;
    if (strlen(text) != ev->data.scalar.length)
        return err_at(b, ev->start_mark, "NUL characters are not supported in strings");

    kind want = K_STR;
    if (tag)
        want = tag_kind(tag);
    else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        want = K_ANY;

    if (key_due(b)) {
        if (take_key(b, text, ev->start_mark) < 0)
            return -1;
        if (anchor_name) {
            cJSON *node = scalar_node(text, want);
            if (!node)
                node = must(cJSON_CreateString(text));
            add_anchor(b, xstrdup(anchor_name), node, node, xstrdup(text), 1, 0);
        }
        return 0;
    }
    cJSON *node = scalar_node(text, want);
    if (!node)
        return err_at(b, ev->start_mark, "value is not a valid !!%s", tag + strlen(TAG_PREFIX));
    attach(b, node);
    account(b, 1, 0);
    if (anchor_name)
        add_anchor(b, xstrdup(anchor_name), node, NULL, xstrdup(text), 1, 0);
    return 0;
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *a = find_anchor(b, name);
    if (!a)
        return err_at(b, ev->start_mark, "unknown alias *%s", name);
    if (key_due(b)) {
        if (!a->text)
            return err_at(b, ev->start_mark, "alias *%s used as a mapping key is not a scalar",
                          name);
        return take_key(b, a->text, ev->start_mark);
    }
    if (a->nodes > MAX_ALIAS_NODES - b->expanded)
        return err_at(b, ev->start_mark, "aliases expand to more than %d nodes (alias bomb?)",
                      MAX_ALIAS_NODES);
    if (b->depth + a->height > MAX_DEPTH)
        return err_at(b, ev->start_mark, "alias *%s nests deeper than %d levels", name, MAX_DEPTH);
    b->expanded += a->nodes;
    attach(b, must(cJSON_Duplicate(a->node, 1)));
    account(b, a->nodes, a->height);
    return 0;
}

static int on_start(builder *b, const yaml_event_t *ev)
{
    bool mapping = ev->type == YAML_MAPPING_START_EVENT;
    const yaml_char_t *anchor_name =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (key_due(b))
        return err_at(b, ev->start_mark, "mapping keys must be scalars");
    if (b->depth == MAX_DEPTH)
        return err_at(b, ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
    cJSON *node = must(mapping ? cJSON_CreateObject() : cJSON_CreateArray());
    attach(b, node);
    b->stack[b->depth++] =
        (frame){node, NULL, anchor_name ? xstrdup((const char *)anchor_name) : NULL, 1, 0};
    return 0;
}

static void on_end(builder *b)
{
    frame f = b->stack[--b->depth];
    free(f.key);
    if (f.anchor)
        add_anchor(b, f.anchor, f.node, NULL, NULL, f.nodes, f.height + 1);
    account(b, f.nodes, f.height + 1);
}

static int on_event(builder *b, cJSON *docs, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        on_end(b);
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        cJSON_AddItemToArray(docs, b->doc ? b->doc : must(cJSON_CreateNull()));
        b->doc = NULL;
        clear_anchors(b); /* anchors are scoped to their document */
        return 0;
    default:
        return 0;
    }
}

int yamljson_parse(cJSON **out, const char *text, size_t len, const char *name, exo_err *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    builder b = {.name = name ? name : "<input>", .err = err};
    cJSON *docs = NULL;
    int rc = -1;

    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return err_set(err, "%s: cannot initialise the YAML parser", b.name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""),
                                 text ? len : 0);
    b.stack = xcalloc(MAX_DEPTH, sizeof *b.stack);
    docs = must(cJSON_CreateArray());
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            parser_error(&b, &parser);
            goto out;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        int r = on_event(&b, docs, &ev);
        yaml_event_delete(&ev);
        if (r < 0)
            goto out;
        if (end)
            break;
    }
    *out = docs;
    docs = NULL;
    rc = 0;
out:
    builder_free(&b);
    cJSON_Delete(docs);
    yaml_parser_delete(&parser);
    return rc;
}

int yamljson_parse_one(cJSON **out, const char *text, size_t len, const char *name, exo_err *err)
{
    cJSON *docs;
    *out = NULL;
    if (yamljson_parse(&docs, text, len, name, err) < 0)
        return -1;
    int n = cJSON_GetArraySize(docs);
    if (n != 1) {
        cJSON_Delete(docs);
        return err_set(err, "%s: expected one YAML document, found %d", name ? name : "<input>", n);
    }
    *out = cJSON_DetachItemFromArray(docs, 0);
    cJSON_Delete(docs);
    return 0;
}

/* ---- emitter ----------------------------------------------------------- */

/* Plain is chosen only when a YAML 1.2 core reader and a YAML 1.1 reader
 * (go-yaml v2 under sigs.k8s.io/yaml, PyYAML) both read the string back as
 * itself. Rather than mirror every 1.1 regex (0b, 0-prefixed octal, `_` in
 * numbers, sexagesimal 12:30, dates), anything number- or date-shaped is
 * quoted: a needless pair of quotes costs nothing, a port read as 80 does. */
static bool plain_is_safe(const char *s)
{
    static const char *const yaml11[] = {"y",   "Y",   "yes", "Yes", "YES", "n",  "N",
                                         "no",  "No",  "NO",  "on",  "On",  "ON", "off",
                                         "Off", "OFF", "<<",  "=",   NULL};
    /* The same shortcut for YAML 1.1, whose extra words (y, on, <<, =) and
     * number forms start with these too. */
    if (*s && !strchr("~nNtTfFyYoO<=.+-0123456789", *s))
        return true;
    if (classify(s) != K_STR || in_list(s, yaml11))
        return false;
    const char *p = s + (*s == '-' || *s == '+');
    p += strspn(p, "_"); /* go-yaml drops every `_` before reading a number */
    if ((isdigit((unsigned char)*p) || *p == '.') &&
        strspn(s, "0123456789_.:+-eExXoObBabcdfABCDF") == strlen(s))
        return false;
    bool date = strspn(s, "0123456789") == 4 && s[4] == '-' && isdigit((unsigned char)s[5]);
    return !date;
}

static int write_buf(void *data, unsigned char *bytes, size_t size)
{
    buf_append(data, bytes, size);
    return 1;
}

/* Takes the event whether or not it was `made`, as yaml_emitter_emit does. */
static int emit(yaml_emitter_t *em, yaml_event_t *ev, int made, exo_err *err)
{
    if (!made)
        return err_set(err, "YAML emitter: cannot create event");
    if (!yaml_emitter_emit(em, ev))
        return err_set(err, "YAML emitter: %s", em->problem ? em->problem : "cannot write");
    return 0;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, yaml_scalar_style_t style,
                       exo_err *err)
{
    yaml_event_t ev;
    size_t len = strlen(text);
    if (len > INT_MAX)
        return err_set(err, "YAML emitter: string of %zu bytes is too long", len);
    /* Fails only on invalid UTF-8 (or out of memory). */
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, 1, 1, style))
        return err_set(err, "YAML emitter: string is not valid UTF-8");
    return emit(em, &ev, 1, err);
}

static int emit_string(yaml_emitter_t *em, const char *s, exo_err *err)
{
    /* libyaml falls back to a quoted style by itself when the content cannot
     * be written literally or plainly, so every string round-trips. */
    yaml_scalar_style_t style = strchr(s, '\n')    ? YAML_LITERAL_SCALAR_STYLE
                                : plain_is_safe(s) ? YAML_PLAIN_SCALAR_STYLE
                                                   : YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    return emit_scalar(em, s, style, err);
}

/* Integral values print as integers; others in the shortest form that reads
 * back as the same double. */
static void format_number(buf *out, double d)
{
    if (isnan(d)) {
        buf_puts(out, ".nan");
    } else if (isinf(d)) {
        buf_puts(out, d < 0 ? "-.inf" : ".inf");
    } else if (d == 0) {
        buf_puts(out, "0"); /* not "-0" */
    } else if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(long long)d) {
        buf_printf(out, "%lld", (long long)d);
    } else {
        buf t = BUF_INIT;
        buf_printf(&t, "%1.15g", d);
        if (strtod(t.ptr, NULL) != d) {
            buf_clear(&t);
            buf_printf(&t, "%1.17g", d);
        }
        /* Without a dot, a huge integral double would read back as a big
         * integer, and YAML 1.1 readers take "1e+20" for a string. */
        const char *e = strchr(t.ptr, 'e');
        if (strchr(t.ptr, '.'))
            buf_puts(out, t.ptr);
        else
            buf_printf(out, "%.*s.0%s", (int)(e ? (size_t)(e - t.ptr) : t.len), t.ptr, e ? e : "");
        buf_free(&t);
    }
}

static int emit_node(yaml_emitter_t *em, const cJSON *node, int depth, exo_err *err)
{
    yaml_event_t ev;
    if (cJSON_IsString(node))
        return emit_string(em, node->valuestring, err);
    const char *word = cJSON_IsNull(node) ? "null" : cJSON_IsTrue(node) ? "true" : "false";
    if (cJSON_IsBool(node) || cJSON_IsNull(node))
        return emit_scalar(em, word, YAML_PLAIN_SCALAR_STYLE, err);
    if (cJSON_IsRaw(node)) {
        kind k = node->valuestring ? classify(node->valuestring) : K_STR;
        if (k != K_INT && k != K_FLOAT)
            return err_set(err, "YAML emitter: raw JSON that is not a number cannot be written");
        return emit_scalar(em, node->valuestring, YAML_PLAIN_SCALAR_STYLE, err);
    }
    if (cJSON_IsNumber(node)) {
        buf num = BUF_INIT;
        format_number(&num, node->valuedouble);
        int r = emit_scalar(em, num.ptr, YAML_PLAIN_SCALAR_STYLE, err);
        buf_free(&num);
        return r;
    }
    bool mapping = cJSON_IsObject(node);
    if (!mapping && !cJSON_IsArray(node))
        return err_set(err, "YAML emitter: invalid cJSON node");
    if (depth >= MAX_DEPTH)
        return err_set(err, "YAML emitter: nesting deeper than %d levels", MAX_DEPTH);
    int made;
    if (mapping)
        made = yaml_mapping_start_event_initialize(
            &ev, NULL, NULL, 1, node->child ? YAML_BLOCK_MAPPING_STYLE : YAML_FLOW_MAPPING_STYLE);
    else
        made = yaml_sequence_start_event_initialize(
            &ev, NULL, NULL, 1, node->child ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE);
    if (emit(em, &ev, made, err) < 0)
        return -1;
    const cJSON *c;
    cJSON_ArrayForEach (c, node) {
        if (mapping && !c->string)
            return err_set(err, "YAML emitter: object member without a key");
        if (mapping && emit_string(em, c->string, err) < 0)
            return -1;
        if (emit_node(em, c, depth + 1, err) < 0)
            return -1;
    }
    made =
        mapping ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    return emit(em, &ev, made, err);
}

int yamljson_emit(buf *out, const cJSON *doc, exo_err *err)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    size_t start = out->len;
    int rc = -1;

    if (!yaml_emitter_initialize(&em))
        return err_set(err, "YAML emitter: cannot initialise");
    yaml_emitter_set_output(&em, write_buf, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_emitter_set_indent(&em, 2);
    yaml_emitter_set_break(&em, YAML_LN_BREAK);
    if (emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING), err) < 0 ||
        emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1), err) < 0 ||
        emit_node(&em, doc, 0, err) < 0 ||
        emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1), err) < 0 ||
        emit(&em, &ev, yaml_stream_end_event_initialize(&ev), err) < 0)
        goto out;
    /* libyaml closes a stream whose last scalar keeps its trailing newlines
     * (`|+`) with "...": the end of input or the next "---" ends it as well,
     * and block content is indented, so this line can only be that marker. */
    if (out->len - start >= 5 && strcmp(out->ptr + out->len - 5, "\n...\n") == 0)
        out->ptr[out->len -= 4] = '\0';
    rc = 0;
out:
    yaml_emitter_delete(&em);
    if (rc < 0 && out->cap) {
        out->len = start;
        out->ptr[start] = '\0';
    }
    return rc;
}

int yamljson_emit_stream(buf *out, const cJSON *docs, exo_err *err)
{
    size_t start = out->len;
    if (!cJSON_IsArray(docs))
        return err_set(err, "YAML emitter: a stream must be a JSON array of documents");
    for (const cJSON *d = docs->child; d; d = d->next) {
        /* One emitter per document: libyaml would otherwise pick the
         * markers between documents itself. */
        buf_puts(out, "---\n");
        if (yamljson_emit(out, d, err) < 0) {
            out->len = start;
            out->ptr[start] = '\0';
            return -1;
        }
    }
    return 0;
}

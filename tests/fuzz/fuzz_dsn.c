/* DSN parsing and redaction (lib/dsn). The first byte picks a mode:
 *
 *   0: the rest is the DSN;
 *   1: the rest, cut at its first 0x01 into A and B, makes the keyword-form
 *      DSN  A + "password=" SECRET + B;
 *   2: likewise the URL  "postgresql://" A ":" SECRET "@" B;
 *   3: the rest is a value that dsn_append_keyword must quote so that libpq
 *      reads it back unchanged.
 *
 * Properties, beyond no crash and no leak:
 *   - a DSN that parses redacts to a DSN that parses, in the same form, with
 *     every setting the same except the password ("REDACTED");
 *   - the password is in no redaction and no error message (checked when it
 *     is not also part of another setting, where printing it is right);
 *   - in modes 1 and 2, SECRET is in no error message and no
 *     dsn_redact_text() of the input, whatever A and B are. */
/* memmem() */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "dsn.h"
#include "fuzz_common.h"

#define SECRET "Xs3cr3tPw"

static bool has_window_of_secret(const char *s, size_t n)
{
    static const char secret[] = SECRET;
    for (size_t i = 0; i + 3 <= sizeof secret - 1; i++)
        if (memmem(s, n, secret + i, 3))
            return true;
    return false;
}

static const char *val(const PQconninfoOption *o)
{
    return o->val && *o->val ? o->val : NULL;
}

/* As libpq reads a port list: items pair with hosts, and empty items are
 * defaults, so "" and "," say the same (a host list "[,]" is a host ","
 * that libpq splits into two empty ones anyway). */
static const char *setting(const PQconninfoOption *o)
{
    const char *v = val(o);
    return v && strcmp(o->keyword, "port") == 0 && !v[strspn(v, ",")] ? NULL : v;
}

static bool is_secret(const PQconninfoOption *o)
{
    return o->dispchar && o->dispchar[0] == '*';
}

/* The password libpq reads from text, or NULL when it sets none or when it
 * could show up legitimately in printed text (another setting holds it, or
 * it is short or made of separators a redaction writes). Caller frees. */
static char *checkable_password(const char *text)
{
    PQconninfoOption *opts = PQconninfoParse(text, NULL);
    if (!opts)
        return NULL;
    char *p = NULL;
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && val(o))
            p = strdup(o->val);
    bool ok = p && strlen(p) >= 6 && !strpbrk(p, "%=' \\\t\n\r\f\v@:/?&,[]") &&
              !strstr("REDACTED postgresql://", p);
    for (const PQconninfoOption *o = opts; ok && o->keyword; o++)
        if (strstr(o->keyword, p) || (!is_secret(o) && val(o) && strstr(o->val, p)))
            ok = false;
    PQconninfoFree(opts);
    if (!ok) {
        free(p);
        p = NULL;
    }
    return p;
}

/* The redaction must read back as the same settings, the password aside. */
static void check_redaction(const dsn *d, const char *text)
{
    char *red = dsn_redact(d);
    char *msg = NULL;
    PQconninfoOption *a = PQconninfoParse(text, NULL);
    PQconninfoOption *b = PQconninfoParse(red, &msg);
    FUZZ_CHECK(a && b, "the redaction %s does not parse: %s", red, msg ? msg : "");
    for (size_t i = 0; a[i].keyword; i++) {
        FUZZ_CHECK(b[i].keyword && strcmp(a[i].keyword, b[i].keyword) == 0, "option order");
        const char *x = setting(&a[i]), *y = setting(&b[i]);
        if (is_secret(&a[i]) && x)
            FUZZ_CHECK(y && strcmp(y, "REDACTED") == 0, "%s is not redacted in %s", a[i].keyword,
                       red);
        else
            FUZZ_CHECK((!x && !y) || (x && y && strcmp(x, y) == 0),
                       "%s was \"%s\", reads back as \"%s\" from %s", a[i].keyword, x ? x : "",
                       y ? y : "", red);
    }
    /* Only empty values ("host=") redact to "", which is refused as empty. */
    if (*red) {
        dsn *again = NULL;
        exo_err err = EXO_ERR_INIT;
        FUZZ_CHECK(dsn_parse(&again, red, &err) == 0, "the redaction %s is refused: %s", red,
                   err_msg(&err));
        FUZZ_CHECK(dsn_form_of(again) == dsn_form_of(d), "the redaction %s changed form", red);
        dsn_free(again);
        err_clear(&err);
    }
    char *p = checkable_password(text);
    FUZZ_CHECK(!p || !strstr(red, p), "the redaction %s holds the password", red);
    free(p);
    PQconninfoFree(a);
    PQconninfoFree(b);
    PQfreemem(msg);
    free(red);
}

static void check_text(const char *text, bool planted)
{
    dsn *d = NULL;
    exo_err err = EXO_ERR_INIT;
    if (dsn_parse(&d, text, &err) == 0) {
        FUZZ_CHECK(err.msg == NULL, "success leaves no message");
        check_redaction(d, text);
        dsn_free(d);
    } else {
        const char *msg = err_msg(&err);
        FUZZ_CHECK(d == NULL, "failure leaves no dsn");
        FUZZ_CHECK(!planted || !strstr(msg, SECRET), "the message holds the password: %s", msg);
        char *p = checkable_password(text);
        FUZZ_CHECK(!p || !strstr(msg, p), "the message holds the password: %s", msg);
        free(p);
        FUZZ_CHECK(!strchr(msg, '\n'), "the message is one line: %s", msg);
    }
    err_clear(&err);
    char *shown = dsn_redact_text(text);
    FUZZ_CHECK(!planted || !strstr(shown, SECRET), "dsn_redact_text shows the password: %s", shown);
    free(shown);
}

/* Any value, appended to a DSN, reads back unchanged. */
static void check_append(const char *value)
{
    buf b = BUF_INIT;
    dsn_append_keyword(&b, "host", "h");
    dsn_append_keyword(&b, "application_name", value);
    dsn_append_keyword(&b, "dbname", "d");
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(b.ptr, &msg);
    FUZZ_CHECK(opts, "%s does not parse: %s", b.ptr, msg);
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "application_name") == 0)
            FUZZ_CHECK(o->val && strcmp(o->val, value) == 0, "%s reads back as \"%s\"", b.ptr,
                       o->val ? o->val : "(unset)");
        if (strcmp(o->keyword, "dbname") == 0)
            FUZZ_CHECK(o->val && strcmp(o->val, "d") == 0, "%s: dbname changed", b.ptr);
    }
    PQconninfoFree(opts);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 4;
    const char *rest = (const char *)data + 1;
    size_t n = strnlen(rest, size - 1); /* C strings: up to the first NUL */
    const char *cut = memchr(rest, 0x01, n);
    size_t an = cut ? (size_t)(cut - rest) : n;
    const char *b = cut ? cut + 1 : rest + n;
    size_t bn = (size_t)(rest + n - b);
    buf text = BUF_INIT;
    bool planted = mode == 1 || mode == 2;
    switch (mode) {
    case 0:
    case 3:
        buf_append(&text, rest, n);
        break;
    case 1:
        buf_printf(&text, "%.*spassword=" SECRET "%.*s", (int)an, rest, (int)bn, b);
        break;
    default:
        buf_printf(&text, "postgresql://%.*s:" SECRET "@%.*s", (int)an, rest, (int)bn, b);
        break;
    }
    if (planted && has_window_of_secret(rest, n))
        planted = false;
    if (mode == 3)
        check_append(text.ptr);
    else
        check_text(text.ptr, planted);
    buf_free(&text);
    return 0;
}

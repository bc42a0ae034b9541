/* PostgreSQL connection strings, parsed by libpq itself so that what we
 * accept is exactly what PQconnectdb will read. What this file adds is
 * validation libpq leaves to connect time, and the guarantee that nothing it
 * produces carries a password. */
#include "dsn.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "xalloc.h"

struct dsn {
    PQconninfoOption *opts; /* owned; PQconninfoFree */
    dsn_form form;
    const char *scheme; /* static: the URL prefix as given; NULL for keyword form */
};

#define SPACES " \t\n\v\f\r"

/* libpq recognises exactly these prefixes, case and all. */
static const char *scheme_of(const char *text)
{
    static const char *const schemes[] = {"postgresql://", "postgres://"};
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
        if (strncmp(text, schemes[i], strlen(schemes[i])) == 0)
            return schemes[i];
    return NULL;
}

static bool libpq_accepts(const char *text)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(text, &msg);
    bool ok = opts != NULL;
    PQconninfoFree(opts);
    PQfreemem(msg);
    return ok;
}

/* libpq marks password-like options (password, sslpassword) with "*". */
static bool is_secret(const PQconninfoOption *o)
{
    return o->dispchar && o->dispchar[0] == '*';
}

/* Unset and empty mean the same thing to libpq: use the default. */
static const char *opt_val(const PQconninfoOption *o)
{
    return o->val && *o->val ? o->val : NULL;
}

/* Length of a keyword-form value as libpq reads it: quoted with backslash
 * escapes up to the closing quote (the end when unterminated), otherwise up
 * to whitespace, where a backslash escapes too. */
static size_t kw_value_len(const char *v)
{
    bool quoted = v[0] == '\'';
    size_t i;
    for (i = quoted; v[i]; i++) {
        if (v[i] == '\\' && v[i + 1]) {
            i++;
            continue;
        }
        if (quoted ? v[i] == '\'' : isspace((unsigned char)v[i]) != 0)
            return i + quoted;
    }
    return i;
}

/* Start of the value after the next `password =` from p, or NULL. Any case
 * and any keyword ending in "password" (sslpassword) count, with or without
 * a separator before it (libpq reads `host='h'password=x`): hiding too much
 * is the safe mistake. */
static const char *next_password_value(const char *p)
{
    for (; *p; p++) {
        if (strncasecmp(p, "password", 8) != 0)
            continue;
        const char *q = p + 8 + strspn(p + 8, SPACES);
        if (*q == '=')
            return q + 1 + strspn(q + 1, SPACES);
    }
    return NULL;
}

char *dsn_redact_text(const char *text)
{
    buf b = BUF_INIT;
    const char *scheme = scheme_of(text);
    /* A malformed password spills into what follows it (`password=my secret
     * host=h` makes libpq complain about "secret"), so when libpq refuses the
     * text, everything from a password value to the end goes. */
    bool spill = !libpq_accepts(text);
    const char *p = text;

    if (scheme) {
        /* Users paste raw passwords holding '@', '/' or '?': taking the last
         * '@' anywhere as the end of the userinfo hides more, never less. */
        const char *auth = text + strlen(scheme);
        const char *at = strrchr(auth, '@');
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            /* What stands before the password (the scheme and the user name)
             * is scanned too: a user name may hold "password=…" (found by
             * fuzz_dsn). It has one ':', at its end, after any '@', so this
             * goes no deeper. */
            char *head = xstrndup(text, (size_t)(colon + 1 - text));
            char *shown = dsn_redact_text(head);
            buf_puts(&b, shown);
            if (shown[strlen(shown) - 1] == ':')
                buf_puts(&b, "REDACTED");
            free(shown);
            free(head);
            p = at;
        }
    }
    for (const char *v; (v = next_password_value(p)) != NULL;) {
        size_t n = spill ? strlen(v) : scheme ? strcspn(v, "&") : kw_value_len(v);
        buf_append(&b, p, (size_t)(v - p));
        buf_puts(&b, "REDACTED");
        p = v + n;
    }
    buf_puts(&b, p);
    return buf_detach(&b);
}

/* libpq quotes its own separators in some messages (`missing "=" after`,
 * `matching "]"`, `expected ":" or "/"`); they say nothing about the input. */
static bool is_libpq_literal(const char *frag)
{
    return strlen(frag) == 1 && strchr("=]:/", frag[0]) != NULL;
}

/* Appends msg made safe to print. libpq's messages quote fragments of the
 * input (`invalid percent-encoded token: "p%zzsecret"`), so a quoted fragment
 * is kept only when it also appears in the input with its passwords blanked.
 * When the input holds a double quote (or %22), a fragment may contain quotes
 * and cannot be told from libpq's own text, so everything from the first
 * quote to the last goes. The result is one line. */
static void put_safe(buf *out, const char *msg, const char *input)
{
    char *seen = dsn_redact_text(input);
    const char *first = strchr(msg, '"');
    size_t start = out->len;

    if (first && (strchr(input, '"') || strstr(input, "%22"))) {
        buf_append(out, msg, (size_t)(first - msg));
        buf_puts(out, "\"…\"");
        msg = strrchr(msg, '"') + 1;
    }
    for (const char *q; (q = strchr(msg, '"')) != NULL;) {
        const char *close = strchr(q + 1, '"');
        buf_append(out, msg, (size_t)(q + 1 - msg));
        if (!close) {
            buf_puts(out, "…\"");
            msg = "";
            break;
        }
        char *frag = xstrndup(q + 1, (size_t)(close - q - 1));
        buf_puts(out, strstr(seen, frag) || is_libpq_literal(frag) ? frag : "…");
        buf_putc(out, '"');
        free(frag);
        msg = close + 1;
    }
    buf_puts(out, msg);
    for (size_t i = start; i < out->len; i++)
        if ((unsigned char)out->ptr[i] < 0x20 || out->ptr[i] == 0x7f)
            out->ptr[i] = ' ';
    while (out->len > start && out->ptr[out->len - 1] == ' ')
        out->ptr[--out->len] = '\0';
    free(seen);
}

static bool is_sslmode(const char *mode)
{
    static const char *const modes[] = {"disable", "allow",     "prefer",
                                        "require", "verify-ca", "verify-full"};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcmp(mode, modes[i]) == 0)
            return true;
    return false;
}

/* libpq checks these only when connecting; a DSN from a Secret should fail
 * at startup with a message that names the setting instead. */
static int check_settings(const dsn *d, buf *why)
{
    const char *mode = dsn_get(d, "sslmode");
    if (mode && !is_sslmode(mode)) {
        buf_printf(why,
                   "invalid sslmode \"%s\" (want disable, allow, prefer, require, "
                   "verify-ca or verify-full)",
                   mode);
        return -1;
    }
    /* An empty item in a list (`h1,h2:5433` gives ",5433") is libpq's
     * "default port for this host", so only non-empty items are checked. */
    for (const char *p = dsn_get(d, "port"); p && *p;) {
        size_t n = strcspn(p, ","), digits = strspn(p, "0123456789");
        long v = digits >= n && n <= 5 ? strtol(p, NULL, 10) : 0;
        if (n && (v < 1 || v > 65535)) {
            if (digits >= n)
                buf_printf(why, "invalid port \"%.*s\" (want 1 to 65535)", (int)n, p);
            else if (d->form == DSN_FORM_URL) /* likely a raw ':' or '/' in a password */
                buf_puts(why, "port is not a number (percent-encode special characters "
                              "in a URL password)");
            else
                buf_printf(why, "invalid port \"%.*s\" (want a number from 1 to 65535)",
                           (int)n, p);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    /* libpq ends the userinfo at the first '@', so `u:p@ss@h` means password
     * "p" and host "ss@h": a connection that fails later and a host that
     * shows part of the password. */
    const char *host = dsn_get(d, "host");
    if (d->form == DSN_FORM_URL && host && strchr(host, '@')) {
        buf_puts(why, "host contains \"@\" (percent-encode \"@\" in a URL password as %40)");
        return -1;
    }
    return 0;
}

int dsn_parse(dsn **out, const char *text, exo_err *err)
{
    buf why = BUF_INIT;
    char *pqmsg = NULL;
    PQconninfoOption *opts = NULL;
    dsn *d = NULL;
    int rc = -1;

    *out = NULL;
    if (!text || !text[strspn(text, SPACES)]) {
        buf_puts(&why, "the DSN is empty");
        goto out;
    }
    opts = PQconninfoParse(text, &pqmsg);
    if (!opts) {
        buf_puts(&why, pqmsg ? pqmsg : "out of memory");
        goto out;
    }
    d = xmalloc(sizeof *d);
    d->opts = opts;
    opts = NULL;
    d->scheme = scheme_of(text);
    d->form = d->scheme ? DSN_FORM_URL : DSN_FORM_KEYWORD;
    if (check_settings(d, &why) < 0)
        goto out;
    *out = d;
    d = NULL;
    rc = 0;
out:
    if (rc < 0) {
        buf safe = BUF_INIT;
        put_safe(&safe, why.ptr, text ? text : "");
        err_set(err, "cannot parse DSN: %s", safe.ptr);
        buf_free(&safe);
    }
    dsn_free(d);
    PQconninfoFree(opts);
    PQfreemem(pqmsg);
    buf_free(&why);
    return rc;
}

void dsn_free(dsn *d)
{
    if (!d)
        return;
    /* A parsed DSN lives as long as the process that was given it: its
     * password should not outlive it in freed memory. */
    for (PQconninfoOption *o = d->opts; o->keyword; o++)
        if (is_secret(o) && o->val)
            OPENSSL_cleanse(o->val, strlen(o->val));
    PQconninfoFree(d->opts);
    free(d);
}

const char *dsn_get(const dsn *d, const char *keyword)
{
    for (const PQconninfoOption *o = d->opts; o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0)
            return opt_val(o);
    return NULL;
}

dsn_form dsn_form_of(const dsn *d)
{
    return d->form;
}

size_t dsn_settings(const dsn *d, const char **keys, const char **vals, size_t max)
{
    size_t n = 0;
    for (const PQconninfoOption *o = d->opts; o->keyword; o++) {
        if (!opt_val(o))
            continue;
        if (n < max) {
            keys[n] = o->keyword;
            vals[n] = o->val;
        }
        n++;
    }
    return n;
}

static void put_pct(buf *b, const char *s, size_t n, bool keep_colon)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c && strchr("-._~", c)) || (keep_colon && c == ':'))
            buf_putc(b, (char)c);
        else
            buf_printf(b, "%%%02X", c);
    }
}

static size_t count_items(const char *list)
{
    size_t n = 1;
    for (; *list; list++)
        n += *list == ',';
    return n;
}

static void put_url(buf *b, const dsn *d)
{
    const char *user = dsn_get(d, "user"), *pass = dsn_get(d, "password");
    const char *hosts = dsn_get(d, "host"), *ports = dsn_get(d, "port");
    const char *db = dsn_get(d, "dbname");
    /* Ports sit beside hosts only when libpq pairs them back the same way;
     * otherwise (one port for several hosts) the list goes in the query. */
    bool zip = !ports || count_items(ports) == count_items(hosts ? hosts : "");

    buf_puts(b, d->scheme);
    if (user || pass) {
        if (user)
            put_pct(b, user, strlen(user), false);
        if (pass)
            buf_puts(b, ":REDACTED");
        buf_putc(b, '@');
    }
    const char *h = hosts ? hosts : "", *p = zip ? ports : NULL;
    for (;;) {
        size_t hn = strcspn(h, ",");
        bool v6 = memchr(h, ':', hn) != NULL;
        if (v6)
            buf_putc(b, '[');
        put_pct(b, h, hn, v6);
        if (v6)
            buf_putc(b, ']');
        if (p) {
            size_t pn = strcspn(p, ",");
            if (pn) {
                buf_putc(b, ':');
                buf_append(b, p, pn);
            }
            p += pn + (p[pn] == ',');
        }
        if (!h[hn])
            break;
        buf_putc(b, ',');
        h += hn + 1;
    }
    if (db) {
        buf_putc(b, '/');
        put_pct(b, db, strlen(db), false);
    }
    char sep = '?';
    for (const PQconninfoOption *o = d->opts; o->keyword; o++) {
        const char *k = o->keyword, *v = opt_val(o);
        if (!v || !strcmp(k, "user") || !strcmp(k, "password") || !strcmp(k, "host") ||
            !strcmp(k, "dbname") || (zip && !strcmp(k, "port")))
            continue;
        buf_putc(b, sep);
        sep = '&';
        put_pct(b, k, strlen(k), false);
        buf_putc(b, '=');
        v = is_secret(o) ? "REDACTED" : v;
        put_pct(b, v, strlen(v), false);
    }
}

char *dsn_redact(const dsn *d)
{
    buf b = BUF_INIT;
    if (d->form == DSN_FORM_URL) {
        put_url(&b, d);
        return buf_detach(&b);
    }
    for (const PQconninfoOption *o = d->opts; o->keyword; o++)
        if (opt_val(o))
            dsn_append_keyword(&b, o->keyword, is_secret(o) ? "REDACTED" : o->val);
    return buf_detach(&b);
}

void dsn_append_keyword(buf *out, const char *key, const char *value)
{
    bool quote = !*value;
    for (const char *c = value; *c && !quote; c++)
        quote = isspace((unsigned char)*c) || *c == '\'' || *c == '\\';

    if (out->len)
        buf_putc(out, ' ');
    buf_puts(out, key);
    buf_putc(out, '=');
    if (!quote) {
        buf_puts(out, value);
        return;
    }
    buf_putc(out, '\'');
    for (const char *c = value; *c; c++) {
        if (*c == '\'' || *c == '\\')
            buf_putc(out, '\\');
        buf_putc(out, *c);
    }
    buf_putc(out, '\'');
}

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "buf.h"
#include "dsn.h"
#include "err.h"

/* Parses text expecting failure and returns the message (caller frees). */
static char *parse_error(const char *text)
{
    dsn *d = (dsn *)1;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(dsn_parse(&d, text, &e), -1);
    assert_null(d);
    char *msg = strdup(err_msg(&e));
    err_clear(&e);
    return msg;
}

static dsn *parse_ok(const char *text)
{
    dsn *d = NULL;
    exo_err e = EXO_ERR_INIT;
    int rc = dsn_parse(&d, text, &e);
    if (rc != 0)
        fail_msg("%s: %s", text, err_msg(&e));
    err_clear(&e);
    return d;
}

static void assert_error(const char *text, const char *want)
{
    char *msg = parse_error(text);
    assert_string_equal(msg, want);
    free(msg);
}

static void test_keyword_form_parses_and_gets_values(void **state)
{
    (void)state;
    dsn *d = parse_ok("host=db user=exo password='a b' dbname=exo sslmode=require");
    assert_int_equal(dsn_form_of(d), DSN_FORM_KEYWORD);
    assert_string_equal(dsn_get(d, "host"), "db");
    assert_string_equal(dsn_get(d, "password"), "a b");
    assert_string_equal(dsn_get(d, "sslmode"), "require");
    assert_null(dsn_get(d, "port"));
    assert_null(dsn_get(d, "no_such_keyword"));
    dsn_free(d);
}

static void test_empty_value_reads_as_unset(void **state)
{
    (void)state;
    dsn *d = parse_ok("host=h port=''");
    assert_null(dsn_get(d, "port"));
    dsn_free(d);
}

static void test_url_form_decodes_hosts_ports_and_query(void **state)
{
    (void)state;
    dsn *d = parse_ok("postgresql://u%40x:p%40ss@h1:5432,h2:5433/d%20b?sslmode=verify-full"
                      "&application_name=a%20b");
    assert_int_equal(dsn_form_of(d), DSN_FORM_URL);
    assert_string_equal(dsn_get(d, "user"), "u@x");
    assert_string_equal(dsn_get(d, "password"), "p@ss");
    assert_string_equal(dsn_get(d, "host"), "h1,h2");
    assert_string_equal(dsn_get(d, "port"), "5432,5433");
    assert_string_equal(dsn_get(d, "dbname"), "d b");
    assert_string_equal(dsn_get(d, "application_name"), "a b");
    dsn_free(d);
    d = parse_ok("postgres://h/db");
    assert_int_equal(dsn_form_of(d), DSN_FORM_URL);
    dsn_free(d);
}

static void test_empty_and_blank_dsn_refused(void **state)
{
    (void)state;
    assert_error("", "cannot parse DSN: the DSN is empty");
    assert_error(" \t\n", "cannot parse DSN: the DSN is empty");
    assert_error(NULL, "cannot parse DSN: the DSN is empty");
}

static void test_unknown_keyword_refused_with_its_name(void **state)
{
    (void)state;
    assert_error("host=h bogus=1", "cannot parse DSN: invalid connection option \"bogus\"");
    assert_error("postgres://h/db?bogus=1",
                 "cannot parse DSN: invalid URI query parameter: \"bogus\"");
}

static void test_unknown_sslmode_refused_naming_the_choices(void **state)
{
    (void)state;
    assert_error("host=h sslmode=requir",
                 "cannot parse DSN: invalid sslmode \"requir\" (want disable, allow, prefer, "
                 "require, verify-ca or verify-full)");
    const char *modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        char text[64];
        snprintf(text, sizeof text, "postgres://h/db?sslmode=%s", modes[i]);
        dsn_free(parse_ok(text));
    }
}

static void test_port_outside_1_to_65535_refused(void **state)
{
    (void)state;
    assert_error("host=h port=0", "cannot parse DSN: invalid port \"0\" (want 1 to 65535)");
    assert_error("host=h port=65536", "cannot parse DSN: invalid port \"65536\" (want 1 to 65535)");
    assert_error("host=h port=123456",
                 "cannot parse DSN: invalid port \"123456\" (want 1 to 65535)");
    assert_error("host=h port=-1",
                 "cannot parse DSN: invalid port \"-1\" (want a number from 1 to 65535)");
    assert_error("host=a,b port=5432,x",
                 "cannot parse DSN: invalid port \"x\" (want a number from 1 to 65535)");
    assert_error("postgres://h:abc/db", "cannot parse DSN: port is not a number "
                                        "(percent-encode special characters in a URL password)");
    dsn_free(parse_ok("host=h port=1"));
    dsn_free(parse_ok("host=h port=65535"));
}

static void test_port_list_may_leave_a_host_on_the_default_port(void **state)
{
    (void)state;
    dsn *d = parse_ok("postgres://h1,h2:5433/db");
    assert_string_equal(dsn_get(d, "port"), ",5433");
    dsn_free(d);
}

static void test_url_raw_at_in_password_refused_without_showing_it(void **state)
{
    (void)state;
    assert_error("postgres://u:p@ss3cr3t@h/db",
                 "cannot parse DSN: host contains \"@\" (percent-encode \"@\" in a URL password as "
                 "%40)");
}

static void test_url_password_never_in_error(void **state)
{
    (void)state;
    assert_error("postgres://u:p%zzs3cr3t@h/db",
                 "cannot parse DSN: invalid percent-encoded token: \"…\"");
    assert_error("postgres://u:s3cr3t/x@h/db", "cannot parse DSN: port is not a number "
                                               "(percent-encode special characters in a URL "
                                               "password)");
    assert_error("postgres://u:s3cr3t@[::1/db",
                 "cannot parse DSN: end of string reached when looking for matching \"]\" in IPv6 "
                 "host address in URI: \"…\"");
    assert_error("postgres://h/db?password=a&s3cr3t",
                 "cannot parse DSN: missing key/value separator \"=\" in URI query parameter: "
                 "\"…\"");
}

static void test_keyword_password_spill_never_in_error(void **state)
{
    (void)state;
    assert_error("host=h password=my s3cr3t",
                 "cannot parse DSN: missing \"=\" after \"…\" in connection info string");
    /* (from test_pool.c, when the pool parsed its own DSN) */
    char *msg = parse_error("host=h password=my secret");
    assert_null(strstr(msg, "secret"));
    free(msg);
    assert_error("host=h password='abc",
                 "cannot parse DSN: unterminated quoted string in connection info string");
    /* a quote inside the password makes libpq's quoting ambiguous */
    assert_error("host=h password=a\"b s3\"cr3t\" x",
                 "cannot parse DSN: missing \"…\" in connection info string");
}

/* Text after a password in a DSN libpq refuses is hidden too (it may be the
 * password's tail), so the useful fragment here comes first. */
static void test_fragment_outside_the_password_stays_in_error(void **state)
{
    (void)state;
    assert_error("host=h junk=1 password=s3cr3t",
                 "cannot parse DSN: invalid connection option \"junk\"");
    assert_error("postgres://u:s3cr3t@h/db?sslmode",
                 "cannot parse DSN: missing key/value separator \"=\" in URI query parameter: "
                 "\"sslmode\"");
}

/* Each input holds a password containing "s3cr3t" (or "cr3t"), written the
 * way users get it wrong. */
static const char *const hostile[] = {
    "postgres://u:p%zzs3cr3t@h/db",
    "postgresql://u:s3cr3t%@h/db",
    "postgres://u:s3cr3t%00@h/db",
    "postgres://u:s3 cr3t@h:abc/db",
    "postgres://u:s3cr3t/x@h/db",
    "postgres://u:s3cr3t?x@h/db?bogus=1",
    "postgres://u:p@s3cr3t@h/db",
    "postgres://u:s3cr3t@[::1/db",
    "postgres://u:s3cr3t@[]/db",
    "postgres://u:s3\"cr3t@h/db?x",
    "postgres://u:s3'cr3t\\@h/db?sslmode",
    "postgres://u@h/db?password=s3cr3t&sslmode=bad",
    "postgres://u@h/db?password=s3%zzcr3t",
    "postgres://u@h/db?password=a&s3cr3t",
    "postgres://u@h/db?password=a&s3cr3t=1",
    "postgres://u@h/db?sslpassword=s3cr3t&bogus",
    "postgres://u:s3cr3t@h/db?ab\ncd",
    "host=h password=my s3cr3t",
    "host=h password=my s3cr3t dbname=x",
    "host=h password='abc s3cr3t",
    "host=h password = 'it\\'s s3cr3t' bogus=1",
    "host=h password=s3cr3t\\ x y",
    "host=h password=back\\\\slash s3cr3t",
    "host=h password=ab=cd s3cr3t",
    "host=h password=a\"b s3\"cr3t\" x",
    "host=h password=\"s3cr3t\" x",
    "host='h'password=my s3cr3t",
    "host=h password=s3cr3t sslmode=requir",
    "host=h password=s3cr3t port=0",
    "host=h password=s3cr3t\nx",
    "host=h PASSWORD=s3cr3t",
    "password=x s3cr3t=y",
};

static void test_hostile_passwords_never_in_any_output(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        const char *text = hostile[i];
        dsn *d = NULL;
        exo_err e = EXO_ERR_INIT;
        if (dsn_parse(&d, text, &e) == 0) {
            char *r = dsn_redact(d);
            if (strstr(r, "cr3t"))
                fail_msg("dsn_redact(%s) = %s", text, r);
            free(r);
            dsn_free(d);
        } else {
            const char *msg = err_msg(&e);
            if (strstr(msg, "cr3t") || strchr(msg, '\n') || strchr(msg, '\r'))
                fail_msg("dsn_parse(%s): %s", text, msg);
            assert_int_equal(strncmp(msg, "cannot parse DSN: ", 18), 0);
        }
        err_clear(&e);
        char *r = dsn_redact_text(text);
        if (strstr(r, "cr3t"))
            fail_msg("dsn_redact_text(%s) = %s", text, r);
        free(r);
    }
}

static void assert_redacted(const char *text, const char *want)
{
    dsn *d = parse_ok(text);
    char *r = dsn_redact(d);
    assert_string_equal(r, want);
    free(r);
    dsn_free(d);
}

static void test_redact_keyword_form_exact(void **state)
{
    (void)state;
    assert_redacted("host=db user=exo password='a b' dbname=exo sslmode=require",
                    "user=exo password=REDACTED dbname=exo host=db sslmode=require");
    assert_redacted("host=db application_name='it\\'s a\\\\b' sslpassword=k",
                    "host=db application_name='it\\'s a\\\\b' sslpassword=REDACTED");
    assert_redacted("host=db user=exo", "user=exo host=db");
}

static void test_redact_url_form_exact(void **state)
{
    (void)state;
    assert_redacted("postgresql://u%40x:p%40ss@h1:5432,h2:5433/d%20b?sslmode=verify-full"
                    "&application_name=a%20b%26c",
                    "postgresql://u%40x:REDACTED@h1:5432,h2:5433/d%20b"
                    "?application_name=a%20b%26c&sslmode=verify-full");
    assert_redacted("postgres://[::1]:5432,[fe80::1%25eth0]/db?password=s3cr3t",
                    "postgres://:REDACTED@[::1]:5432,[fe80::1%25eth0]/db");
    assert_redacted("postgres://h1,h2/db?port=5433", "postgres://h1,h2/db?port=5433");
    assert_redacted("postgres://%2Fvar%2Frun/db", "postgres://%2Fvar%2Frun/db");
    assert_redacted("postgres://u@h", "postgres://u@h");
    assert_redacted("postgres://", "postgres://");
}

static const char *const round_trip[] = {
    "host=db user=exo password='a b' dbname=exo sslmode=require port=6432",
    "host=h1,h2 port=5432,5433 password=x options='-c search_path=a\\'b' sslpassword=y",
    "host=/var/run/postgresql dbname='' application_name=\\\\x",
    "postgresql://u%40x:p%40ss@h1:5432,h2:5433/d%20b?sslmode=verify-full&application_name=a%26b",
    "postgres://[::1]:5432,[fe80::1%25eth0]/db?password=s3cr3t&target_session_attrs=read-write",
    "postgres://h1,h2/db?port=5433&connect_timeout=5",
    "postgres://h1,h2:5433/db",
    "postgres://%2Fvar%2Frun/db?options=-c%20x%3Dy",
    "postgres:///db?host=%2Ftmp&port=5433",
    "postgres://?sslmode=require",
};

static void test_redacted_dsn_parses_back_with_every_other_setting(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof round_trip / sizeof *round_trip; i++) {
        dsn *d = parse_ok(round_trip[i]);
        char *r = dsn_redact(d);
        dsn *back = parse_ok(r);
        assert_int_equal(dsn_form_of(back), dsn_form_of(d));
        PQconninfoOption *opts = PQconninfoParse("", NULL);
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            const char *was = dsn_get(d, o->keyword), *now = dsn_get(back, o->keyword);
            bool secret = !strcmp(o->keyword, "password") || !strcmp(o->keyword, "sslpassword");
            if (secret && was)
                assert_string_equal(now, "REDACTED");
            else if (!was != !now || (was && strcmp(was, now)))
                fail_msg("%s: %s was %s, is %s after %s", round_trip[i], o->keyword,
                         was ? was : "unset", now ? now : "unset", r);
        }
        PQconninfoFree(opts);
        free(r);
        dsn_free(back);
        dsn_free(d);
    }
}

static void test_redact_text_hides_passwords_in_text_that_may_not_parse(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } cases[] = {
        {"postgres://u:s3cr3t@h/db", "postgres://u:REDACTED@h/db"},
        {"postgres://u:p@ss/w?rd@h/db", "postgres://u:REDACTED@h/db"},
        {"postgres://u@h/db?password=s3cr3t&sslmode=require",
         "postgres://u@h/db?password=REDACTED&sslmode=require"},
        {"postgres://u@h/db?password=a&b", "postgres://u@h/db?password=REDACTED"},
        {"postgres://h:5432/db", "postgres://h:5432/db"},
        {"host=h password = 'a\\' b' user=x", "host=h password = REDACTED user=x"},
        {"host=h password=s3\\ cr3t user=x", "host=h password=REDACTED user=x"},
        {"host=h password=my secret host=h", "host=h password=REDACTED"},
        {"host=h password='abc", "host=h password=REDACTED"},
        {"host='h'password=x", "host='h'password=REDACTED"},
        {"host=h user=u", "host=h user=u"},
        /* A user name holding "password=…" (found by fuzz_dsn). */
        {"postgresql://npassword=s3cr3t:pw@h", "postgresql://npassword=REDACTED@h"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = dsn_redact_text(cases[i].in);
        assert_string_equal(r, cases[i].want);
        free(r);
    }
}

static void test_append_keyword_quotes_only_when_needed(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    dsn_append_keyword(&b, "host", "db");
    dsn_append_keyword(&b, "password", "");
    dsn_append_keyword(&b, "user", "a b");
    dsn_append_keyword(&b, "application_name", "it's\\");
    assert_string_equal(b.ptr, "host=db password='' user='a b' application_name='it\\'s\\\\'");
    buf_free(&b);
}

static void test_append_keyword_round_trips_hostile_values(void **state)
{
    (void)state;
    const char *values[] = {"",      "plain", "a b",   "'",       "\\",       "'quoted'",
                            "a\\'b", "x=y",   "\t\n ", "tail\\", "\"dq\" 'sq'", "p%zz@/?&#",
                            "é ü",   "=",     "''",    "\\'"};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        buf b = BUF_INIT;
        dsn_append_keyword(&b, "host", "h");
        dsn_append_keyword(&b, "password", values[i]);
        char *msg = NULL;
        PQconninfoOption *opts = PQconninfoParse(b.ptr, &msg);
        if (!opts)
            fail_msg("%s: %s", b.ptr, msg);
        for (PQconninfoOption *o = opts; o->keyword; o++)
            if (!strcmp(o->keyword, "password"))
                assert_string_equal(o->val, values[i]);
        PQconninfoFree(opts);
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_form_parses_and_gets_values),
        cmocka_unit_test(test_empty_value_reads_as_unset),
        cmocka_unit_test(test_url_form_decodes_hosts_ports_and_query),
        cmocka_unit_test(test_empty_and_blank_dsn_refused),
        cmocka_unit_test(test_unknown_keyword_refused_with_its_name),
        cmocka_unit_test(test_unknown_sslmode_refused_naming_the_choices),
        cmocka_unit_test(test_port_outside_1_to_65535_refused),
        cmocka_unit_test(test_port_list_may_leave_a_host_on_the_default_port),
        cmocka_unit_test(test_url_raw_at_in_password_refused_without_showing_it),
        cmocka_unit_test(test_url_password_never_in_error),
        cmocka_unit_test(test_keyword_password_spill_never_in_error),
        cmocka_unit_test(test_fragment_outside_the_password_stays_in_error),
        cmocka_unit_test(test_hostile_passwords_never_in_any_output),
        cmocka_unit_test(test_redact_keyword_form_exact),
        cmocka_unit_test(test_redact_url_form_exact),
        cmocka_unit_test(test_redacted_dsn_parses_back_with_every_other_setting),
        cmocka_unit_test(test_redact_text_hides_passwords_in_text_that_may_not_parse),
        cmocka_unit_test(test_append_keyword_quotes_only_when_needed),
        cmocka_unit_test(test_append_keyword_round_trips_hostile_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

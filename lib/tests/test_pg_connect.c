/* pg_connect_open against a real PostgreSQL 16 without TLS (with_pg.py): a
 * DSN that names no sslmode is verified (so it fails here, with the hint),
 * one that says sslmode=disable or PGSSLMODE=disable connects, and a
 * Unix-socket host is not affected; failures are one line without the
 * password, an unreachable server is told apart, and a server older than
 * the caller needs is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "dsn.h"
#include "pg_connect.h"

static const pg_connect_opts any_version = {NULL, NULL, 0, NULL};

static dsn *parsed(const char *text)
{
    dsn *d = NULL;
    exo_err e = EXO_ERR_INIT;
    if (dsn_parse(&d, text, &e) < 0)
        fail_msg("dsn_parse: %s", err_msg(&e));
    return d;
}

static const char *test_dsn(void)
{
    const char *s = getenv("EXO_TEST_DSN");
    assert_non_null(s);
    return s;
}

/* EXO_TEST_DSN (which says sslmode=disable) without its sslmode. */
static dsn *dsn_without_sslmode(void)
{
    const char *text = test_dsn();
    const char *at = strstr(text, "sslmode=disable");
    assert_non_null(at);
    buf b;
    buf_init(&b);
    buf_printf(&b, "%.*s%s", (int)(at - text), text, at + strlen("sslmode=disable"));
    dsn *d = parsed(b.ptr);
    buf_free(&b);
    return d;
}

/* EXO_TEST_DSN with one setting replaced (or added). Caller frees. */
static dsn *test_dsn_with(const char *key, const char *value)
{
    dsn *t = parsed(test_dsn());
    const char *keys[64], *vals[64];
    size_t n = dsn_settings(t, keys, vals, 64);
    assert_true(n <= 64);
    buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) != 0)
            dsn_append_keyword(&b, keys[i], vals[i]);
    dsn_append_keyword(&b, key, value);
    dsn *d = parsed(b.ptr);
    buf_free(&b);
    dsn_free(t);
    return d;
}

static void assert_defaulted(const char *text, bool want)
{
    dsn *d = parsed(text);
    assert_int_equal(pg_sslmode_defaulted(d), want);
    dsn_free(d);
}

static void test_the_default_is_decided_by_the_dsn_then_pgsslmode(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    assert_defaulted("host=db user=exo", true);
    assert_defaulted("postgresql://exo@db/exo", true);
    assert_defaulted("host=db sslmode=require", false);
    assert_defaulted("postgresql://exo@db/exo?sslmode=disable", false);
    /* What libpq cannot parse never reaches a connect: dsn_parse says why. */
    dsn *d = NULL;
    assert_int_equal(dsn_parse(&d, "host='unterminated", NULL), -1);
    setenv("PGSSLMODE", "prefer", 1);
    assert_defaulted("host=db user=exo", false);
    unsetenv("PGSSLMODE");
}

static void test_no_sslmode_means_verified_and_the_hint_says_so(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    dsn *d = dsn_without_sslmode();
    PGconn *c = (PGconn *)1;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(pg_connect_open(&c, d, &any_version, &e), PG_CONNECT_FAILED);
    assert_null(c);
    const char *msg = err_msg(&e);
    assert_non_null(strstr(msg, "SSL")); /* the server offers no TLS */
    assert_non_null(strstr(msg, "sslmode=require"));
    assert_non_null(strstr(pg_sslmode_hint(d, msg), "sslmode=require"));
    dsn *named = parsed(test_dsn());
    assert_string_equal(pg_sslmode_hint(named, msg), "");
    assert_string_equal(pg_sslmode_hint(d, "Connection refused"), "");
    err_clear(&e);
    dsn_free(named);
    dsn_free(d);
}

static void test_saying_otherwise_connects(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    PGconn *c = NULL;
    exo_err e = EXO_ERR_INIT;
    dsn *named = parsed(test_dsn());
    assert_int_equal(pg_connect_open(&c, named, &any_version, &e), 0);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);

    dsn *d = dsn_without_sslmode();
    setenv("PGSSLMODE", "disable", 1);
    assert_int_equal(pg_connect_open(&c, d, &any_version, &e), 0);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
    unsetenv("PGSSLMODE");

    /* Keywords after the DSN win over it. */
    const char *keys[] = {"sslmode", NULL}, *vals[] = {"disable", NULL};
    pg_connect_opts o = {keys, vals, 0, NULL};
    assert_int_equal(pg_connect_open(&c, d, &o, &e), 0);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
    dsn_free(d);
    dsn_free(named);
    err_clear(&e);
}

static void test_a_server_older_than_needed_is_refused(void **state)
{
    (void)state;
    dsn *d = parsed(test_dsn());
    PGconn *c = (PGconn *)1;
    exo_err e = EXO_ERR_INIT;
    pg_connect_opts o = {NULL, NULL, 16, "the test"};
    assert_int_equal(pg_connect_open(&c, d, &o, &e), 0); /* the test server is 16 */
    PQfinish(c);
    o.min_major = 99;
    assert_int_equal(pg_connect_open(&c, d, &o, &e), PG_CONNECT_TOO_OLD);
    assert_null(c);
    assert_non_null(strstr(err_msg(&e), "the database server is PostgreSQL 16."));
    assert_non_null(strstr(err_msg(&e), "; the test needs PostgreSQL 99 or newer"));
    err_clear(&e);
    dsn_free(d);
}

static void test_a_refusal_is_one_line_without_the_password(void **state)
{
    (void)state;
    dsn *d = test_dsn_with("password", "Not-the-pw-4711");
    PGconn *c = (PGconn *)1;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(pg_connect_open(&c, d, &any_version, &e), PG_CONNECT_FAILED);
    assert_null(c);
    const char *msg = err_msg(&e);
    assert_non_null(strstr(msg, "password authentication failed"));
    assert_null(strstr(msg, "Not-the-pw-4711"));
    assert_null(strchr(msg, '\n'));
    assert_int_not_equal(msg[strlen(msg) - 1], ' ');
    err_clear(&e);
    dsn_free(d);
}

/* Nothing listens on port 1: no server answered, which the installer takes
 * for "not reachable from here" rather than a refusal. */
static void test_no_server_is_unreachable_not_refused(void **state)
{
    (void)state;
    dsn *d = parsed("host=127.0.0.1 port=1 user=u password=hunter2 sslmode=disable "
                    "connect_timeout=5");
    PGconn *c = (PGconn *)1;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(pg_connect_open(&c, d, &any_version, &e), PG_CONNECT_UNREACHABLE);
    assert_null(c);
    assert_non_null(strstr(err_msg(&e), "Connection refused"));
    assert_null(strstr(err_msg(&e), "hunter2"));
    assert_null(strchr(err_msg(&e), '\n'));
    err_clear(&e);
    dsn_free(d);
}

/* Connecting from the parsed settings: a database name holding '=' is a
 * name, not a connection string to expand. */
static void test_a_dbname_with_an_equals_sign_stays_a_name(void **state)
{
    (void)state;
    dsn *d = test_dsn_with("dbname", "no such=db");
    PGconn *c = (PGconn *)1;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(pg_connect_open(&c, d, &any_version, &e), PG_CONNECT_FAILED);
    assert_non_null(strstr(err_msg(&e), "database \"no such=db\" does not exist"));
    err_clear(&e);
    dsn_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_default_is_decided_by_the_dsn_then_pgsslmode),
        cmocka_unit_test(test_no_sslmode_means_verified_and_the_hint_says_so),
        cmocka_unit_test(test_saying_otherwise_connects),
        cmocka_unit_test(test_a_server_older_than_needed_is_refused),
        cmocka_unit_test(test_a_refusal_is_one_line_without_the_password),
        cmocka_unit_test(test_no_server_is_unreachable_not_refused),
        cmocka_unit_test(test_a_dbname_with_an_equals_sign_stays_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

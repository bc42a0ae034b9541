/* dbcheck_run against a real PostgreSQL 16 (with_pg.py sets EXO_TEST_DSN):
 * a fit database, one that refuses the password (an error without it), and
 * one that cannot be reached (a warning: the install goes on). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "dbcheck.h"
#include "dsn.h"

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
    if (!s || !*s)
        skip();
    return s;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

typedef struct {
    int rc, version;
    char *warned; /* what went to the warning stream */
    exo_err err;
} check;

static check run_check(const char *text)
{
    check c = {0, 0, NULL, EXO_ERR_INIT};
    size_t len = 0;
    FILE *warn = open_memstream(&c.warned, &len);
    assert_non_null(warn);
    dsn *d = parsed(text);
    c.rc = dbcheck_run(d, NULL, warn, &c.version, &c.err);
    fclose(warn);
    dsn_free(d);
    return c;
}

static void check_free(check *c)
{
    free(c->warned);
    err_clear(&c->err);
}

static void test_a_fit_database_passes_with_its_version(void **state)
{
    (void)state;
    check c = run_check(test_dsn());
    assert_int_equal(c.rc, 0);
    assert_true(c.version >= 160000);
    assert_string_equal(c.warned, "");
    check_free(&c);
}

static void test_a_refused_password_is_an_error_without_it(void **state)
{
    (void)state;
    dsn *t = parsed(test_dsn());
    const char *keys[64], *vals[64];
    size_t n = dsn_settings(t, keys, vals, 64);
    buf b = BUF_INIT;
    for (size_t i = 0; i < n && i < 64; i++)
        if (strcmp(keys[i], "password") != 0)
            dsn_append_keyword(&b, keys[i], vals[i]);
    dsn_append_keyword(&b, "password", "Wr0ng-pw-123");
    dsn_free(t);
    check c = run_check(b.ptr);
    assert_int_equal(c.rc, -1);
    const char *msg = err_msg(&c.err);
    assert_true(starts_with(msg, "--db-dsn: the database refused the connection: "));
    assert_non_null(strstr(msg, "password authentication failed"));
    assert_null(strstr(msg, "Wr0ng-pw-123"));
    assert_string_equal(c.warned, "");
    check_free(&c);
    buf_free(&b);
}

static void test_an_unreachable_database_is_a_warning(void **state)
{
    (void)state;
    check c = run_check("host=127.0.0.1 port=1 user=u password=hunter2 sslmode=disable");
    assert_int_equal(c.rc, 1);
    assert_null(c.err.msg);
    assert_true(starts_with(c.warned, "warning: --db-dsn: cannot reach the database from here ("));
    assert_non_null(strstr(c.warned, "Connection refused"));
    assert_non_null(strstr(c.warned, "); installing anyway"));
    assert_null(strstr(c.warned, "hunter2"));
    check_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_fit_database_passes_with_its_version),
        cmocka_unit_test(test_a_refused_password_is_an_error_without_it),
        cmocka_unit_test(test_an_unreachable_database_is_a_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

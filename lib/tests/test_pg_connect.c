/* pg_connect against a real PostgreSQL 16 without TLS (with_pg.py): a DSN
 * that names no sslmode is verified (so it fails here, with the hint), one
 * that says sslmode=disable or PGSSLMODE=disable connects, and a Unix-socket
 * host is not affected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "pg_connect.h"

/* EXO_TEST_DSN (which says sslmode=disable) without its sslmode. */
static char *dsn_without_sslmode(void)
{
    const char *dsn = getenv("EXO_TEST_DSN");
    assert_non_null(dsn);
    const char *at = strstr(dsn, "sslmode=disable");
    assert_non_null(at);
    buf b;
    buf_init(&b);
    buf_printf(&b, "%.*s%s", (int)(at - dsn), dsn, at + strlen("sslmode=disable"));
    return buf_detach(&b);
}

static void test_the_default_is_decided_by_the_dsn_then_pgsslmode(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    assert_true(pg_sslmode_defaulted("host=db user=exo"));
    assert_true(pg_sslmode_defaulted("postgresql://exo@db/exo"));
    assert_false(pg_sslmode_defaulted("host=db sslmode=require"));
    assert_false(pg_sslmode_defaulted("postgresql://exo@db/exo?sslmode=disable"));
    assert_false(pg_sslmode_defaulted("host='unterminated")); /* libpq will say why */
    setenv("PGSSLMODE", "prefer", 1);
    assert_false(pg_sslmode_defaulted("host=db user=exo"));
    unsetenv("PGSSLMODE");
}

static void test_no_sslmode_means_verified_and_the_hint_says_so(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    char *dsn = dsn_without_sslmode();
    PGconn *c = pg_connect(dsn, NULL, NULL);
    assert_int_not_equal(PQstatus(c), CONNECTION_OK);
    const char *msg = PQerrorMessage(c);
    assert_non_null(strstr(msg, "SSL")); /* the server offers no TLS */
    assert_non_null(strstr(pg_sslmode_hint(dsn, msg), "sslmode=require"));
    assert_string_equal(pg_sslmode_hint(getenv("EXO_TEST_DSN"), msg), "");
    assert_string_equal(pg_sslmode_hint(dsn, "Connection refused"), "");
    PQfinish(c);
    free(dsn);
}

static void test_saying_otherwise_connects(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    PGconn *c = pg_connect(getenv("EXO_TEST_DSN"), NULL, NULL);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);

    char *dsn = dsn_without_sslmode();
    setenv("PGSSLMODE", "disable", 1);
    c = pg_connect(dsn, NULL, NULL);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
    unsetenv("PGSSLMODE");

    /* Keywords after the DSN win over it. */
    const char *keys[] = {"sslmode", NULL}, *vals[] = {"disable", NULL};
    c = pg_connect(dsn, keys, vals);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
    free(dsn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_default_is_decided_by_the_dsn_then_pgsslmode),
        cmocka_unit_test(test_no_sslmode_means_verified_and_the_hint_says_so),
        cmocka_unit_test(test_saying_otherwise_connects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

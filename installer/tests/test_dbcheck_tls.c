/* dbcheck_run, the pre-check of `install --postgres=false --db-dsn …
 * --db-ca-file FILE`, against a real PostgreSQL 16 that offers TLS with a
 * certificate for "localhost" (with_pg.py --tls): sslmode=verify-full with
 * the CA that signed it passes; a certificate for another host than the
 * DSN's, and a CA that did not sign the server, are refused in one line
 * (the host named); a DSN without sslmode is checked as verify-full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "dbcheck.h"
#include "dsn.h"

static const char *env(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s)
        fail_msg("%s is not set: run under with_pg.py --tls", name);
    return s;
}

typedef struct {
    int rc, version;
    char *warned;
    char *msg;
} check;

/* EXO_TEST_TLS_DSN (host=localhost, no sslmode) plus `extra` (later
 * settings win), checked with ca_file as --db-ca-file. */
static check run_check(const char *extra, const char *ca_file)
{
    check c = {0, 0, NULL, NULL};
    buf text = BUF_INIT;
    buf_printf(&text, "%s %s", env("EXO_TEST_TLS_DSN"), extra);
    dsn *d = NULL;
    exo_err e = EXO_ERR_INIT;
    if (dsn_parse(&d, text.ptr, &e) < 0)
        fail_msg("dsn_parse: %s", err_msg(&e));
    size_t len = 0;
    FILE *warn = open_memstream(&c.warned, &len);
    assert_non_null(warn);
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
    c.rc = dbcheck_run(d, ca_file, warn, &c.version, &e);
    fclose(warn);
    c.msg = e.msg ? strdup(e.msg) : NULL;
    err_clear(&e);
    dsn_free(d);
    buf_free(&text);
    return c;
}

static void check_free(check *c)
{
    free(c->warned);
    free(c->msg);
}

static void assert_refused(const check *c, const char *want)
{
    assert_int_equal(c->rc, -1);
    assert_non_null(c->msg);
    if (!strstr(c->msg, want))
        fail_msg("want \"%s\" in: %s", want, c->msg);
    static const char prefix[] = "--db-dsn: the database refused the connection: ";
    if (strncmp(c->msg, prefix, strlen(prefix)) != 0)
        fail_msg("want \"%s\" first in: %s", prefix, c->msg);
    assert_null(strchr(c->msg, '\n'));
    assert_null(strstr(c->msg, "Sup3r-s3cret-pw"));
    assert_string_equal(c->warned, "");
}

static void test_verify_full_with_the_ca_passes(void **state)
{
    (void)state;
    check c = run_check("sslmode=verify-full", env("EXO_TEST_CA"));
    assert_int_equal(c.rc, 0);
    assert_true(c.version >= 160000);
    assert_null(c.msg);
    assert_string_equal(c.warned, "");
    check_free(&c);
}

static void test_a_certificate_for_another_host_is_refused(void **state)
{
    (void)state;
    check c = run_check("host=127.0.0.1 sslmode=verify-full", env("EXO_TEST_CA"));
    assert_refused(&c, "server certificate for \"localhost\"");
    assert_refused(&c, "does not match host name \"127.0.0.1\"");
    check_free(&c);
}

static void test_a_ca_that_did_not_sign_the_server_is_refused(void **state)
{
    (void)state;
    check c = run_check("sslmode=verify-full", env("EXO_TEST_OTHER_CA"));
    assert_refused(&c, "certificate verify failed");
    check_free(&c);
    /* No CA at all: libpq's default file does not exist here. */
    c = run_check("sslmode=verify-full sslrootcert=/nonexistent/ca.crt", NULL);
    assert_refused(&c, "/nonexistent/ca.crt");
    check_free(&c);
}

static void test_no_sslmode_is_checked_as_verify_full(void **state)
{
    (void)state;
    check c = run_check("", env("EXO_TEST_CA"));
    assert_int_equal(c.rc, 0);
    check_free(&c);
    c = run_check("host=127.0.0.1", env("EXO_TEST_CA"));
    assert_refused(&c, "does not match host name \"127.0.0.1\"");
    assert_refused(&c, "sslmode=require"); /* the hint: the user wrote no sslmode */
    check_free(&c);
    c = run_check("", env("EXO_TEST_OTHER_CA"));
    assert_refused(&c, "certificate verify failed");
    check_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_full_with_the_ca_passes),
        cmocka_unit_test(test_a_certificate_for_another_host_is_refused),
        cmocka_unit_test(test_a_ca_that_did_not_sign_the_server_is_refused),
        cmocka_unit_test(test_no_sslmode_is_checked_as_verify_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

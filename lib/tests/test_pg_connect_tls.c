/* pg_connect_open against a real PostgreSQL 16 that offers TLS with a
 * certificate for "localhost" signed by a CA the test made (with_pg.py
 * --tls): verified with that CA it connects encrypted; a certificate that
 * names another host than the DSN's is refused in one line naming both; a
 * CA that did not sign the server is refused; and a DSN that names no
 * sslmode is verified as verify-full (the host checked, not only the CA),
 * also with the CA given as PGSSLROOTCERT, as the backend's pod gets it. */
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

static const char *env(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s)
        fail_msg("%s is not set: run under with_pg.py --tls", name);
    return s;
}

/* EXO_TEST_TLS_DSN (host=localhost, no sslmode) with host and sslmode
 * replaced; NULL leaves them as they are. Caller frees. */
static dsn *tls_dsn(const char *host, const char *sslmode)
{
    dsn *t = NULL;
    exo_err e = EXO_ERR_INIT;
    if (dsn_parse(&t, env("EXO_TEST_TLS_DSN"), &e) < 0)
        fail_msg("dsn_parse: %s", err_msg(&e));
    const char *keys[64], *vals[64];
    size_t n = dsn_settings(t, keys, vals, 64);
    assert_true(n <= 64);
    buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if (!(host && strcmp(keys[i], "host") == 0))
            dsn_append_keyword(&b, keys[i], vals[i]);
    if (host)
        dsn_append_keyword(&b, "host", host);
    if (sslmode)
        dsn_append_keyword(&b, "sslmode", sslmode);
    dsn *d = NULL;
    if (dsn_parse(&d, b.ptr, &e) < 0)
        fail_msg("dsn_parse: %s", err_msg(&e));
    buf_free(&b);
    dsn_free(t);
    return d;
}

/* Connects with ca_file as sslrootcert (NULL: none given); 0 or the
 * failure, with the message in *msg (caller frees) or NULL. */
static int try_connect(const dsn *d, const char *ca_file, char **msg)
{
    const char *keys[] = {"sslrootcert", NULL}, *vals[] = {ca_file, NULL};
    pg_connect_opts o = {ca_file ? keys : NULL, ca_file ? vals : NULL, 16, "the test"};
    PGconn *c = NULL;
    exo_err e = EXO_ERR_INIT;
    int rc = pg_connect_open(&c, d, &o, &e);
    *msg = e.msg ? strdup(e.msg) : NULL;
    err_clear(&e);
    if (rc == 0) {
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        assert_true(PQsslInUse(c));
        PQfinish(c);
    } else {
        assert_null(c);
        assert_non_null(*msg);
        assert_null(strchr(*msg, '\n')); /* one line */
        assert_null(strstr(*msg, "Sup3r-s3cret-pw"));
    }
    return rc;
}

static void test_verified_with_its_ca_it_connects_encrypted(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
    dsn *d = tls_dsn(NULL, "verify-full");
    char *msg;
    assert_int_equal(try_connect(d, env("EXO_TEST_CA"), &msg), 0);
    free(msg);
    dsn_free(d);
}

static void test_a_certificate_for_another_host_is_refused_naming_it(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
    /* The certificate is for "localhost"; the DSN says 127.0.0.1. */
    dsn *d = tls_dsn("127.0.0.1", "verify-full");
    char *msg;
    assert_int_equal(try_connect(d, env("EXO_TEST_CA"), &msg), PG_CONNECT_FAILED);
    assert_non_null(strstr(msg, "server certificate for \"localhost\""));
    assert_non_null(strstr(msg, "does not match host name \"127.0.0.1\""));
    free(msg);
    dsn_free(d);
}

static void test_a_ca_that_did_not_sign_the_server_is_refused(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
    dsn *d = tls_dsn(NULL, "verify-full");
    char *msg;
    assert_int_equal(try_connect(d, env("EXO_TEST_OTHER_CA"), &msg), PG_CONNECT_FAILED);
    assert_non_null(strstr(msg, "certificate verify failed"));
    free(msg);
    dsn_free(d);
}

/* No sslmode: the CA and the host are checked. sslmode=verify-ca and
 * sslmode=require, which check less, connect where the default refuses. */
static void test_no_sslmode_connects_as_verify_full(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
    char *msg;
    dsn *d = tls_dsn(NULL, NULL);
    assert_true(pg_sslmode_defaulted(d));
    assert_int_equal(try_connect(d, env("EXO_TEST_CA"), &msg), 0);
    free(msg);
    assert_int_equal(try_connect(d, env("EXO_TEST_OTHER_CA"), &msg), PG_CONNECT_FAILED);
    assert_non_null(strstr(msg, "certificate verify failed"));
    assert_non_null(strstr(msg, "sslmode=require")); /* the hint: the user wrote no sslmode */
    free(msg);
    dsn_free(d);

    d = tls_dsn("127.0.0.1", NULL);
    assert_int_equal(try_connect(d, env("EXO_TEST_CA"), &msg), PG_CONNECT_FAILED);
    assert_non_null(strstr(msg, "does not match host name \"127.0.0.1\""));
    free(msg);
    dsn_free(d);
    d = tls_dsn("127.0.0.1", "verify-ca");
    assert_int_equal(try_connect(d, env("EXO_TEST_CA"), &msg), 0);
    free(msg);
    dsn_free(d);
    d = tls_dsn("127.0.0.1", "require"); /* with no CA (given one, libpq checks it) */
    assert_int_equal(try_connect(d, NULL, &msg), 0);
    free(msg);
    dsn_free(d);
}

/* The backend's pod has the CA from the ConfigMap as PGSSLROOTCERT and a
 * DSN that may name no sslmode. */
static void test_the_ca_as_pgsslrootcert_is_used(void **state)
{
    (void)state;
    unsetenv("PGSSLMODE");
    char *msg;
    dsn *d = tls_dsn(NULL, NULL);
    setenv("PGSSLROOTCERT", env("EXO_TEST_CA"), 1);
    assert_int_equal(try_connect(d, NULL, &msg), 0);
    free(msg);
    setenv("PGSSLROOTCERT", env("EXO_TEST_OTHER_CA"), 1);
    assert_int_equal(try_connect(d, NULL, &msg), PG_CONNECT_FAILED);
    assert_non_null(strstr(msg, "certificate verify failed"));
    free(msg);
    unsetenv("PGSSLROOTCERT");
    dsn_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_with_its_ca_it_connects_encrypted),
        cmocka_unit_test(test_a_certificate_for_another_host_is_refused_naming_it),
        cmocka_unit_test(test_a_ca_that_did_not_sign_the_server_is_refused),
        cmocka_unit_test(test_no_sslmode_connects_as_verify_full),
        cmocka_unit_test(test_the_ca_as_pgsslrootcert_is_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

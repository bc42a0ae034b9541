/* The pool with the default libpq driver against a real PostgreSQL 16, as
 * started by tests/integration/with_pg.py, which sets EXO_TEST_DSN (a
 * password-authenticated role). Skipped when EXO_TEST_DSN is unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <unistd.h>

#include "buf.h"
#include "dsn.h"
#include "err.h"
#include "pool.h"

/* Our connections as the server sees them, from a separate connection. */
static const char *const count_ours =
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'";

static const char *test_dsn(void)
{
    const char *s = getenv("EXO_TEST_DSN");
    if (!s || !*s)
        skip();
    return s;
}

/* The pool borrows *d, parsed from conninfo: free it after the pool. */
static pool *new_pool(const char *conninfo, int max_open, int max_idle, dsn **d)
{
    exo_err e = EXO_ERR_INIT;
    if (dsn_parse(d, conninfo, &e) < 0)
        fail_msg("dsn_parse: %s", err_msg(&e));
    pool_config cfg = {*d, max_open, max_idle, NULL};
    pool *p = NULL;
    if (pool_new(&p, &cfg, &e) != 0)
        fail_msg("pool_new: %s", err_msg(&e));
    err_clear(&e);
    return p;
}

static int server_count(PGconn *admin)
{
    PGresult *r = PQexec(admin, count_ours);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("counting connections: %s", PQerrorMessage(admin));
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* A closed connection's backend leaves pg_stat_activity a moment after
 * PQfinish returns, so the count is polled until it settles at want. */
static int settled_server_count(PGconn *admin, int want)
{
    int n = server_count(admin);
    for (int i = 0; i < 100 && n != want; i++) {
        usleep(50 * 1000);
        n = server_count(admin);
    }
    return n;
}

typedef struct {
    pool *p;
    atomic_int failures;
    atomic_int over_limit; /* moments the pool's stats showed more than max_open */
} load;

static void *query_worker(void *arg)
{
    load *l = arg;
    for (int i = 0; i < 20; i++) {
        exo_err e = EXO_ERR_INIT;
        PGconn *c = pool_get(l->p, &e);
        if (!c) {
            atomic_fetch_add(&l->failures, 1);
            err_clear(&e);
            continue;
        }
        PGresult *r = PQexec(c, "SELECT pg_backend_pid()");
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        PQclear(r);
        if (!ok)
            atomic_fetch_add(&l->failures, 1);
        pool_stats st;
        pool_get_stats(l->p, &st);
        if (st.open > 10)
            atomic_fetch_add(&l->over_limit, 1);
        pool_put(l->p, c, !ok);
    }
    return NULL;
}

static void test_50_threads_share_10_connections_and_keep_3(void **state)
{
    (void)state;
    const char *conninfo = test_dsn();
    PGconn *admin = PQconnectdb(conninfo);
    if (PQstatus(admin) != CONNECTION_OK)
        fail_msg("admin connection: %s", PQerrorMessage(admin));
    dsn *d = NULL;
    pool *p = new_pool(conninfo, 10, 3, &d);
    load l = {.p = p};
    atomic_init(&l.failures, 0);
    atomic_init(&l.over_limit, 0);
    pthread_t threads[50];
    for (int i = 0; i < 50; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, query_worker, &l), 0);
    for (int i = 0; i < 50; i++)
        pthread_join(threads[i], NULL);

    pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(atomic_load(&l.failures), 0);
    assert_int_equal(atomic_load(&l.over_limit), 0);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.open, st.idle);
    assert_true(st.idle <= 3);
    assert_int_equal(st.opened - st.closed, st.open);
    int n = settled_server_count(admin, st.open);
    assert_true(n <= 3);
    assert_int_equal(n, st.open);

    pool_free(p);
    dsn_free(d);
    assert_int_equal(settled_server_count(admin, 0), 0);
    PQfinish(admin);
}

static void test_connection_left_in_transaction_is_closed(void **state)
{
    (void)state;
    dsn *d = NULL;
    pool *p = new_pool(test_dsn(), 2, 2, &d);
    exo_err e = EXO_ERR_INIT;
    PGconn *c = pool_get(p, &e);
    assert_non_null(c);
    PQclear(PQexec(c, "BEGIN"));
    assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
    pool_put(p, c, false);
    pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.closed, 1);

    c = pool_get(p, &e);
    assert_non_null(c);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    pool_put(p, c, false);
    pool_get_stats(p, &st);
    assert_int_equal(st.idle, 1);
    pool_free(p);
    dsn_free(d);
    err_clear(&e);
}

/* EXO_TEST_DSN with its password replaced by "wrong"; *real gets the real
 * one (both caller frees). */
static char *with_wrong_password(const char *conninfo, char **real)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    PQfreemem(why);
    if (!opts)
        fail_msg("EXO_TEST_DSN does not parse");
    buf b = BUF_INIT;
    *real = NULL;
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        bool secret = strcmp(o->keyword, "password") == 0;
        if (secret)
            *real = strdup(o->val);
        dsn_append_keyword(&b, o->keyword, secret ? "wrong" : o->val);
    }
    PQconninfoFree(opts);
    if (!*real || !**real)
        fail_msg("EXO_TEST_DSN has no password");
    return buf_detach(&b);
}

static void test_wrong_password_fails_without_showing_it(void **state)
{
    (void)state;
    char *real = NULL;
    char *bad = with_wrong_password(test_dsn(), &real);
    dsn *d = NULL;
    pool *p = new_pool(bad, 2, 1, &d);
    exo_err e = EXO_ERR_INIT;
    assert_null(pool_get(p, &e));
    const char *msg = err_msg(&e);
    assert_int_equal(strncmp(msg, "connecting to the database: ", 28), 0);
    assert_non_null(strstr(msg, "password authentication failed"));
    assert_null(strstr(msg, "wrong"));
    assert_null(strstr(msg, real));
    assert_int_not_equal(msg[strlen(msg) - 1], '\n');
    pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.opened, 0);
    err_clear(&e);
    pool_free(p);
    dsn_free(d);
    free(bad);
    free(real);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_50_threads_share_10_connections_and_keep_3),
        cmocka_unit_test(test_connection_left_in_transaction_is_closed),
        cmocka_unit_test(test_wrong_password_fails_without_showing_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

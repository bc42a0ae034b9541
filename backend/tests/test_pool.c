/* The pool against a fake driver: connections are numbered fake pointers,
 * and the driver counts how many exist at once. cmocka's assertions must run
 * on the test's own thread, so worker threads count problems and the test
 * asserts on the counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "dsn.h"
#include "err.h"
#include "pool.h"

#define MAX_CONNS 65536

typedef struct {
    pthread_mutex_t mu;
    int live, max_live;     /* connections the driver has open, now and at most */
    int connects, closes;   /* successful connects, closes */
    int fail_next;          /* the next this many connects fail */
    int connect_us;         /* how long a connect takes */
    int close_us;           /* how long a close takes */
    uintptr_t next_id;      /* ids start at 1: a fake pointer is never NULL */
    bool exists[MAX_CONNS]; /* opened and not yet closed */
    bool out[MAX_CONNS];    /* held by a test thread (claim/release) */
    bool unhealthy[MAX_CONNS];
    int healthy_calls;
    int errors; /* misuse the driver saw: closing an unknown conn, ... */
    pool_driver drv;
} fake;

static uintptr_t id_of(PGconn *c)
{
    return (uintptr_t)c;
}

static PGconn *fake_connect(void *ctx, const dsn *d, exo_err *err)
{
    fake *f = ctx;
    (void)d;
    pthread_mutex_lock(&f->mu);
    bool fail = f->fail_next > 0;
    f->fail_next -= fail;
    int us = f->connect_us;
    pthread_mutex_unlock(&f->mu);
    if (us)
        usleep((useconds_t)us);
    if (fail) {
        err_set(err, "fake: connection refused");
        return NULL;
    }
    pthread_mutex_lock(&f->mu);
    uintptr_t id = ++f->next_id;
    if (id >= MAX_CONNS)
        abort(); /* the test opened far more than it means to */
    f->exists[id] = true;
    f->connects++;
    if (++f->live > f->max_live)
        f->max_live = f->live;
    pthread_mutex_unlock(&f->mu);
    return (PGconn *)id;
}

static void fake_close(void *ctx, PGconn *c)
{
    fake *f = ctx;
    if (f->close_us)
        usleep((useconds_t)f->close_us);
    pthread_mutex_lock(&f->mu);
    uintptr_t id = id_of(c);
    if (id == 0 || id >= MAX_CONNS || !f->exists[id] || f->out[id])
        f->errors++;
    else
        f->exists[id] = false;
    f->live--;
    f->closes++;
    pthread_mutex_unlock(&f->mu);
}

static bool fake_healthy(void *ctx, PGconn *c)
{
    fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->healthy_calls++;
    bool ok = !f->unhealthy[id_of(c)];
    pthread_mutex_unlock(&f->mu);
    return ok;
}

/* Marks c as held; counts an error when another holder has it already. */
static void claim(fake *f, PGconn *c)
{
    pthread_mutex_lock(&f->mu);
    uintptr_t id = id_of(c);
    if (!f->exists[id] || f->out[id])
        f->errors++;
    f->out[id] = true;
    pthread_mutex_unlock(&f->mu);
}

static void release(fake *f, PGconn *c)
{
    pthread_mutex_lock(&f->mu);
    f->out[id_of(c)] = false;
    pthread_mutex_unlock(&f->mu);
}

static void set_unhealthy(fake *f, PGconn *c)
{
    pthread_mutex_lock(&f->mu);
    f->unhealthy[id_of(c)] = true;
    pthread_mutex_unlock(&f->mu);
}

static int setup(void **state)
{
    fake *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fake *f = *state;
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static pool *new_pool(fake *f, int max_open, int max_idle)
{
    f->drv = (pool_driver){fake_connect, fake_close, fake_healthy, f};
    pool_config cfg = {NULL, max_open, max_idle, &f->drv};
    pool *p = NULL;
    exo_err e = EXO_ERR_INIT;
    int rc = pool_new(&p, &cfg, &e);
    if (rc != 0)
        fail_msg("pool_new: %s", err_msg(&e));
    err_clear(&e);
    return p;
}

static PGconn *get_ok(pool *p)
{
    exo_err e = EXO_ERR_INIT;
    PGconn *c = pool_get(p, &e);
    if (!c)
        fail_msg("pool_get: %s", err_msg(&e));
    err_clear(&e);
    return c;
}

static pool_stats stats(pool *p)
{
    pool_stats s;
    pool_get_stats(p, &s);
    return s;
}

/* pool_get on a thread, so that a test can see it block. */
typedef struct {
    pool *p;
    pthread_t thread;
    atomic_bool done;
    PGconn *conn;
    exo_err err;
} getter;

static void *getter_main(void *arg)
{
    getter *g = arg;
    g->conn = pool_get(g->p, &g->err);
    atomic_store(&g->done, true);
    return NULL;
}

static void start_get(getter *g, pool *p)
{
    *g = (getter){.p = p, .err = EXO_ERR_INIT};
    atomic_init(&g->done, false);
    assert_int_equal(pthread_create(&g->thread, NULL, getter_main, g), 0);
}

/* Whether the getter finished within ms milliseconds. */
static bool finishes_within(getter *g, int ms)
{
    for (int i = 0; i < ms && !atomic_load(&g->done); i++)
        usleep(1000);
    return atomic_load(&g->done);
}

static void join_get(getter *g)
{
    if (!finishes_within(g, 5000))
        fail_msg("pool_get still blocked after 5 s");
    pthread_join(g->thread, NULL);
}

static void wait_for_waits(pool *p, uint64_t n)
{
    for (int i = 0; i < 5000 && stats(p).waits < n; i++)
        usleep(1000);
    assert_int_equal(stats(p).waits, n);
}

/* Until a connect has taken the failure set up by fail_next. */
static void wait_for_connect_started(fake *f)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&f->mu);
        int left = f->fail_next;
        pthread_mutex_unlock(&f->mu);
        if (left == 0)
            return;
        usleep(1000);
    }
    fail_msg("no connect started within 5 s");
}

typedef struct {
    pool *p;
    fake *f;
    int broken_every;        /* every n-th put is broken; 0: none */
    pthread_barrier_t start; /* all begin together, so that they contend */
    atomic_int failures;
} stress;

static void *stress_worker(void *arg)
{
    stress *s = arg;
    unsigned seed = (unsigned)(uintptr_t)pthread_self();
    pthread_barrier_wait(&s->start);
    for (int i = 0; i < 20; i++) {
        exo_err e = EXO_ERR_INIT;
        PGconn *c = pool_get(s->p, &e);
        err_clear(&e);
        if (!c) {
            atomic_fetch_add(&s->failures, 1);
            continue;
        }
        claim(s->f, c);
        usleep(100 + (useconds_t)(rand_r(&seed) % 400));
        release(s->f, c);
        pool_put(s->p, c, s->broken_every && i % s->broken_every == 0);
    }
    return NULL;
}

/* Runs nthreads workers doing 20 get/sleep/put each and checks the stats
 * at every moment and at the end; returns them. */
static pool_stats run_stress(fake *f, pool *p, int nthreads, int max_open, int max_idle,
                             int broken_every)
{
    stress s = {.p = p, .f = f, .broken_every = broken_every};
    atomic_init(&s.failures, 0);
    pthread_barrier_init(&s.start, NULL, (unsigned)nthreads);
    pthread_t *threads = calloc((size_t)nthreads, sizeof *threads);
    for (int i = 0; i < nthreads; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, stress_worker, &s), 0);
    /* The stats must add up at every moment, not only at the end. */
    int bad_stats = 0;
    for (int i = 0; i < 200; i++) {
        pool_stats st = stats(p);
        bad_stats += st.open != st.idle + st.in_use || st.open > max_open || st.idle > max_idle ||
                     st.opened - st.closed != (uint64_t)st.open;
        usleep(500);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&s.start);
    free(threads);

    pool_stats st = stats(p);
    assert_int_equal(atomic_load(&s.failures), 0);
    assert_int_equal(bad_stats, 0);
    assert_int_equal(f->errors, 0);
    assert_true(f->max_live <= max_open);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.open, st.idle);
    assert_true(st.idle <= max_idle);
    assert_true(st.waits > 0);
    assert_true(st.wait_ns > 0);
    assert_int_equal(st.opened - st.closed, st.open);
    assert_int_equal(st.opened, f->connects);
    assert_int_equal(st.closed, f->closes);
    assert_int_equal(f->live, st.open);
    return st;
}

static void test_200_threads_never_exceed_max_open(void **state)
{
    fake *f = *state;
    f->connect_us = 200; /* long enough for racing callers to pile up while connecting */
    pool *p = new_pool(f, 100, 10);
    run_stress(f, p, 200, 100, 10, 0);
    pool_free(p);
    assert_int_equal(f->live, 0);
    assert_int_equal(f->errors, 0);
}

/* A closing connection keeps its slot until the driver is done with it, so
 * replacing broken connections under load still stays within max_open. */
static void test_broken_puts_under_load_never_exceed_max_open(void **state)
{
    fake *f = *state;
    f->connect_us = 200;
    f->close_us = 200;
    pool *p = new_pool(f, 10, 2);
    pool_stats st = run_stress(f, p, 50, 10, 2, 3);
    assert_true(st.closed >= 50 * 7); /* i = 0, 3, ..., 18 of each worker */
    pool_free(p);
    assert_int_equal(f->live, 0);
    assert_int_equal(f->errors, 0);
}

static void test_second_get_blocks_until_first_is_put(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 1, 1);
    PGconn *c1 = get_ok(p);
    getter g;
    start_get(&g, p);
    assert_false(finishes_within(&g, 100));
    wait_for_waits(p, 1);
    pool_put(p, c1, false);
    join_get(&g);
    assert_ptr_equal(g.conn, c1); /* handed over, not reopened */
    pool_stats st = stats(p);
    assert_int_equal(st.opened, 1);
    assert_int_equal(st.in_use, 1);
    /* It waited (how long depends on the machine: no time is asserted). */
    assert_int_equal(st.waits, 1);
    assert_true(st.wait_ns > 0);
    pool_put(p, g.conn, false);
    err_clear(&g.err);
    pool_free(p);
    assert_int_equal(f->live, 0);
}

static void test_broken_put_frees_slot_and_next_get_opens(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 2, 2);
    PGconn *c1 = get_ok(p);
    pool_put(p, c1, true);
    pool_stats st = stats(p);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.closed, 1);
    PGconn *c2 = get_ok(p);
    assert_ptr_not_equal(c2, c1);
    assert_int_equal(stats(p).opened, 2);
    pool_put(p, c2, false);
    pool_free(p);
    assert_int_equal(f->live, 0);
    assert_int_equal(f->errors, 0);
}

static void test_broken_put_wakes_waiter_to_open(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 1, 1);
    PGconn *c1 = get_ok(p);
    getter g;
    start_get(&g, p);
    wait_for_waits(p, 1);
    pool_put(p, c1, true);
    join_get(&g);
    assert_non_null(g.conn);
    assert_ptr_not_equal(g.conn, c1);
    pool_stats st = stats(p);
    assert_int_equal(st.opened, 2);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.open, 1);
    assert_true(f->max_live <= 1);
    pool_put(p, g.conn, false);
    pool_free(p);
}

static void test_unhealthy_idle_connection_is_replaced(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 2, 2);
    PGconn *c1 = get_ok(p);
    pool_put(p, c1, false);
    assert_int_equal(stats(p).idle, 1);
    set_unhealthy(f, c1);
    PGconn *c2 = get_ok(p);
    assert_ptr_not_equal(c2, c1);
    assert_true(f->healthy_calls >= 1);
    assert_false(f->exists[id_of(c1)]);
    pool_stats st = stats(p);
    assert_int_equal(st.opened, 2);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.in_use, 1);
    pool_put(p, c2, false);
    pool_free(p);
    assert_int_equal(f->live, 0);
}

static void test_healthy_idle_connection_is_reused(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 2, 2);
    PGconn *c1 = get_ok(p);
    pool_put(p, c1, false);
    assert_ptr_equal(get_ok(p), c1);
    assert_int_equal(stats(p).opened, 1);
    pool_put(p, c1, false);
    pool_free(p);
}

static void test_connect_failure_reports_and_frees_slot(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 1, 1);
    f->fail_next = 1;
    exo_err e = EXO_ERR_INIT;
    assert_null(pool_get(p, &e));
    assert_string_equal(err_msg(&e), "fake: connection refused");
    err_clear(&e);
    pool_stats st = stats(p);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.opened, 0);
    /* With max_open 1, a leaked slot would block this get for ever. */
    getter g;
    start_get(&g, p);
    join_get(&g);
    assert_non_null(g.conn);
    st = stats(p);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.opened - st.closed, st.open);
    pool_put(p, g.conn, false);
    pool_free(p);
}

static void test_connect_in_progress_holds_slot_and_failure_wakes_waiter(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 1, 1);
    f->fail_next = 1;
    f->connect_us = 200 * 1000;
    getter first, second;
    start_get(&first, p);
    wait_for_connect_started(f); /* first is connecting now */
    start_get(&second, p);
    wait_for_waits(p, 1); /* the opening connection counts against max_open */
    join_get(&first);
    assert_null(first.conn);
    assert_string_equal(err_msg(&first.err), "fake: connection refused");
    join_get(&second);
    assert_non_null(second.conn);
    pool_stats st = stats(p);
    assert_int_equal(st.opened, 1);
    assert_int_equal(st.open, 1);
    assert_true(f->max_live <= 1);
    pool_put(p, second.conn, false);
    err_clear(&first.err);
    err_clear(&second.err);
    pool_free(p);
}

/* pool_free with a connect in flight and a caller queued behind it: the
 * waiter is woken with an error, the new connection is closed, not leaked. */
static void test_free_during_connect_fails_both_callers(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 1, 1);
    f->connect_us = 200 * 1000;
    getter first, second;
    start_get(&first, p);
    usleep(50 * 1000);
    start_get(&second, p);
    wait_for_waits(p, 1);
    pool_free(p);
    join_get(&first);
    join_get(&second);
    assert_null(first.conn);
    assert_null(second.conn);
    assert_non_null(strstr(err_msg(&first.err), "closing"));
    assert_non_null(strstr(err_msg(&second.err), "closing"));
    assert_int_equal(f->connects, 1);
    assert_int_equal(f->live, 0);
    assert_int_equal(f->errors, 0);
    err_clear(&first.err);
    err_clear(&second.err);
}

static void test_close_idle_closes_only_the_idle(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 5, 5);
    PGconn *a = get_ok(p), *b = get_ok(p), *c = get_ok(p);
    pool_put(p, a, false);
    pool_put(p, b, false);
    pool_close_idle(p);
    pool_stats st = stats(p);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.closed, 2);
    assert_int_equal(f->live, 1);
    pool_put(p, c, false);
    pool_free(p);
    assert_int_equal(f->live, 0);
}

static void test_max_idle_zero_closes_every_put(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 3, 0);
    for (int i = 1; i <= 3; i++) {
        pool_put(p, get_ok(p), false);
        pool_stats st = stats(p);
        assert_int_equal(st.open, 0);
        assert_int_equal(st.idle, 0);
        assert_int_equal(st.opened, i);
        assert_int_equal(st.closed, i);
    }
    assert_int_equal(f->live, 0);
    pool_free(p);
}

static void test_put_beyond_max_idle_closes(void **state)
{
    fake *f = *state;
    pool *p = new_pool(f, 3, 1);
    PGconn *c[3] = {get_ok(p), get_ok(p), get_ok(p)};
    for (int i = 0; i < 3; i++)
        pool_put(p, c[i], false);
    pool_stats st = stats(p);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.idle, 1);
    assert_int_equal(st.closed, 2);
    assert_int_equal(f->live, 1);
    pool_free(p);
    assert_int_equal(f->live, 0);
}

static void test_pool_new_refuses_bad_limits(void **state)
{
    (void)state;
    const int limits[][2] = {{0, 0}, {-1, 0}, {2, 3}, {2, -1}};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        pool_config cfg = {NULL, limits[i][0], limits[i][1], NULL};
        pool *p = (pool *)1;
        exo_err e = EXO_ERR_INIT;
        assert_int_equal(pool_new(&p, &cfg, &e), -1);
        assert_null(p);
        assert_non_null(strstr(err_msg(&e), "max_open"));
        err_clear(&e);
    }
}

/* The pool connects from a parsed DSN (a malformed one is refused, without
 * its password, where it enters: config_load, test_dsn.c): the libpq driver
 * needs one. */
static void test_libpq_driver_needs_a_dsn(void **state)
{
    (void)state;
    pool_config cfg = {NULL, 2, 1, NULL};
    pool *p = (pool *)1;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(pool_new(&p, &cfg, &e), -1);
    assert_null(p);
    assert_string_equal(err_msg(&e), "connection pool: no DSN");
    err_clear(&e);
}

/* Nothing listens on port 1, so libpq fails at once; no server needed. */
static void test_libpq_connect_error_is_prefixed_and_has_no_password(void **state)
{
    (void)state;
    dsn *d = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(
        dsn_parse(&d, "host=127.0.0.1 port=1 user=u password=hunter2 connect_timeout=5", &e), 0);
    pool_config cfg = {d, 2, 1, NULL};
    pool *p = NULL;
    assert_int_equal(pool_new(&p, &cfg, &e), 0);
    assert_null(pool_get(p, &e));
    const char *msg = err_msg(&e);
    assert_int_equal(strncmp(msg, "connecting to the database: ", 28), 0);
    assert_true(strlen(msg) > 28);
    assert_int_not_equal(msg[strlen(msg) - 1], '\n');
    assert_null(strstr(msg, "hunter2"));
    err_clear(&e);
    pool_stats st = stats(p);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.opened, 0);
    pool_free(p);
    dsn_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_200_threads_never_exceed_max_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_puts_under_load_never_exceed_max_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_second_get_blocks_until_first_is_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_put_frees_slot_and_next_get_opens, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broken_put_wakes_waiter_to_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unhealthy_idle_connection_is_replaced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_healthy_idle_connection_is_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_failure_reports_and_frees_slot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_connect_in_progress_holds_slot_and_failure_wakes_waiter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_during_connect_fails_both_callers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_idle_closes_only_the_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_idle_zero_closes_every_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_beyond_max_idle_closes, setup, teardown),
        cmocka_unit_test(test_pool_new_refuses_bad_limits),
        cmocka_unit_test(test_libpq_driver_needs_a_dsn),
        cmocka_unit_test(test_libpq_connect_error_is_prefixed_and_has_no_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

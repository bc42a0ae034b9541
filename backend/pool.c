/* The connection pool. Every connection holds a slot from the moment it
 * starts opening until its driver close has returned, so the driver never
 * sees more than max_open at once. Callers beyond that queue in FIFO order
 * and are handed a returned connection or a freed slot directly: a woken
 * waiter never races a newcomer for it, and nothing is lost between the
 * freeing and the wake-up. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "pg_connect.h"
#include "xalloc.h"

typedef struct waiter {
    struct waiter *next;
    pthread_cond_t cond;
    PGconn *conn; /* handed over by pool_put; still counted in_use */
    bool slot;    /* a slot reserved for it (in pending) to open a connection */
    bool done;    /* conn or slot set, or the pool is closing */
} waiter;

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t drained; /* pool_free waits here for waiters and pending to leave */
    const dsn *dsn; /* borrowed */
    int max_open, max_idle;
    pool_driver drv;
    bool libpq; /* the default driver: conns are real, PQtransactionStatus applies */
    bool closing;
    PGconn **idle; /* a stack of up to max_idle; the most recent is reused first */
    int pending;   /* slots of connections being opened or closed */
    int nwaiters;  /* threads inside wait_turn, queued or just woken */
    waiter *head, *tail;
    pool_stats st;
};

static PGconn *pq_connect(void *ctx, const dsn *d, exo_err *err)
{
    (void)ctx;
    static const pg_connect_opts need = {NULL, NULL, DB_PG_MAJOR, DB_PG_NEEDED_BY};
    PGconn *conn;
    if (pg_connect_open(&conn, d, &need, err) < 0) {
        err_prefix(err, "connecting to the database");
        return NULL;
    }
    return conn;
}

static void pq_close(void *ctx, PGconn *conn)
{
    (void)ctx;
    PQfinish(conn);
}

static bool pq_healthy(void *ctx, PGconn *conn)
{
    (void)ctx;
    return PQstatus(conn) == CONNECTION_OK;
}

static const pool_driver libpq_driver = {pq_connect, pq_close, pq_healthy, NULL};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static waiter *dequeue(pool *p)
{
    waiter *w = p->head;
    if (w) {
        p->head = w->next;
        if (!p->head)
            p->tail = NULL;
    }
    return w;
}

static void signal_if_drained(pool *p)
{
    if (p->closing && p->nwaiters == 0 && p->pending == 0)
        pthread_cond_broadcast(&p->drained);
}

/* A slot came free: it goes to the first waiter, who opens a connection in it. */
static void release_slot(pool *p)
{
    waiter *w = p->closing ? NULL : dequeue(p);
    if (!w) {
        p->pending--;
        signal_if_drained(p);
        return;
    }
    w->slot = true; /* pending unchanged: the slot passes on */
    w->done = true;
    pthread_cond_signal(&w->cond);
}

/* Takes a handed-out connection out of service. Called locked; the slot is
 * held until the driver's close returns, which happens without the lock. */
static void retire(pool *p, PGconn *conn)
{
    p->st.in_use--;
    p->st.open--;
    p->st.closed++;
    p->pending++;
    pthread_mutex_unlock(&p->mu);
    p->drv.close(p->drv.ctx, conn);
    pthread_mutex_lock(&p->mu);
    release_slot(p);
}

/* Opens a connection in a slot the caller holds in pending. Called locked;
 * connecting takes as long as the network does, so it runs unlocked. */
static PGconn *open_conn(pool *p, exo_err *err)
{
    pthread_mutex_unlock(&p->mu);
    PGconn *conn = p->drv.connect(p->drv.ctx, p->dsn, err);
    pthread_mutex_lock(&p->mu);
    if (!conn) {
        release_slot(p);
        return NULL;
    }
    if (p->libpq)
        db_log_notices(conn);
    p->pending--;
    p->st.opened++;
    p->st.open++;
    p->st.in_use++;
    if (p->closing) {
        /* pool_free is waiting for this connect; the connection never serves. */
        retire(p, conn);
        err_set(err, "the connection pool is closing");
        return NULL;
    }
    return conn;
}

static void wait_turn(pool *p, waiter *w)
{
    uint64_t start = now_ns();
    *w = (waiter){0};
    pthread_cond_init(&w->cond, NULL);
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    p->nwaiters++;
    p->st.waits++;
    while (!w->done)
        pthread_cond_wait(&w->cond, &p->mu);
    p->st.wait_ns += now_ns() - start;
    pthread_cond_destroy(&w->cond);
    p->nwaiters--;
    signal_if_drained(p);
}

int pool_new(pool **out, const pool_config *cfg, exo_err *err)
{
    *out = NULL;
    if (cfg->max_open <= 0 || cfg->max_idle < 0 || cfg->max_idle > cfg->max_open)
        return err_set(err,
                       "connection pool: want 0 < max_open and 0 <= max_idle <= max_open "
                       "(got max_open %d, max_idle %d)",
                       cfg->max_open, cfg->max_idle);
    const pool_driver *drv = cfg->driver ? cfg->driver : &libpq_driver;
    if (!drv->connect || !drv->close || !drv->healthy)
        return err_set(err, "connection pool: the driver lacks connect, close or healthy");
    if (!cfg->driver && !cfg->dsn)
        return err_set(err, "connection pool: no DSN");
    pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->drained, NULL);
    p->dsn = cfg->dsn;
    p->max_open = cfg->max_open;
    p->max_idle = cfg->max_idle;
    p->drv = *drv;
    p->libpq = !cfg->driver;
    p->idle = xcalloc((size_t)cfg->max_idle, sizeof *p->idle);
    *out = p;
    return 0;
}

PGconn *pool_get(pool *p, exo_err *err)
{
    PGconn *conn = NULL;
    pthread_mutex_lock(&p->mu);
    while (!conn) {
        if (p->closing) {
            err_set(err, "the connection pool is closing");
            break;
        }
        if (p->st.idle > 0) {
            conn = p->idle[--p->st.idle];
            p->st.in_use++;
            pthread_mutex_unlock(&p->mu);
            if (p->drv.healthy(p->drv.ctx, conn))
                return conn;
            pthread_mutex_lock(&p->mu);
            retire(p, conn);
            conn = NULL;
            continue;
        }
        if (p->st.open + p->pending < p->max_open) {
            p->pending++;
            conn = open_conn(p, err);
            break;
        }
        waiter w;
        wait_turn(p, &w);
        if (w.slot) {
            conn = open_conn(p, err);
            break;
        }
        conn = w.conn; /* NULL when woken because the pool is closing */
    }
    pthread_mutex_unlock(&p->mu);
    return conn;
}

void pool_put(pool *p, PGconn *conn, bool broken)
{
    if (!conn)
        return;
    /* A connection left inside a transaction would hand its locks and
     * half-done work to the next caller; closing it rolls that back. */
    if (p->libpq && PQtransactionStatus(conn) != PQTRANS_IDLE)
        broken = true;
    pthread_mutex_lock(&p->mu);
    waiter *w = (broken || p->closing) ? NULL : dequeue(p);
    if (w) {
        w->conn = conn;
        w->done = true;
        pthread_cond_signal(&w->cond);
    } else if (!broken && !p->closing && p->st.idle < p->max_idle) {
        p->st.in_use--;
        p->idle[p->st.idle++] = conn;
    } else {
        retire(p, conn);
    }
    pthread_mutex_unlock(&p->mu);
}

void pool_close_idle(pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->st.idle > 0) {
        PGconn *conn = p->idle[--p->st.idle];
        p->st.in_use++; /* retire() takes a handed-out connection */
        retire(p, conn);
    }
    pthread_mutex_unlock(&p->mu);
}

void pool_get_stats(pool *p, pool_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
    out->max_open = p->max_open;
    out->max_idle = p->max_idle;
}

void pool_free(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    for (waiter *w; (w = dequeue(p)) != NULL;) {
        w->done = true;
        pthread_cond_signal(&w->cond);
    }
    /* Waiters and connects in flight still use the pool: let them leave. */
    while (p->nwaiters > 0 || p->pending > 0)
        pthread_cond_wait(&p->drained, &p->mu);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->st.idle; i++)
        p->drv.close(p->drv.ctx, p->idle[i]);
    pthread_cond_destroy(&p->drained);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p);
}

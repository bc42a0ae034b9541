/* Session events into PostgreSQL through the backend's pool, against COPY
 * of the same rows on one connection (the fastest way in). Prints rows per
 * second and ratios; asserts nothing about time.
 *
 *   events_bench DSN ROWS THREADS
 *
 * The database must have been migrated (exo-backend migrate). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "pool.h"

#define BATCH 500

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long session_id, deployment_id;

typedef struct {
    pool *db;
    long rows;
    int batch; /* rows per statement */
    int failed;
} worker;

static void die(const char *what, PGconn *c)
{
    fprintf(stderr, "%s: %s", what, c ? PQerrorMessage(c) : "failed\n");
    exit(1);
}

static void *insert_rows(void *arg)
{
    worker *w = arg;
    char sid[24], did[24], n[16];
    snprintf(sid, sizeof sid, "%ld", session_id);
    snprintf(did, sizeof did, "%ld", deployment_id);
    for (long done = 0; done < w->rows;) {
        int k = (int)(w->rows - done < w->batch ? w->rows - done : w->batch);
        snprintf(n, sizeof n, "%d", k);
        exo_err err = EXO_ERR_INIT;
        PGconn *c = pool_get(w->db, &err);
        if (!c) {
            fprintf(stderr, "pool: %s\n", err_msg(&err));
            w->failed = 1;
            return NULL;
        }
        const char *p[] = {sid, did, n};
        /* One statement per batch: k rows made server-side, as an API
         * handler inserting a batch it received would. */
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO session_events (session_id, deployment_id, "
                                   "created_at, kind, data) SELECT $1::bigint, $2::bigint, now(), "
                                   "'o', jsonb_build_object('data', 'echo hello ' || g) FROM "
                                   "generate_series(1, $3::int) g",
                                   3, NULL, p, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "insert: %s", PQerrorMessage(c));
        PQclear(r);
        pool_put(w->db, c, !ok);
        if (!ok) {
            w->failed = 1;
            return NULL;
        }
        done += k;
    }
    return NULL;
}

static double run_pool(const dsn *d, long rows, int threads, int batch)
{
    pool *db;
    exo_err err = EXO_ERR_INIT;
    pool_config cfg = {d, 100, 10, NULL};
    if (pool_new(&db, &cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err_msg(&err));
        exit(1);
    }
    pthread_t t[64];
    worker w[64];
    double start = now();
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){db, rows / threads, batch, 0};
        pthread_create(&t[i], NULL, insert_rows, &w[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (w[i].failed)
            exit(1);
    }
    double secs = now() - start;
    pool_free(db);
    return secs;
}

static double run_copy(PGconn *c, long rows)
{
    buf line = BUF_INIT;
    double start = now();
    PGresult *r = PQexec(c, "COPY session_events (session_id, deployment_id, created_at, kind, "
                            "data) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN)
        die("COPY", c);
    PQclear(r);
    char stamp[] = "2026-11-25 00:00:00+00";
    for (long i = 1; i <= rows; i++) {
        buf_clear(&line);
        buf_printf(&line, "%ld\t%ld\t%s\to\t{\"data\": \"echo hello %ld\"}\n", session_id,
                   deployment_id, stamp, i);
        if (PQputCopyData(c, line.ptr, (int)line.len) != 1)
            die("COPY data", c);
    }
    if (PQputCopyEnd(c, NULL) != 1)
        die("COPY end", c);
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("COPY result", c);
    PQclear(r);
    buf_free(&line);
    return now() - start;
}

static long scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die(sql, c);
    long v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DSN ROWS THREADS\n", argv[0]);
        return 2;
    }
    const char *dsn_text = argv[1];
    long rows = atol(argv[2]);
    int threads = atoi(argv[3]);
    if (rows <= 0 || threads <= 0 || threads > 64) {
        fprintf(stderr, "ROWS > 0, THREADS 1..64\n");
        return 2;
    }
    exo_err err = EXO_ERR_INIT;
    dsn *d = NULL;
    if (dsn_parse(&d, dsn_text, &err) < 0) {
        fprintf(stderr, "%s\n", err_msg(&err));
        return 2;
    }
    PGconn *c = PQconnectdb(dsn_text);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect", c);
    deployment_id = scalar(c, "INSERT INTO deployments (name) VALUES ('bench-' || "
                              "gen_random_uuid()) RETURNING id");
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO sessions (deployment_id) VALUES (%ld) RETURNING id",
             deployment_id);
    session_id = scalar(c, sql);

    double copy = run_copy(c, rows);
    double batched = run_pool(d, rows, threads, BATCH);
    long single_rows = rows / 10; /* single-row inserts are slow: a tenth as many */
    double single = run_pool(d, single_rows, threads, 1);
    double copy_rate = rows / copy;
    printf("baseline:  COPY, one connection: %ld rows in %.3f s = %.0f rows/s\n", rows, copy,
           copy_rate);
    printf("pool:      INSERT of %d-row batches, %d threads: %ld rows in %.3f s = %.0f rows/s, "
           "%.2fx COPY's rate\n",
           BATCH, threads, rows, batched, rows / batched, rows / batched / copy_rate);
    printf("pool:      single-row INSERT, %d threads: %ld rows in %.3f s = %.0f rows/s, %.2fx "
           "COPY's rate\n",
           threads, single_rows, single, single_rows / single, single_rows / single / copy_rate);
    PQfinish(c);
    dsn_free(d);
    return 0;
}

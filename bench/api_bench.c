/* Session events through the backend's API, against COPY of the same rows
 * into the same table on one connection. Prints rows per second and the
 * ratio; asserts nothing about time.
 *
 *   api_bench URL TOKEN SESSION_ID DSN ROWS THREADS BATCH
 *
 * Also a bounded load run: every request must succeed (a lost or refused
 * request is counted and printed), and the server's pool gauges are read
 * from /metrics at the end. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "buf.h"

static const char *url, *token, *session;
static long rows_per_thread;
static int batch;
static atomic_long failed, accepted;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

static void *post_batches(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    buf endpoint = BUF_INIT, body = BUF_INIT, auth = BUF_INIT, resp = BUF_INIT;
    buf_printf(&endpoint, "%s/api/v1/sessions/%s/events", url, session);
    buf_printf(&auth, "Authorization: Bearer %s", token);
    struct curl_slist *h = curl_slist_append(NULL, auth.ptr);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, endpoint.ptr);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    for (long done = 0; done < rows_per_thread; done += batch) {
        buf_clear(&body);
        buf_puts(&body, "{\"events\":[");
        for (int i = 0; i < batch; i++)
            buf_printf(&body, "%s{\"kind\":\"o\",\"data\":{\"data\":\"echo hello %ld\"}}",
                       i ? "," : "", done + i);
        buf_puts(&body, "]}");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.ptr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
        buf_clear(&resp);
        long status = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 201)
            atomic_fetch_add(&failed, 1);
        else
            atomic_fetch_add(&accepted, batch);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_free(&endpoint), buf_free(&body), buf_free(&auth), buf_free(&resp);
    return NULL;
}

static double copy_rows(const char *dsn, long rows, long *sid_out)
{
    PGconn *pg = PQconnectdb(dsn);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(pg));
        exit(1);
    }
    PGresult *r = PQexec(pg, "SELECT deployment_id FROM sessions ORDER BY id LIMIT 1");
    long dep = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    buf line = BUF_INIT;
    double start = now();
    r = PQexec(pg, "COPY session_events (session_id, deployment_id, kind, data) FROM STDIN");
    PQclear(r);
    for (long i = 0; i < rows; i++) {
        buf_clear(&line);
        buf_printf(&line, "%s\t%ld\to\t{\"data\": \"echo hello %ld\"}\n", session, dep, i);
        PQputCopyData(pg, line.ptr, (int)line.len);
    }
    PQputCopyEnd(pg, NULL);
    r = PQgetResult(pg);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "COPY: %s", PQerrorMessage(pg));
        exit(1);
    }
    PQclear(r);
    double secs = now() - start;
    buf_free(&line);
    PQfinish(pg);
    *sid_out = dep;
    return secs;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s URL TOKEN SESSION_ID DSN ROWS THREADS BATCH\n", argv[0]);
        return 2;
    }
    url = argv[1], token = argv[2], session = argv[3];
    long rows = atol(argv[5]);
    int threads = atoi(argv[6]);
    batch = atoi(argv[7]);
    if (rows <= 0 || threads <= 0 || threads > 64 || batch <= 0 || rows % (threads * batch)) {
        fprintf(stderr, "ROWS must be a multiple of THREADS * BATCH\n");
        return 2;
    }
    rows_per_thread = rows / threads;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    long dep;
    double copy = copy_rows(argv[4], rows, &dep);
    (void)dep;
    pthread_t t[64];
    double start = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, post_batches, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double api = now() - start;
    printf("baseline:  COPY, one connection: %ld rows in %.3f s = %.0f rows/s\n", rows, copy,
           rows / copy);
    printf("api:       POST /sessions/{id}/events, %d-event batches, %d clients: %ld rows in "
           "%.3f s = %.0f rows/s, %.2fx COPY's rate (goal: at least 0.33x)\n",
           batch, threads, atomic_load(&accepted), api, atomic_load(&accepted) / api,
           (atomic_load(&accepted) / api) / (rows / copy));
    printf("load run:  %ld requests, %ld failed or lost\n", rows / batch,
           atomic_load(&failed));
    curl_global_cleanup();
    return atomic_load(&failed) ? 1 : 0;
}

/* exo-backend: owns the Exo control plane's PostgreSQL schema (boot
 * migrations, encryption keyring, monthly partitions, retention) and serves
 * its health endpoints. */
#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "backend_env.h"
#include "backfill.h"
#include "buf.h"
#include "casts.h"
#include "boot.h"
#include "config.h"
#include "db.h"
#include "healthcheck.h"
#include "http.h"
#include "keyring.h"
#include "log.h"
#include "maintain.h"
#include "metrics.h"
#include "pool.h"
#include "rfc3339.h"
#include "schema.h"
#include "version.h"

static void usage(FILE *f)
{
    fputs("Usage: exo-backend COMMAND\n"
          "\n"
          "Commands:\n"
          "  serve                  boot (migrate, keyring, partitions), serve /healthz and\n"
          "                         /readyz on EXO_HTTP_ADDR, run maintenance every\n"
          "                         EXO_MAINTENANCE_INTERVAL until SIGTERM (the default)\n"
          "  migrate [--now TIME]   boot and one maintenance pass as of TIME (RFC 3339;\n"
          "                         default now), exit\n"
          "  maintain [--now TIME]  one maintenance pass as of TIME (RFC 3339; default now)\n"
          "  keyring verify         check EXO_ENCRYPTION_KEY and that every value decrypts\n"
          "  keyring rotate         add a data key, make it active, re-encrypt old values\n"
          "  healthcheck            exit 0 when /readyz on EXO_HTTP_ADDR answers 200 (for\n"
          "                         container healthchecks; images carry no curl)\n"
          "  --version              print the version\n"
          "\n",
          f);
    contract_env_usage(f);
}

/* Prints a command's result as one JSON line on stdout. */
static void print_result(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(o);
}

static cJSON *maintain_json(const maintain_report *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "skipped", m->skipped);
    cJSON_AddNumberToObject(o, "partitions_created", m->created);
    cJSON_AddNumberToObject(o, "partitions_dropped", m->dropped);
    cJSON_AddNumberToObject(o, "rows_moved", (double)m->moved_rows);
    cJSON_AddNumberToObject(o, "rows_deleted", (double)m->deleted_rows);
    cJSON_AddNumberToObject(o, "sessions_expired", (double)m->sessions_expired);
    cJSON_AddNumberToObject(o, "lock_retries", m->retries);
    cJSON_AddNumberToObject(o, "duration_ms", (double)m->duration_ms);
    return o;
}

static void log_boot(const boot_report *b)
{
    char ddl[16], parts[16], enc[24], ms[24];
    snprintf(ddl, sizeof ddl, "%d", b->ddl);
    snprintf(parts, sizeof parts, "%d", b->partitions);
    snprintf(enc, sizeof enc, "%ld", b->encrypted);
    snprintf(ms, sizeof ms, "%ld", b->duration_ms);
    log_msg(LOG_INFO, "boot done", "ddl_statements", ddl, "partitions_created", parts,
            "values_encrypted", enc, "duration_ms", ms, NULL);
}

/* now: the instant the partitions are made for, normally time(NULL); a
 * flag sets it so that a test's dated rows fall in known months whatever
 * the calendar says. */
static int cmd_migrate(const backend_config *cfg, time_t now, exo_err *err)
{
    PGconn *c = boot_connect(cfg->dsn, err);
    if (!c)
        return -1;
    keyring *ring = NULL;
    boot_report b;
    maintain_report m;
    int rc = boot_run(c, cfg, now, &ring, &b, err);
    if (rc == 0) {
        log_boot(&b);
        rc = maintain_pass(c, cfg, now, &m, err);
    }
    if (rc == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "ddl_statements", b.ddl);
        cJSON_AddNumberToObject(o, "partitions_created", b.partitions);
        cJSON_AddNumberToObject(o, "values_encrypted", (double)b.encrypted);
        cJSON_AddNumberToObject(o, "boot_ms", (double)b.duration_ms);
        cJSON_AddItemToObject(o, "maintenance", maintain_json(&m));
        print_result(o);
    }
    keyring_free(ring);
    PQfinish(c);
    return rc;
}

static int cmd_maintain(const backend_config *cfg, time_t now, exo_err *err)
{
    PGconn *c = boot_connect(cfg->dsn, err);
    if (!c)
        return -1;
    maintain_report m;
    int rc = maintain_pass(c, cfg, now, &m, err);
    if (rc == 0)
        print_result(maintain_json(&m));
    PQfinish(c);
    return rc;
}

/* Counts, per encrypted column, values that decrypt, that do not, and that
 * are still plaintext. */
static int verify_values(PGconn *c, const keyring *k, long counts[3], exo_err *err)
{
    buf plain = BUF_INIT;
    for (const char *const *tc = schema_encrypted_columns; *tc; tc++) {
        char table[64];
        const char *column = schema_column_split(*tc, table);
        char *t = db_ident(c, table), *col = db_ident(c, column);
        buf sql = BUF_INIT;
        buf_printf(&sql, "SELECT id::text, %s FROM %s WHERE %s IS NOT NULL", col, t, col);
        PGresult *res = db_query(c, "reading encrypted values", sql.ptr, NULL, err);
        free(t);
        free(col);
        buf_free(&sql);
        if (!res) {
            buf_free(&plain);
            return -1;
        }
        for (int i = 0; i < PQntuples(res); i++) {
            const char *v = PQgetvalue(res, i, 1);
            exo_err e = EXO_ERR_INIT;
            buf_clear(&plain);
            if (!keyring_is_ciphertext(v))
                counts[2]++;
            else if (keyring_decrypt(k, table, column, PQgetvalue(res, i, 0), v, &plain, &e) == 0)
                counts[0]++;
            else
                counts[1]++;
            err_clear(&e);
        }
        PQclear(res);
    }
    buf_free(&plain);
    return 0;
}

static int cmd_keyring(const backend_config *cfg, const char *action, exo_err *err)
{
    PGconn *c = boot_connect(cfg->dsn, err);
    if (!c)
        return -1;
    keyring *k = NULL;
    long counts[3] = {0, 0, 0}, reencrypted = 0;
    int rc = -1;
    bool rotate = strcmp(action, "rotate") == 0;
    if (rotate) {
        /* Under the boot lock, so a rotation never races a booting replica. */
        if (db_exec(c, "BEGIN", "BEGIN", NULL, err) < 0 ||
            db_exec(c, "waiting for the boot lock",
                    "SELECT pg_advisory_xact_lock(28561392435949428)", NULL, err) < 0)
            goto out;
    }
    if (keyring_load(&k, c, cfg->key, err) < 0)
        goto out;
    if (!k) {
        err_set(err, "this database has no keyring yet: run exo-backend migrate first");
        goto out;
    }
    if (rotate) {
        if (keyring_rotate(k, c, err) < 0 || db_exec(c, "COMMIT", "COMMIT", NULL, err) < 0 ||
            backfill_reencrypt(c, k, &reencrypted, err) < 0)
            goto out;
    }
    if (verify_values(c, k, counts, err) < 0)
        goto out;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", "ok");
    cJSON_AddNumberToObject(o, "active_key_id", keyring_active_id(k));
    if (rotate)
        cJSON_AddNumberToObject(o, "values_reencrypted", (double)reencrypted);
    cJSON_AddNumberToObject(o, "values_decrypted", (double)counts[0]);
    cJSON_AddNumberToObject(o, "values_failed", (double)counts[1]);
    cJSON_AddNumberToObject(o, "values_plaintext", (double)counts[2]);
    print_result(o);
    rc = counts[1] ? err_set(err, "%ld encrypted values do not decrypt", counts[1]) : 0;
out:
    if (rc < 0 && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    keyring_free(k);
    PQfinish(c);
    return rc;
}

static int cmd_serve(const backend_config *cfg, exo_err *err)
{
    /* Blocked here, before any thread starts, so that only sigtimedwait in
     * this loop ever receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    pool *db = NULL;
    api *a = NULL;
    http_server *http = NULL;
    keyring *ring = NULL;
    PGconn *c = NULL;
    int rc = -1;
    pool_config pc = {cfg->dsn, cfg->max_open, cfg->max_idle, NULL};
    if (pool_new(&db, &pc, err) < 0 || http_start(&http, cfg->http_addr, db, err) < 0)
        goto out;
    log_msg(LOG_INFO, "listening", "addr", cfg->http_addr, NULL);
    if (!(c = boot_connect(cfg->dsn, err)))
        goto out;
    boot_report b;
    if (boot_run(c, cfg, time(NULL), &ring, &b, err) < 0)
        goto out;
    /* Uploads cut short by a crash leave temporaries; older than any live
     * upload can be (replicas may share a ReadWriteMany volume). */
    int swept = 0;
    exo_err sweep_err = EXO_ERR_INIT;
    if (casts_sweep_temporaries(&swept, cfg->cast_dir, 3600, &sweep_err) < 0)
        log_msg(LOG_WARN, "cannot sweep the recordings directory", "error",
                err_msg(&sweep_err), NULL);
    err_clear(&sweep_err);
    const char *bootstrap = getenv("EXO_BOOTSTRAP_TOKEN");
    if (bootstrap && *bootstrap && api_bootstrap(c, bootstrap, err) < 0)
        goto out;
    PQfinish(c);
    c = NULL;
    log_boot(&b);
    a = api_new(db, ring, cfg);
    http_set_api(http, a);
    http_set_ready(http, true);

    for (;;) {
        PGconn *mc = pool_get(db, err);
        if (mc) {
            maintain_report m;
            int r = maintain_pass(mc, cfg, time(NULL), &m, err);
            pool_put(db, mc, r < 0);
            metrics_maintenance(r == 0, m.dropped, m.deleted_rows);
            if (r == 0) {
                cJSON *o = maintain_json(&m);
                char *line = cJSON_PrintUnformatted(o);
                log_msg(LOG_INFO, "maintenance done", "report", line ? line : "", NULL);
                free(line);
                cJSON_Delete(o);
            }
        }
        if (!mc || err->msg) {
            /* The daemon keeps going: the next pass may find the database back. */
            log_msg(LOG_ERROR, "maintenance failed", "error", err_msg(err), NULL);
            err_clear(err);
        }
        struct timespec wait = {(time_t)cfg->maintenance_interval_s, 0};
        int sig = sigtimedwait(&stop, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT) {
            log_msg(LOG_INFO, "stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
            break;
        }
    }
    rc = 0;
out:
    /* Stop accepting and finish in-flight requests first; then nothing
     * uses the api, the keyring or the pool. */
    http_stop(http);
    api_free(a);
    PQfinish(c);
    keyring_free(ring);
    if (db)
        pool_free(db);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("exo-backend %s\n", EXO_VERSION);
        return 0;
    }
    if (strcmp(cmd, "healthcheck") == 0)
        return healthcheck_run(getenv("EXO_HTTP_ADDR"));
    time_t now = time(NULL);
    const char *action = NULL;
    if (strcmp(cmd, "maintain") == 0 || strcmp(cmd, "migrate") == 0) {
        static const struct option opts[] = {{"now", required_argument, NULL, 'n'}, {0}};
        int o;
        opterr = 0;
        optind = 2;
        while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
            if (o != 'n' || !rfc3339_parse(optarg, &now)) {
                fprintf(stderr, "exo-backend %s: %s\n", cmd,
                        o == 'n' ? "--now: want an RFC 3339 time such as 2027-01-15T10:00:00Z"
                                 : "unknown flag (see exo-backend --help)");
                return 2;
            }
        }
        if (optind < argc) {
            fprintf(stderr, "exo-backend %s: unexpected argument \"%s\"\n", cmd, argv[optind]);
            return 2;
        }
    } else if (strcmp(cmd, "keyring") == 0) {
        action = argc == 3 ? argv[2] : "";
        if (strcmp(action, "verify") != 0 && strcmp(action, "rotate") != 0) {
            fprintf(stderr, "exo-backend keyring: want verify or rotate\n");
            return 2;
        }
    } else if (strcmp(cmd, "serve") != 0 || argc > 2) {
        fprintf(stderr, "exo-backend: unknown command \"%s\" (see exo-backend --help)\n",
                argc > 2 && strcmp(cmd, "serve") == 0 ? argv[2] : cmd);
        return 2;
    }

    backend_config cfg;
    exo_err err = EXO_ERR_INIT;
    int rc = config_load(&cfg, strcmp(cmd, "maintain") != 0, &err);
    if (rc == 0) {
        if (strcmp(cmd, "migrate") == 0)
            rc = cmd_migrate(&cfg, now, &err);
        else if (strcmp(cmd, "maintain") == 0)
            rc = cmd_maintain(&cfg, now, &err);
        else if (action)
            rc = cmd_keyring(&cfg, action, &err);
        else
            rc = cmd_serve(&cfg, &err);
    }
    if (rc < 0)
        fprintf(stderr, "exo-backend %s: %s\n", cmd, err_msg(&err));
    config_free(&cfg);
    err_clear(&err);
    return rc < 0 ? 1 : 0;
}

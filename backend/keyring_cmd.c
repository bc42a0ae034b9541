#include "keyring_cmd.h"

#include <stdbool.h>
#include <stdlib.h>

#include "backfill.h"
#include "boot.h"
#include "buf.h"
#include "db.h"
#include "keyring.h"
#include "schema.h"

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

static int run(const backend_config *cfg, bool rotate, cJSON **report, exo_err *err)
{
    *report = NULL;
    PGconn *c = boot_connect(cfg->dsn, err);
    if (!c)
        return -1;
    keyring *k = NULL;
    long counts[3] = {0, 0, 0}, reencrypted = 0;
    int rc = -1;
    if (rotate && (db_exec(c, "BEGIN", "BEGIN", NULL, err) < 0 || boot_lock(c, err) < 0))
        goto out;
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
    *report = o;
    rc = counts[1] ? err_set(err, "%ld encrypted values do not decrypt", counts[1]) : 0;
out:
    if (rc < 0 && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    keyring_free(k);
    PQfinish(c);
    return rc;
}

int keyring_cmd_verify(const backend_config *cfg, cJSON **report, exo_err *err)
{
    return run(cfg, false, report, err);
}

int keyring_cmd_rotate(const backend_config *cfg, cJSON **report, exo_err *err)
{
    return run(cfg, true, report, err);
}

#include "backfill.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "schema.h"

/* One batch of one column: returns the number of rows rewritten, or -1. */
static long batch(PGconn *c, const keyring *k, const char *table, const char *column,
                  bool reencrypt, exo_err *err)
{
    char *t = db_ident(c, table), *col = db_ident(c, column);
    char active[32];
    snprintf(active, sizeof active, "exo:v1:%d:%%", keyring_active_id(k));
    const char *select_params[] = {active, NULL};
    buf select = BUF_INIT, update = BUF_INIT, plain = BUF_INIT;
    buf_printf(&select,
               reencrypt ? "SELECT id::text, %s FROM %s WHERE %s LIKE 'exo:v1:%%' AND %s NOT LIKE $1 "
                           "ORDER BY id LIMIT %d FOR UPDATE SKIP LOCKED"
                         : "SELECT id::text, %s FROM %s WHERE %s IS NOT NULL AND %s NOT LIKE "
                           "'exo:v1:%%' ORDER BY id LIMIT %d FOR UPDATE SKIP LOCKED",
               col, t, col, col, BACKFILL_BATCH);
    buf_printf(&update, "UPDATE %s SET %s = $2 WHERE id = $1::bigint", t, col);
    long n = -1;
    PGresult *rows = NULL;

    if (db_exec(c, "BEGIN", "BEGIN", NULL, err) < 0)
        goto out;
    rows = db_query(c, "selecting a batch", select.ptr, reencrypt ? select_params : NULL, err);
    if (!rows)
        goto rollback;
    for (int i = 0; i < PQntuples(rows); i++) {
        const char *id = PQgetvalue(rows, i, 0), *value = PQgetvalue(rows, i, 1);
        buf_clear(&plain);
        if (reencrypt) {
            if (keyring_decrypt(k, table, column, id, value, &plain, err) < 0) {
                err_prefix(err, "%s.%s row %s", table, column, id);
                goto rollback;
            }
        } else {
            buf_puts(&plain, value);
        }
        char *sealed = keyring_encrypt(k, table, column, id, plain.ptr, plain.len);
        const char *p[] = {id, sealed, NULL};
        int rc = db_exec(c, "writing a batch", update.ptr, p, err);
        free(sealed);
        if (rc < 0)
            goto rollback;
    }
    if (db_exec(c, "COMMIT", "COMMIT", NULL, err) < 0)
        goto out;
    n = PQntuples(rows);
    goto out;
rollback:;
    exo_err ignore = EXO_ERR_INIT;
    db_exec(c, "ROLLBACK", "ROLLBACK", NULL, &ignore);
    err_clear(&ignore);
out:
    PQclear(rows);
    free(t);
    free(col);
    buf_free(&select);
    buf_free(&update);
    buf_free(&plain);
    return n;
}

static int all_columns(PGconn *c, const keyring *k, bool reencrypt, long *done, exo_err *err)
{
    for (const char *const *tc = schema_encrypted_columns; *tc; tc++) {
        char table[64];
        const char *column = schema_column_split(*tc, table);
        long n;
        while ((n = batch(c, k, table, column, reencrypt, err)) > 0)
            *done += n;
        if (n < 0)
            return -1;
    }
    return 0;
}

int backfill_encrypt(PGconn *c, const keyring *k, long *done, exo_err *err)
{
    return all_columns(c, k, false, done, err);
}

int backfill_reencrypt(PGconn *c, const keyring *k, long *done, exo_err *err)
{
    return all_columns(c, k, true, done, err);
}

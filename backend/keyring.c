#include "keyring.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "xalloc.h"

#define PREFIX "exo:v1:"
#define KEK_INFO "exo keyring kek v1"
#define CHECK_PLAIN "exo-keyring-check"
#define CHECK_AAD "exo:check"
#define SALT_LEN 16

typedef struct {
    int id;
    unsigned char key[CRYPTO_KEY_LEN];
} data_key;

struct keyring {
    unsigned char kek[CRYPTO_KEY_LEN]; /* kept so that rotate can wrap new keys */
    data_key *keys;
    size_t n;
    int active; /* key id; 0 until a key is active */
};

static keyring *ring_new(void)
{
    return xcalloc(1, sizeof(keyring));
}

/* Copies into a new array instead of realloc, so no unwiped copy of the
 * old keys is left behind in freed memory. */
static void ring_add(keyring *k, int id, const unsigned char key[CRYPTO_KEY_LEN])
{
    data_key *keys = xmalloc((k->n + 1) * sizeof(data_key));
    if (k->n) {
        memcpy(keys, k->keys, k->n * sizeof(data_key));
        crypto_wipe(k->keys, k->n * sizeof(data_key));
    }
    free(k->keys);
    keys[k->n].id = id;
    memcpy(keys[k->n].key, key, CRYPTO_KEY_LEN);
    k->keys = keys;
    k->n++;
}

static const data_key *ring_find(const keyring *k, int id)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->keys[i].id == id)
            return &k->keys[i];
    return NULL;
}

static void buf_wipe_free(buf *b)
{
    if (b->cap)
        crypto_wipe(b->ptr, b->cap);
    buf_free(b);
}

/* Runs one statement, results in binary; NULL with the server's message in
 * err on failure (callers prefix the step). */
static PGresult *run(PGconn *conn, const char *sql, int n, const char *const *vals, const int *lens,
                     const int *fmts, exo_err *err)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, vals, lens, fmts, 1);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(conn);
    size_t len = strlen(msg);
    while (len > 0 && msg[len - 1] == '\n')
        len--;
    err_set(err, "%.*s", (int)len, msg);
    PQclear(r);
    return NULL;
}

static int get_int4(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    if (PQgetlength(r, row, col) != 4)
        return -1;
    return (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* Wraps key under the KEK, bound to its id, and stores it as the active key. */
static int store_key(PGconn *conn, const keyring *k, int id, const unsigned char *key, exo_err *err)
{
    char aad[32], id_text[16];
    snprintf(aad, sizeof aad, "exo:key:%d", id);
    snprintf(id_text, sizeof id_text, "%d", id);
    buf wrapped = BUF_INIT;
    if (crypto_seal(&wrapped, k->kek, key, CRYPTO_KEY_LEN, aad, strlen(aad), err) < 0)
        return err_prefix(err, "keyring: wrapping data key %d", id);
    const char *vals[] = {id_text, wrapped.ptr};
    int lens[] = {0, (int)wrapped.len}, fmts[] = {0, 1};
    PGresult *r = run(conn,
                      "INSERT INTO exo_keyring_keys (key_id, wrapped_key, active) "
                      "VALUES ($1, $2, true)",
                      2, vals, lens, fmts, err);
    buf_free(&wrapped);
    if (!r)
        return err_prefix(err, "keyring: inserting data key %d into exo_keyring_keys", id);
    PQclear(r);
    return 0;
}

int keyring_load(keyring **out, PGconn *conn, const unsigned char master[CRYPTO_KEY_LEN],
                 exo_err *err)
{
    int rc = -1;
    keyring *k = NULL;
    buf plain = BUF_INIT;
    PGresult *keys = NULL;
    *out = NULL;
    PGresult *meta = run(conn, "SELECT kdf_salt, check_value FROM exo_keyring_meta WHERE id = 1", 0,
                         NULL, NULL, NULL, err);
    if (!meta) {
        err_prefix(err, "keyring: reading exo_keyring_meta");
        goto out;
    }
    if (PQntuples(meta) == 0) {
        rc = 0;
        goto out;
    }
    k = ring_new();
    if (crypto_hkdf(k->kek, master, CRYPTO_KEY_LEN, (const unsigned char *)PQgetvalue(meta, 0, 0),
                    (size_t)PQgetlength(meta, 0, 0), KEK_INFO, err) < 0)
        goto out;
    if (crypto_open(&plain, k->kek, PQgetvalue(meta, 0, 1), (size_t)PQgetlength(meta, 0, 1),
                    CHECK_AAD, strlen(CHECK_AAD), NULL) < 0 ||
        plain.len != strlen(CHECK_PLAIN) || memcmp(plain.ptr, CHECK_PLAIN, plain.len) != 0) {
        err_set(err, "EXO_ENCRYPTION_KEY does not match the key this database was encrypted with "
                     "(the check value in exo_keyring_meta does not open): set the key from the "
                     "backup of this installation");
        goto out;
    }

    keys = run(conn, "SELECT key_id, wrapped_key, active FROM exo_keyring_keys ORDER BY key_id", 0,
               NULL, NULL, NULL, err);
    if (!keys) {
        err_prefix(err, "keyring: reading exo_keyring_keys");
        goto out;
    }
    for (int i = 0; i < PQntuples(keys); i++) {
        int id = get_int4(keys, i, 0);
        char aad[32];
        snprintf(aad, sizeof aad, "exo:key:%d", id);
        buf_wipe_free(&plain);
        if (id <= 0 ||
            crypto_open(&plain, k->kek, PQgetvalue(keys, i, 1), (size_t)PQgetlength(keys, i, 1),
                        aad, strlen(aad), NULL) < 0 ||
            plain.len != CRYPTO_KEY_LEN) {
            err_set(err,
                    "keyring: data key %d in exo_keyring_keys does not open under the key "
                    "encryption key (tampered, or copied from another database)",
                    id);
            goto out;
        }
        ring_add(k, id, (const unsigned char *)plain.ptr);
        if (PQgetlength(keys, i, 2) == 1 && PQgetvalue(keys, i, 2)[0]) {
            if (k->active) {
                err_set(err, "keyring: data keys %d and %d are both active in exo_keyring_keys",
                        k->active, id);
                goto out;
            }
            k->active = id;
        }
    }
    if (!k->active) {
        err_set(err, "keyring: exo_keyring_keys has no active data key");
        goto out;
    }
    *out = k;
    k = NULL;
    rc = 0;
out:
    PQclear(meta);
    PQclear(keys);
    buf_wipe_free(&plain);
    keyring_free(k);
    return rc;
}

/* Refuses when column holds any ciphertext: a missing keyring is then a
 * lost key, and a new one would make that data unreadable for good. */
static int refuse_if_encrypted(PGconn *conn, const char *spec, exo_err *err)
{
    const char *dot = strchr(spec, '.');
    if (!dot || dot == spec || !dot[1])
        return err_set(err, "keyring: encrypted column \"%s\" is not table.column", spec);
    int rc = -1;
    PGresult *r = NULL;
    buf sql = BUF_INIT;
    char *table = PQescapeIdentifier(conn, spec, (size_t)(dot - spec));
    char *column = PQescapeIdentifier(conn, dot + 1, strlen(dot + 1));
    if (!table || !column) {
        err_set(err, "keyring: quoting %s: %s", spec, PQerrorMessage(conn));
        goto out;
    }
    buf_printf(&sql, "SELECT 1 FROM %s WHERE %s LIKE $1 LIMIT 1", table, column);
    const char *vals[] = {PREFIX "%"};
    r = run(conn, sql.ptr, 1, vals, NULL, NULL, err);
    if (!r) {
        err_prefix(err, "keyring: checking %s for encrypted values", spec);
        goto out;
    }
    if (PQntuples(r) > 0) {
        err_set(err,
                "encrypted values exist in %s but the keyring is missing: restore the "
                "keyring tables or EXO_ENCRYPTION_KEY from backup; refusing to create a "
                "new key",
                spec);
        goto out;
    }
    rc = 0;
out:
    PQclear(r);
    PQfreemem(table);
    PQfreemem(column);
    buf_free(&sql);
    return rc;
}

static int create(keyring **out, PGconn *conn, const unsigned char master[CRYPTO_KEY_LEN],
                  exo_err *err)
{
    int rc = -1;
    unsigned char salt[SALT_LEN], key[CRYPTO_KEY_LEN];
    buf check = BUF_INIT;
    keyring *k = ring_new();
    crypto_random(salt, sizeof salt);
    crypto_random(key, sizeof key);
    if (crypto_hkdf(k->kek, master, CRYPTO_KEY_LEN, salt, sizeof salt, KEK_INFO, err) < 0 ||
        crypto_seal(&check, k->kek, CHECK_PLAIN, strlen(CHECK_PLAIN), CHECK_AAD, strlen(CHECK_AAD),
                    err) < 0)
        goto out;
    const char *vals[] = {(const char *)salt, check.ptr};
    int lens[] = {SALT_LEN, (int)check.len}, fmts[] = {1, 1};
    PGresult *r = run(conn,
                      "INSERT INTO exo_keyring_meta (id, kdf_salt, check_value) "
                      "VALUES (1, $1, $2)",
                      2, vals, lens, fmts, err);
    if (!r) {
        err_prefix(err, "keyring: creating exo_keyring_meta");
        goto out;
    }
    PQclear(r);
    if (store_key(conn, k, 1, key, err) < 0)
        goto out;
    ring_add(k, 1, key);
    k->active = 1;
    *out = k;
    k = NULL;
    rc = 0;
out:
    crypto_wipe(key, sizeof key);
    buf_free(&check);
    keyring_free(k);
    return rc;
}

int keyring_bootstrap(keyring **out, PGconn *conn, const unsigned char master[CRYPTO_KEY_LEN],
                      const char *const *encrypted, exo_err *err)
{
    if (keyring_load(out, conn, master, err) < 0)
        return -1;
    if (*out)
        return 0;
    for (const char *const *e = encrypted; e && *e; e++)
        if (refuse_if_encrypted(conn, *e, err) < 0)
            return -1;
    return create(out, conn, master, err);
}

/* The new key joins k only once both statements succeeded; if the caller's
 * transaction then rolls back, the caller must drop k and load again. */
int keyring_rotate(keyring *k, PGconn *conn, exo_err *err)
{
    unsigned char key[CRYPTO_KEY_LEN];
    PGresult *r = run(conn, "SELECT coalesce(max(key_id), 0) + 1 FROM exo_keyring_keys", 0, NULL,
                      NULL, NULL, err);
    if (!r)
        return err_prefix(err, "keyring: choosing the next key id");
    int id = get_int4(r, 0, 0);
    PQclear(r);
    if (id <= 0)
        return err_set(err, "keyring: choosing the next key id: unexpected result");
    r = run(conn, "UPDATE exo_keyring_keys SET active = false WHERE active", 0, NULL, NULL, NULL,
            err);
    if (!r)
        return err_prefix(err, "keyring: deactivating the old data key");
    PQclear(r);
    crypto_random(key, sizeof key);
    int rc = store_key(conn, k, id, key, err);
    if (rc == 0) {
        ring_add(k, id, key);
        k->active = id;
    }
    crypto_wipe(key, sizeof key);
    return rc;
}

int keyring_active_id(const keyring *k)
{
    return k->active;
}

/* The key id of value and where its base64 starts; -1 unless the id is a
 * canonical positive decimal followed by ':'. */
static int parse(const char *value, const char **body)
{
    if (!keyring_is_ciphertext(value))
        return -1;
    const char *p = value + strlen(PREFIX);
    if (*p < '1' || *p > '9')
        return -1;
    int id = 0, digits = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 9)
            return -1;
        id = id * 10 + (*p - '0');
    }
    if (*p != ':')
        return -1;
    if (body)
        *body = p + 1;
    return id;
}

static void aad_for(buf *b, int id, const char *table, const char *column, const char *row_id)
{
    buf_printf(b, PREFIX "%d|%s|%s|%s", id, table, column, row_id);
}

char *keyring_encrypt(const keyring *k, const char *table, const char *column, const char *row_id,
                      const void *plain, size_t len)
{
    const data_key *dk = ring_find(k, k->active);
    buf aad = BUF_INIT, sealed = BUF_INIT, out = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    aad_for(&aad, k->active, table, column, row_id);
    /* Only an OpenSSL internal failure gets here; like a failing RNG, that
     * is nothing a caller could recover from. */
    if (!dk || crypto_seal(&sealed, dk->key, plain, len, aad.ptr, aad.len, &err) < 0) {
        fprintf(stderr, "fatal: keyring: encrypting %s.%s: %s\n", table, column, err_msg(&err));
        abort();
    }
    char *b64 = base64_encode(sealed.ptr, sealed.len);
    buf_printf(&out, PREFIX "%d:%s", k->active, b64);
    free(b64);
    buf_free(&aad);
    buf_free(&sealed);
    return buf_detach(&out);
}

int keyring_decrypt(const keyring *k, const char *table, const char *column, const char *row_id,
                    const char *ciphertext, buf *out, exo_err *err)
{
    const char *body = NULL;
    int id = parse(ciphertext, &body);
    if (id < 0)
        return err_set(err, "%s.%s row %s: value is not an exo:v1 ciphertext", table, column,
                       row_id);
    const data_key *dk = ring_find(k, id);
    if (!dk)
        return err_set(err,
                       "%s.%s row %s: encrypted with data key %d, which is not in "
                       "exo_keyring_keys",
                       table, column, row_id, id);
    unsigned char *sealed = NULL;
    size_t n = 0;
    if (!*body || base64_decode(body, &sealed, &n) < 0)
        return err_set(err, "%s.%s row %s: ciphertext is not valid base64", table, column, row_id);
    buf aad = BUF_INIT;
    aad_for(&aad, id, table, column, row_id);
    int rc = crypto_open(out, dk->key, sealed, n, aad.ptr, aad.len, NULL);
    buf_free(&aad);
    free(sealed);
    if (rc < 0)
        return err_set(err,
                       "%s.%s row %s: ciphertext does not open (tampered, or copied from "
                       "another row, column or table)",
                       table, column, row_id);
    return 0;
}

bool keyring_is_ciphertext(const char *value)
{
    return value && strncmp(value, PREFIX, strlen(PREFIX)) == 0;
}

int keyring_key_id(const char *value)
{
    return parse(value, NULL);
}

void keyring_free(keyring *k)
{
    if (!k)
        return;
    if (k->n)
        crypto_wipe(k->keys, k->n * sizeof(data_key));
    free(k->keys);
    crypto_wipe(k->kek, sizeof k->kek);
    free(k);
}

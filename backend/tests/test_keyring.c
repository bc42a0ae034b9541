#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "keyring.h"

static const unsigned char master_a[CRYPTO_KEY_LEN] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5};
static const unsigned char master_b[CRYPTO_KEY_LEN] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5};
static const char *const encrypted[] = {"runtime_statuses.tool_status", NULL};

static void exec_ok(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        print_error("%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    PQclear(r);
}

static int count(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Each test gets its own connection and freshly created tables. */
static int setup(void **state)
{
    PGconn *conn = PQconnectdb(getenv("EXO_TEST_DSN"));
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        fail_msg("cannot connect to EXO_TEST_DSN");
    }
    exec_ok(conn, "SET client_min_messages = warning");
    exec_ok(conn, "DROP TABLE IF EXISTS exo_keyring_meta, exo_keyring_keys, runtime_statuses");
    exec_ok(conn, "CREATE TABLE exo_keyring_meta (id smallint PRIMARY KEY CHECK (id = 1), "
                  "kdf_salt bytea NOT NULL, check_value bytea NOT NULL, "
                  "created_at timestamptz NOT NULL DEFAULT now())");
    exec_ok(conn, "CREATE TABLE exo_keyring_keys (key_id integer PRIMARY KEY, "
                  "wrapped_key bytea NOT NULL, active boolean NOT NULL DEFAULT false, "
                  "created_at timestamptz NOT NULL DEFAULT now())");
    exec_ok(conn, "CREATE TABLE runtime_statuses(id bigint primary key, tool_status text)");
    *state = conn;
    return 0;
}

static int teardown(void **state)
{
    PQfinish(*state);
    return 0;
}

static keyring *bootstrap(PGconn *conn, const unsigned char *master)
{
    keyring *k = NULL;
    exo_err err = EXO_ERR_INIT;
    if (keyring_bootstrap(&k, conn, master, encrypted, &err) < 0)
        fail_msg("keyring_bootstrap: %s", err_msg(&err));
    assert_non_null(k);
    return k;
}

static void assert_decrypts(const keyring *k, const char *table, const char *column,
                            const char *row_id, const char *ct, const char *want)
{
    buf out = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    if (keyring_decrypt(k, table, column, row_id, ct, &out, &err) < 0)
        fail_msg("keyring_decrypt: %s", err_msg(&err));
    assert_string_equal(out.ptr, want);
    buf_free(&out);
}

static void assert_decrypt_fails(const keyring *k, const char *table, const char *column,
                                 const char *row_id, const char *ct, const char *want)
{
    buf out = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(keyring_decrypt(k, table, column, row_id, ct, &out, &err), -1);
    assert_non_null(strstr(err_msg(&err), want));
    assert_int_equal(out.len, 0);
    buf_free(&out);
    err_clear(&err);
}

static void test_load_on_empty_database_returns_no_keyring(void **state)
{
    keyring *k = (keyring *)1;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(keyring_load(&k, *state, master_a, &err), 0);
    assert_null(k);
}

static void test_bootstrap_on_empty_database_creates_one_active_key(void **state)
{
    PGconn *conn = *state;
    keyring *k = bootstrap(conn, master_a);
    assert_int_equal(keyring_active_id(k), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_meta"), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_keys"), 1);
    assert_int_equal(count(conn, "SELECT key_id FROM exo_keyring_keys WHERE active"), 1);
    /* Only wrapped keys are stored: 12-byte nonce + 32-byte key + 16-byte tag. */
    assert_int_equal(count(conn, "SELECT length(wrapped_key) FROM exo_keyring_keys"), 60);

    char *ct = keyring_encrypt(k, "runtime_statuses", "tool_status", "42", "hello", 5);
    assert_true(strncmp(ct, "exo:v1:1:", 9) == 0);
    assert_null(strstr(ct, "hello"));
    assert_decrypts(k, "runtime_statuses", "tool_status", "42", ct, "hello");
    free(ct);
    keyring_free(k);
}

static void test_bootstrap_ignores_plaintext_values(void **state)
{
    PGconn *conn = *state;
    exec_ok(conn, "INSERT INTO runtime_statuses VALUES (1, 'ready'), (2, NULL), (3, 'exo:v2')");
    keyring *k = bootstrap(conn, master_a);
    assert_int_equal(keyring_active_id(k), 1);
    keyring_free(k);
}

static void test_second_bootstrap_loads_the_same_keys(void **state)
{
    PGconn *conn = *state;
    keyring *k = bootstrap(conn, master_a);
    char *ct = keyring_encrypt(k, "runtime_statuses", "tool_status", "7", "before", 6);
    keyring_free(k);

    k = bootstrap(conn, master_a);
    assert_int_equal(keyring_active_id(k), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_keys"), 1);
    assert_decrypts(k, "runtime_statuses", "tool_status", "7", ct, "before");
    free(ct);
    keyring_free(k);
}

static void test_wrong_master_key_is_refused_and_writes_nothing(void **state)
{
    PGconn *conn = *state;
    keyring_free(bootstrap(conn, master_a));
    keyring *k = NULL;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(keyring_bootstrap(&k, conn, master_b, encrypted, &err), -1);
    assert_null(k);
    const char *want = "EXO_ENCRYPTION_KEY does not match the key this database was encrypted with";
    assert_true(strncmp(err_msg(&err), want, strlen(want)) == 0);
    assert_int_equal(keyring_load(&k, conn, master_b, &err), -1);
    assert_null(k);
    assert_true(strncmp(err_msg(&err), want, strlen(want)) == 0);
    err_clear(&err);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_meta"), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_keys"), 1);
}

static void test_bootstrap_refused_when_ciphertext_exists_without_keyring(void **state)
{
    PGconn *conn = *state;
    exec_ok(conn, "INSERT INTO runtime_statuses VALUES (1, 'ready'), "
                  "(2, 'exo:v1:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')");
    keyring *k = NULL;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(keyring_bootstrap(&k, conn, master_a, encrypted, &err), -1);
    assert_null(k);
    assert_string_equal(err_msg(&err),
                        "encrypted values exist in runtime_statuses.tool_status but the keyring "
                        "is missing: restore the keyring tables or EXO_ENCRYPTION_KEY from "
                        "backup; refusing to create a new key");
    err_clear(&err);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_meta"), 0);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_keys"), 0);
}

static void test_rotate_makes_key_2_active_and_old_values_still_decrypt(void **state)
{
    PGconn *conn = *state;
    keyring *k = bootstrap(conn, master_a);
    char *old = keyring_encrypt(k, "runtime_statuses", "tool_status", "1", "old", 3);
    exo_err err = EXO_ERR_INIT;
    exec_ok(conn, "BEGIN");
    if (keyring_rotate(k, conn, &err) < 0)
        fail_msg("keyring_rotate: %s", err_msg(&err));
    exec_ok(conn, "COMMIT");
    assert_int_equal(keyring_active_id(k), 2);
    assert_int_equal(count(conn, "SELECT count(*) FROM exo_keyring_keys"), 2);
    assert_int_equal(count(conn, "SELECT key_id FROM exo_keyring_keys WHERE active"), 2);

    char *fresh = keyring_encrypt(k, "runtime_statuses", "tool_status", "1", "new", 3);
    assert_int_equal(keyring_key_id(old), 1);
    assert_int_equal(keyring_key_id(fresh), 2);
    assert_decrypts(k, "runtime_statuses", "tool_status", "1", old, "old");
    assert_decrypts(k, "runtime_statuses", "tool_status", "1", fresh, "new");
    keyring_free(k);

    /* What a restarted process sees. */
    k = bootstrap(conn, master_a);
    assert_int_equal(keyring_active_id(k), 2);
    assert_decrypts(k, "runtime_statuses", "tool_status", "1", old, "old");
    assert_decrypts(k, "runtime_statuses", "tool_status", "1", fresh, "new");
    free(old);
    free(fresh);
    keyring_free(k);
}

static void test_ciphertext_moved_to_another_row_column_or_table_fails(void **state)
{
    keyring *k = bootstrap(*state, master_a);
    char *ct = keyring_encrypt(k, "runtime_statuses", "tool_status", "1", "secret", 6);
    assert_decrypt_fails(k, "runtime_statuses", "tool_status", "2", ct, "does not open");
    assert_decrypt_fails(k, "runtime_statuses", "other_status", "1", ct, "does not open");
    assert_decrypt_fails(k, "other_table", "tool_status", "1", ct, "does not open");
    assert_decrypts(k, "runtime_statuses", "tool_status", "1", ct, "secret");
    free(ct);
    keyring_free(k);
}

static void test_tampered_ciphertext_fails(void **state)
{
    PGconn *conn = *state;
    keyring *k = bootstrap(conn, master_a);
    char *ct = keyring_encrypt(k, "t", "c", "1", "secret", 6);
    /* Every byte of nonce | ciphertext | tag, flipped in turn. */
    unsigned char *sealed = NULL;
    size_t n = 0;
    assert_int_equal(base64_decode(ct + strlen("exo:v1:1:"), &sealed, &n), 0);
    for (size_t i = 0; i < n; i++) {
        sealed[i] ^= 0x80;
        char *b64 = base64_encode(sealed, n);
        buf bad = BUF_INIT;
        buf_printf(&bad, "exo:v1:1:%s", b64);
        assert_decrypt_fails(k, "t", "c", "1", bad.ptr, "does not open");
        buf_free(&bad);
        free(b64);
        sealed[i] ^= 0x80;
    }
    free(sealed);
    char *cut = strndup(ct, strlen(ct) - 4);
    assert_decrypt_fails(k, "t", "c", "1", cut, "does not open");
    free(cut);
    assert_decrypt_fails(k, "t", "c", "1", "exo:v1:1:====", "not valid base64");
    assert_decrypt_fails(k, "t", "c", "1", "exo:v1:1:", "not valid base64");
    assert_decrypt_fails(k, "t", "c", "1", "exo:v1:9:AAAA", "data key 9, which is not in");
    assert_decrypt_fails(k, "t", "c", "1", "plain text", "not an exo:v1 ciphertext");

    /* Relabelled with another key id: the id is bound as associated data. */
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(keyring_rotate(k, conn, &err), 0);
    ct[7] = '2';
    assert_decrypt_fails(k, "t", "c", "1", ct, "does not open");
    free(ct);
    keyring_free(k);
}

static void test_tampered_or_moved_data_key_is_refused(void **state)
{
    PGconn *conn = *state;
    keyring_free(bootstrap(conn, master_a));
    exec_ok(conn, "UPDATE exo_keyring_keys SET key_id = 5");
    keyring *k = NULL;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(keyring_load(&k, conn, master_a, &err), -1);
    assert_non_null(strstr(err_msg(&err), "data key 5 in exo_keyring_keys does not open"));
    exec_ok(conn, "UPDATE exo_keyring_keys SET key_id = 1, "
                  "wrapped_key = set_byte(wrapped_key, 20, get_byte(wrapped_key, 20) # 1)");
    assert_int_equal(keyring_load(&k, conn, master_a, &err), -1);
    assert_non_null(strstr(err_msg(&err), "data key 1 in exo_keyring_keys does not open"));
    assert_null(k);
    err_clear(&err);
}

static void test_is_ciphertext_and_key_id(void **state)
{
    (void)state;
    assert_true(keyring_is_ciphertext("exo:v1:1:AAAA"));
    assert_true(keyring_is_ciphertext("exo:v1:"));
    assert_false(keyring_is_ciphertext("exo:v2:1:AAAA"));
    assert_false(keyring_is_ciphertext("EXO:v1:1:AAAA"));
    assert_false(keyring_is_ciphertext("ready"));
    assert_false(keyring_is_ciphertext(""));
    assert_false(keyring_is_ciphertext(NULL));

    assert_int_equal(keyring_key_id("exo:v1:1:AAAA"), 1);
    assert_int_equal(keyring_key_id("exo:v1:42:"), 42);
    assert_int_equal(keyring_key_id("exo:v1:999999999:x"), 999999999);
    assert_int_equal(keyring_key_id("exo:v1:1234567890:x"), -1);
    assert_int_equal(keyring_key_id("exo:v1:0:AAAA"), -1);
    assert_int_equal(keyring_key_id("exo:v1:01:AAAA"), -1);
    assert_int_equal(keyring_key_id("exo:v1:-1:AAAA"), -1);
    assert_int_equal(keyring_key_id("exo:v1:1"), -1);
    assert_int_equal(keyring_key_id("exo:v1::AAAA"), -1);
    assert_int_equal(keyring_key_id("exo:v1:1x:AAAA"), -1);
    assert_int_equal(keyring_key_id("ready"), -1);
    assert_int_equal(keyring_key_id(NULL), -1);
}

int main(void)
{
    const char *dsn = getenv("EXO_TEST_DSN");
    if (!dsn || !*dsn) {
        fprintf(stderr, "test_keyring: EXO_TEST_DSN is not set; run it under "
                        "backend/tests/integration/with_pg.py (it needs PostgreSQL 16)\n");
        return 1;
    }
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_load_on_empty_database_returns_no_keyring),
        T(test_bootstrap_on_empty_database_creates_one_active_key),
        T(test_bootstrap_ignores_plaintext_values),
        T(test_second_bootstrap_loads_the_same_keys),
        T(test_wrong_master_key_is_refused_and_writes_nothing),
        T(test_bootstrap_refused_when_ciphertext_exists_without_keyring),
        T(test_rotate_makes_key_2_active_and_old_values_still_decrypt),
        T(test_ciphertext_moved_to_another_row_column_or_table_fails),
        T(test_tampered_ciphertext_fails),
        T(test_tampered_or_moved_data_key_is_refused),
        cmocka_unit_test(test_is_ciphertext_and_key_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

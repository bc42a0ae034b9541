/* Boot against a real PostgreSQL 16 (EXO_TEST_DSN): a database from before
 * tool statuses were encrypted keeps every value through steps 2 to 5 and
 * reads back equal after decryption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "boot.h"
#include "crypto.h"
#include "keyring.h"

static const char *const old_values[][2] = {
    {"{\"b\": 1, \"a\": [1, 2, {\"c\": null}]}", "{\"state\":\"running\"}"},
    {"{\"msg\": \"h\\u00e9llo \\u2603\", \"n\": 12.5}", NULL},
    {"[]", "\"just a string\""},
};

static PGconn *connect_test_db(void)
{
    const char *dsn_text = getenv("EXO_TEST_DSN");
    if (!dsn_text)
        fail_msg("EXO_TEST_DSN is not set: run under backend/tests/integration/with_pg.py");
    PGconn *c = PQconnectdb(dsn_text);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

static void run(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void make_old_schema(PGconn *c)
{
    run(c, "DROP SCHEMA public CASCADE");
    run(c, "CREATE SCHEMA public");
    run(c, "CREATE TABLE deployments (id bigserial PRIMARY KEY, name text NOT NULL)");
    run(c, "CREATE TABLE runtime_statuses (id bigserial PRIMARY KEY, deployment_id bigint NOT "
           "NULL, tool_status jsonb, last_tool_status jsonb)");
    run(c, "INSERT INTO deployments (name) VALUES ('d')");
    for (size_t i = 0; i < 3; i++) {
        const char *p[] = {old_values[i][0], old_values[i][1]};
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO runtime_statuses (deployment_id, tool_status, "
                                   "last_tool_status) VALUES (1, $1::jsonb, $2::jsonb)",
                                   2, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
}

static backend_config test_config(void)
{
    backend_config cfg;
    memset(&cfg, 0, sizeof cfg);
    crypto_random(cfg.key, sizeof cfg.key);
    cfg.retention_days = 90;
    cfg.premake_months = 3;
    return cfg;
}

static void assert_json_equal(const char *got, const char *want)
{
    cJSON *a = cJSON_Parse(got), *b = cJSON_Parse(want);
    assert_non_null(a);
    assert_non_null(b);
    if (!cJSON_Compare(a, b, 1))
        fail_msg("decrypted %s, was %s", got, want);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_jsonb_tool_status_survives_and_reads_back_equal(void **state)
{
    (void)state;
    PGconn *c = connect_test_db();
    make_old_schema(c);
    backend_config cfg = test_config();
    keyring *ring = NULL;
    boot_report r;
    exo_err err = EXO_ERR_INIT;
    if (boot_run(c, &cfg, time(NULL), &ring, &r, &err) != 0)
        fail_msg("boot: %s", err_msg(&err));
    assert_int_equal(r.encrypted, 5);

    PGresult *res = PQexec(c, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                              "attrelid = 'runtime_statuses'::regclass AND attname = 'tool_status'");
    assert_string_equal(PQgetvalue(res, 0, 0), "text");
    PQclear(res);

    res = PQexec(c, "SELECT id::text, tool_status, last_tool_status FROM runtime_statuses "
                    "ORDER BY id");
    assert_int_equal(PQntuples(res), 3);
    buf plain = BUF_INIT;
    for (int i = 0; i < 3; i++) {
        for (int col = 0; col < 2; col++) {
            const char *want = old_values[i][col];
            if (!want) {
                assert_true(PQgetisnull(res, i, col + 1));
                continue;
            }
            const char *stored = PQgetvalue(res, i, col + 1);
            assert_true(keyring_is_ciphertext(stored));
            buf_clear(&plain);
            const char *column = col ? "last_tool_status" : "tool_status";
            if (keyring_decrypt(ring, "runtime_statuses", column, PQgetvalue(res, i, 0), stored,
                                &plain, &err) != 0)
                fail_msg("decrypt: %s", err_msg(&err));
            assert_json_equal(plain.ptr, want);
        }
    }
    buf_free(&plain);
    PQclear(res);
    keyring_free(ring);

    /* The next boot finds nothing to migrate and nothing to encrypt. */
    assert_int_equal(boot_run(c, &cfg, time(NULL), &ring, &r, &err), 0);
    assert_int_equal(r.ddl, 0);
    assert_int_equal(r.encrypted, 0);
    keyring_free(ring);
    err_clear(&err);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonb_tool_status_survives_and_reads_back_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

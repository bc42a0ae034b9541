/* The contract's reader (types, defaults, bounds, messages), the values it
 * hands the templates, --help, and docs/database.md's environment table,
 * which must say what the table says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend_env.h"
#include "buf.h"
#include "names.h"

static const contract_env *var(contract_env_id id)
{
    return contract_env_get(id);
}

static void test_unset_or_empty_reads_the_default(void **state)
{
    (void)state;
    int n = -1;
    unsetenv("EXO_PARTITION_PREMAKE");
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_PARTITION_PREMAKE), &n, NULL), 0);
    assert_int_equal(n, 3);
    setenv("EXO_PARTITION_PREMAKE", "", 1);
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_PARTITION_PREMAKE), &n, NULL), 0);
    assert_int_equal(n, 3);
    setenv("EXO_PARTITION_PREMAKE", "12", 1);
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_PARTITION_PREMAKE), &n, NULL), 0);
    assert_int_equal(n, 12);
    unsetenv("EXO_PARTITION_PREMAKE");
}

static void test_numbers_out_of_bounds_name_the_variable(void **state)
{
    (void)state;
    exo_err err = EXO_ERR_INIT;
    int n = -1;
    setenv("EXO_PARTITION_PREMAKE", "25", 1);
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_PARTITION_PREMAKE), &n, &err), -1);
    assert_string_equal(err_msg(&err),
                        "EXO_PARTITION_PREMAKE=\"25\": want a whole number from 0 to 24");
    assert_int_equal(n, -1);
    err_clear(&err);
    setenv("EXO_PARTITION_PREMAKE", "3x", 1);
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_PARTITION_PREMAKE), &n, &err), -1);
    err_clear(&err);
    unsetenv("EXO_PARTITION_PREMAKE");

    int64_t bytes = 0;
    setenv("EXO_CAST_MAX_BYTES", "0", 1);
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_CAST_MAX_BYTES), &bytes, &err), -1);
    assert_non_null(strstr(err_msg(&err), "EXO_CAST_MAX_BYTES=\"0\""));
    err_clear(&err);
    setenv("EXO_CAST_MAX_BYTES", "9000000000", 1); /* past 32 bits */
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_CAST_MAX_BYTES), &bytes, &err), 0);
    assert_true(bytes == INT64_C(9000000000));
    unsetenv("EXO_CAST_MAX_BYTES");
}

static void test_durations_are_whole_seconds_of_at_least_one(void **state)
{
    (void)state;
    exo_err err = EXO_ERR_INIT;
    int64_t s = 0;
    unsetenv("EXO_MAINTENANCE_INTERVAL");
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_MAINTENANCE_INTERVAL), &s, NULL), 0);
    assert_true(s == 86400);
    setenv("EXO_MAINTENANCE_INTERVAL", "1h30m", 1);
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_MAINTENANCE_INTERVAL), &s, NULL), 0);
    assert_true(s == 5400);
    const char *bad[] = {"daily", "24", "10ms", "0h", "1d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("EXO_MAINTENANCE_INTERVAL", bad[i], 1);
        assert_int_equal(contract_env_read(var(CONTRACT_ENV_MAINTENANCE_INTERVAL), &s, &err), -1);
        assert_non_null(strstr(err_msg(&err), "EXO_MAINTENANCE_INTERVAL="));
        assert_non_null(strstr(err_msg(&err), "want a duration"));
        err_clear(&err);
    }
    unsetenv("EXO_MAINTENANCE_INTERVAL");
}

static void test_a_secret_is_never_read_or_echoed_here(void **state)
{
    (void)state;
    exo_err err = EXO_ERR_INIT;
    const char *dsn = NULL;
    setenv("EXO_DATABASE_DSN", "host=db password=hunter2", 1);
    assert_int_equal(contract_env_read(var(CONTRACT_ENV_DATABASE_DSN), &dsn, &err), -1);
    assert_null(dsn);
    assert_null(strstr(err_msg(&err), "hunter2"));
    err_clear(&err);
    unsetenv("EXO_DATABASE_DSN");
}

static void test_the_port_is_the_listen_address_default_s(void **state)
{
    (void)state;
    char want[16];
    snprintf(want, sizeof want, ":%d", contract_backend_port());
    assert_string_equal(var(CONTRACT_ENV_HTTP_ADDR)->def, want);
    assert_int_equal(contract_backend_port(), 8080);
}

static void test_template_values_are_typed(void **state)
{
    (void)state;
    cJSON *v = cJSON_CreateObject();
    contract_env_vars(v);
    contract_names_vars(v);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(v, "premakeMonths")));
    assert_int_equal(cJSON_GetObjectItem(v, "premakeMonthsDefault")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(v, "premakeMonthsMax")->valueint, 24);
    assert_string_equal(cJSON_GetObjectItem(v, "maintenanceIntervalDefault")->valuestring, "24h");
    assert_string_equal(cJSON_GetObjectItem(v, "databaseDSNSecret")->valuestring, "exo-database");
    assert_string_equal(cJSON_GetObjectItem(v, "databaseDSNSecretKey")->valuestring, "dsn");
    assert_int_equal(cJSON_GetObjectItem(v, "backendPort")->valueint, 8080);
    assert_int_equal(cJSON_GetObjectItem(v, "backendUID")->valueint, contract.backend_uid);
    assert_string_equal(cJSON_GetObjectItem(v, "postgresImage")->valuestring,
                        contract.postgres_image);
    /* Secrets have no value to render, only their Secret. */
    assert_null(cJSON_GetObjectItem(v, "databaseDSN"));
    cJSON_Delete(v);
}

static void test_help_lists_every_variable_within_79_columns(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    contract_env_usage(f);
    fclose(f);
    for (size_t i = 0; i < CONTRACT_ENV_COUNT; i++)
        assert_non_null(strstr(text, var((contract_env_id)i)->name));
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1)
        assert_true(nl - line <= 79);
    free(text);
}

static const char *type_name(contract_type t)
{
    static const char *const names[] = {
        [CONTRACT_STRING] = "text",     [CONTRACT_INT] = "integer",
        [CONTRACT_BYTES] = "bytes",     [CONTRACT_DURATION] = "duration",
        [CONTRACT_DSN] = "DSN, secret", [CONTRACT_KEY] = "key, secret",
        [CONTRACT_TOKEN] = "token, secret",
    };
    return names[t];
}

/* The row docs/database.md must hold for v. */
static void doc_row(buf *b, const contract_env *v)
{
    buf_printf(b, "| `%s` | %s | ", v->name, type_name(v->type));
    if (v->def && v->from != CONTRACT_WHEN_SPEC)
        buf_printf(b, "`%s`", v->def);
    else
        buf_puts(b, v->required ? "required" : "none");
    buf_puts(b, " | ");
    if ((v->type == CONTRACT_INT || v->type == CONTRACT_BYTES) && v->max < LLONG_MAX)
        buf_printf(b, "%lld to %lld", v->min, v->max);
    else if (v->type == CONTRACT_INT || v->type == CONTRACT_BYTES)
        buf_printf(b, "at least %lld", v->min);
    else if (v->type == CONTRACT_DURATION)
        buf_printf(b, "at least %llds", v->min);
    buf_puts(b, " | ");
    switch (v->from) {
    case CONTRACT_FROM_SECRET:
        buf_printf(b, "Secret `%s`, key `%s` (`spec.%s`)", v->secret, v->key, v->spec);
        break;
    case CONTRACT_FROM_SPEC:
        buf_printf(b, "`spec.%s`", v->spec);
        break;
    case CONTRACT_FROM_DEFAULT:
        buf_puts(b, "always the default");
        break;
    case CONTRACT_WHEN_SPEC:
        buf_printf(b, "`%s` when `spec.%s` is set", v->def, v->spec);
        break;
    }
    buf_printf(b, " | %s |", v->help);
}

static void test_docs_environment_table_is_the_contract(void **state)
{
    (void)state;
    FILE *f = fopen(EXO_SOURCE_DIR "/docs/database.md", "r");
    assert_non_null(f);
    buf doc = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&doc, chunk, n);
    fclose(f);
    const char *table = strstr(doc.ptr, "\n| variable | type | default | bounds |");
    assert_non_null(table);
    buf want = BUF_INIT;
    for (size_t i = 0; i < CONTRACT_ENV_COUNT; i++) {
        buf_clear(&want);
        doc_row(&want, var((contract_env_id)i));
        if (!strstr(table, want.ptr))
            fail_msg("docs/database.md's environment table lacks the row\n%s", want.ptr);
    }
    /* And nothing more: header, rule, one row per variable, then a blank line. */
    int rows = 0;
    for (const char *p = table + 1; *p == '|'; p = strchr(p, '\n') + 1)
        rows++;
    assert_int_equal(rows, 2 + CONTRACT_ENV_COUNT);
    buf_free(&want);
    buf_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_or_empty_reads_the_default),
        cmocka_unit_test(test_numbers_out_of_bounds_name_the_variable),
        cmocka_unit_test(test_durations_are_whole_seconds_of_at_least_one),
        cmocka_unit_test(test_a_secret_is_never_read_or_echoed_here),
        cmocka_unit_test(test_the_port_is_the_listen_address_default_s),
        cmocka_unit_test(test_template_values_are_typed),
        cmocka_unit_test(test_help_lists_every_variable_within_79_columns),
        cmocka_unit_test(test_docs_environment_table_is_the_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

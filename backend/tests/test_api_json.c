/* The checks and the printing of API bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_json.h"

static void assert_prints(const char *in, const char *want)
{
    cJSON *v = cJSON_Parse(in);
    assert_non_null(v);
    char *text = api_json_print(v);
    assert_string_equal(text, want);
    free(text);
    cJSON_Delete(v);
}

/* Found by fuzz_api_json: cJSON's printer turned 0.30000000000000004 into
 * 0.3 and 9007199254740991 into 9.00719925474099e+15 on their way into
 * jsonb. */
static void test_print_keeps_every_digit(void **state)
{
    (void)state;
    assert_prints("{\"a\":0.30000000000000004,\"b\":[9007199254740991,1.0000000000000002]}",
                  "{\"a\":0.30000000000000004,\"b\":[9007199254740991,1.0000000000000002]}");
    assert_prints("0.30000000000000004", "0.30000000000000004");
    assert_prints("[1, 2.5, -0, 1e300, \"x\", null, {\"k\": 3}]",
                  "[1,2.5,-0,1e+300,\"x\",null,{\"k\":3}]");
}

/* Found by fuzz_api_json: {"tool_status": 1e999} was read as infinity and
 * stored as null. */
static void test_numbers_past_a_double_are_refused(void **state)
{
    (void)state;
    static const json_field f[] = {{"tool_status", JF_JSON, true}, {0}};
    const char *bodies[] = {"{\"tool_status\": 1e999}", "{\"tool_status\": {\"a\": [1, -1e400]}}"};
    for (size_t i = 0; i < 2; i++) {
        cJSON *v = cJSON_Parse(bodies[i]);
        exo_err err = EXO_ERR_INIT;
        assert_int_equal(api_json_check(v, f, "", &err), -1);
        assert_non_null(strstr(err_msg(&err), "field \"tool_status\" must be JSON whose numbers"));
        err_clear(&err);
        cJSON_Delete(v);
    }
    cJSON *v = cJSON_Parse("{\"tool_status\": {\"a\": [1, 1.7e308, 1e-999]}}");
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(api_json_check(v, f, "", &err), 0);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_print_keeps_every_digit),
        cmocka_unit_test(test_numbers_past_a_double_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

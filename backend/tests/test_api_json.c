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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_print_keeps_every_digit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

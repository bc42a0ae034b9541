/* cli_cmd.c: command lines parsed into words and flags, ids checked,
 * times shown, query strings escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_cmd.h"

enum { OPT_A = CLI_OPT_GLOBAL_LAST, OPT_B };

static const struct option options[] = {
    CLI_GLOBAL_OPTIONS,
    {"aa", required_argument, NULL, OPT_A},
    {"bb", required_argument, NULL, OPT_B},
    {NULL, 0, NULL, 0},
};

static void test_words_and_flags_in_any_order(void **state)
{
    (void)state;
    char *argv[] = {"session", "--bb", "2", "list", "-o", "json", "x", "--aa=1", "--", "-y", NULL};
    cli_opts o;
    cli_opts_init(&o);
    cli_args a;
    assert_int_equal(cli_args_parse(&a, 10, argv, &o, options, "exo session", false), 0);
    assert_int_equal(a.npos, 3);
    assert_string_equal(a.pos[0], "list");
    assert_string_equal(a.pos[1], "x");
    assert_string_equal(a.pos[2], "-y");
    assert_string_equal(a.flag[OPT_A - CLI_OPT_GLOBAL_LAST], "1");
    assert_string_equal(a.flag[OPT_B - CLI_OPT_GLOBAL_LAST], "2");
    assert_int_equal(o.output, CLI_OUTPUT_JSON);
    assert_false(a.output_given);
    cli_args_free(&a);
}

static void test_output_as_a_file_name(void **state)
{
    (void)state;
    char *argv[] = {"recording", "download", "5", "-o", "out.cast", NULL};
    cli_opts o;
    cli_opts_init(&o);
    cli_args a;
    assert_int_equal(cli_args_parse(&a, 5, argv, &o, options, "exo recording", true), 0);
    assert_true(a.output_given);
    assert_string_equal(a.output_arg, "out.cast");
    assert_int_equal(o.output, CLI_OUTPUT_TABLE);
    cli_args_free(&a);
}

static void test_unknown_flag_is_a_usage_error(void **state)
{
    (void)state;
    char *argv[] = {"session", "list", "--bogus", NULL};
    cli_opts o;
    cli_opts_init(&o);
    cli_args a;
    assert_int_equal(cli_args_parse(&a, 3, argv, &o, options, "exo session", false),
                     CLI_EXIT_USAGE);
    cli_args_free(&a);
}

static void test_ids(void **state)
{
    (void)state;
    assert_int_equal(cli_check_id("ID", "1"), 0);
    assert_int_equal(cli_check_id("ID", "123456789012345678"), 0);
    static const char *const bad[] = {"",   "0",  "000", "-1",
                                      "+1", "1x", " 1",  "1234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cli_check_id("ID", bad[i]), CLI_EXIT_USAGE);
}

static void test_times_and_query_strings(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    cli_format_time(&b, "2027-01-15T10:00:00.123456Z");
    assert_string_equal(b.ptr, "2027-01-15 10:00:00 UTC");
    buf_clear(&b);
    cli_format_time(&b, "soon");
    assert_string_equal(b.ptr, "soon");
    buf_clear(&b);
    buf_puts(&b, "/api/v1/sessions");
    cli_query_add(&b, "since", "2027-01-15T10:00:00+01:00");
    cli_query_add(&b, "limit", "5");
    assert_string_equal(b.ptr, "/api/v1/sessions?since=2027-01-15T10%3A00%3A00%2B01%3A00&limit=5");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_and_flags_in_any_order),
        cmocka_unit_test(test_output_as_a_file_name),
        cmocka_unit_test(test_unknown_flag_is_a_usage_error),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_times_and_query_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

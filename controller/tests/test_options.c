/* exo-controller's flags: values, defaults, durations, one-line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

static int parse(options *o, exo_err *err, int argc, ...)
{
    char *argv[16] = {(char *)"exo-controller"};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return options_parse(o, argc, argv, err);
}

static void test_defaults_match_the_deployment_and_client_go(void **state)
{
    (void)state;
    options o;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(parse(&o, &err, 1), 0);
    assert_string_equal(o.health_addr, ":8081");
    assert_false(o.leader_elect);
    assert_int_equal(o.lease_ms, 15000);
    assert_int_equal(o.renew_deadline_ms, 10000);
    assert_int_equal(o.retry_ms, 2000);
    assert_int_equal(o.resync_ms, 600000);
    assert_null(o.kubeconfig);
    assert_null(o.ns);
}

static void test_both_flag_forms_are_accepted(void **state)
{
    (void)state;
    options o;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(parse(&o, &err, 9, "--health-addr=:9000", "--leader-elect", "--kubeconfig",
                           "/k", "--context=c", "--namespace", "ns", "--lease-duration=1m"),
                     0);
    assert_string_equal(o.health_addr, ":9000");
    assert_true(o.leader_elect);
    assert_string_equal(o.kubeconfig, "/k");
    assert_string_equal(o.context, "c");
    assert_string_equal(o.ns, "ns");
    assert_int_equal(o.lease_ms, 60000);
}

static void test_durations(void **state)
{
    (void)state;
    assert_int_equal(options_duration_ms("500ms"), 500);
    assert_int_equal(options_duration_ms("15s"), 15000);
    assert_int_equal(options_duration_ms("1h30m"), 5400000);
    assert_int_equal(options_duration_ms("15"), -1);
    assert_int_equal(options_duration_ms("s"), -1);
    assert_int_equal(options_duration_ms(""), -1);
}

static void test_bad_flags_name_the_flag(void **state)
{
    (void)state;
    options o;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(parse(&o, &err, 2, "--bogus"), -1);
    assert_non_null(strstr(err_msg(&err), "--bogus"));
    assert_int_equal(parse(&o, &err, 2, "--namespace"), -1);
    assert_non_null(strstr(err_msg(&err), "--namespace needs a value"));
    assert_int_equal(parse(&o, &err, 2, "--retry-period=soon"), -1);
    assert_non_null(strstr(err_msg(&err), "--retry-period"));
    assert_int_equal(parse(&o, &err, 2, "--log-level=loud"), -1);
    assert_non_null(strstr(err_msg(&err), "--log-level"));
    /* client-go's rule: renew deadline < lease duration, retry < deadline. */
    assert_int_equal(parse(&o, &err, 2, "--renew-deadline=20s"), -1);
    assert_non_null(strstr(err_msg(&err), "--renew-deadline"));
    assert_int_equal(parse(&o, &err, 2, "stray"), -1);
    assert_null(strchr(err_msg(&err), '\n'));
    err_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_the_deployment_and_client_go),
        cmocka_unit_test(test_both_flag_forms_are_accepted),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bad_flags_name_the_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

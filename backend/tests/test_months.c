/* Month arithmetic in UTC and durations: what partition
 * names and bounds, `maintain --now` and EXO_MAINTENANCE_INTERVAL rest on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "months.h"
#include "rfc3339.h"

static time_t at(const char *s)
{
    time_t t;
    assert_true(rfc3339_parse(s, &t));
    return t;
}

static void test_month_bounds_are_utc_whatever_the_local_zone(void **state)
{
    (void)state;
    setenv("TZ", "America/Los_Angeles", 1);
    tzset();
    /* 23:30 on Oct 31 in Los Angeles is already November in UTC. */
    month_t m = month_of(at("2026-10-31T23:30:00-07:00"));
    char lit[32], suffix[16];
    month_literal(m, lit);
    month_suffix(m, suffix);
    assert_string_equal(lit, "2026-11-01 00:00:00+00");
    assert_string_equal(suffix, "2026_11");
    assert_int_equal(month_start(m), at("2026-11-01T00:00:00Z"));
    month_literal(m + 2, lit);
    assert_string_equal(lit, "2027-01-01 00:00:00+00");
    unsetenv("TZ");
    tzset();
}

static void test_partition_names_parse_back(void **state)
{
    (void)state;
    month_t m;
    assert_true(month_from_partition_name("session_events_p2027_02", &m));
    assert_int_equal(m, 2027 * 12 + 1);
    assert_false(month_from_partition_name("session_events_default", &m));
    assert_false(month_from_partition_name("session_events_p2027_13", &m));
    assert_false(month_from_partition_name("session_events_p2027_2x", &m));
    assert_false(month_from_partition_name("x", &m));
}

static void test_durations_like_go(void **state)
{
    (void)state;
    assert_int_equal(config_parse_duration("24h"), 86400);
    assert_int_equal(config_parse_duration("1h30m"), 5400);
    assert_int_equal(config_parse_duration("45s"), 45);
    assert_int_equal(config_parse_duration("90m"), 5400);
    assert_int_equal(config_parse_duration(""), -1);
    assert_int_equal(config_parse_duration("24"), -1);
    assert_int_equal(config_parse_duration("10ms"), -1);
    assert_int_equal(config_parse_duration("0h"), -1);
    assert_int_equal(config_parse_duration("1d"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_month_bounds_are_utc_whatever_the_local_zone),
        cmocka_unit_test(test_partition_names_parse_back),
        cmocka_unit_test(test_durations_like_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

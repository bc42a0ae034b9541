/* The one duration parser: Go's time.ParseDuration, case by case from Go's
 * own table of good and bad inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "duration.h"

static void test_what_go_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ns;
    } good[] = {
        {"0", 0},
        {"5s", 5 * DURATION_S},
        {"30s", 30 * DURATION_S},
        {"1478s", 1478 * DURATION_S},
        {"-5s", -5 * DURATION_S},
        {"+5s", 5 * DURATION_S},
        {"-0", 0},
        {"+0", 0},
        {"5.0s", 5 * DURATION_S},
        {"5.6s", 5 * DURATION_S + 600 * DURATION_MS},
        {"5.s", 5 * DURATION_S},
        {".5s", 500 * DURATION_MS},
        {"1.0s", DURATION_S},
        {"1.00s", DURATION_S},
        {"1.004s", DURATION_S + 4 * DURATION_MS},
        {"100.00100s", 100 * DURATION_S + 1 * DURATION_MS},
        {"10ns", 10},
        {"11us", 11000},
        {"12\xc2\xb5s", 12000},
        {"12\xce\xbcs", 12000},
        {"13ms", 13 * DURATION_MS},
        {"14s", 14 * DURATION_S},
        {"15m", 15 * 60 * DURATION_S},
        {"16h", 16 * 3600 * DURATION_S},
        {"3h30m", (3 * 3600 + 30 * 60) * DURATION_S},
        {"10.5s4m", 4 * 60 * DURATION_S + 10 * DURATION_S + 500 * DURATION_MS},
        {"-2m3.4s", -(2 * 60 * DURATION_S + 3 * DURATION_S + 400 * DURATION_MS)},
        {"1h2m3s4ms5us6ns", 3600 * DURATION_S + 2 * 60 * DURATION_S + 3 * DURATION_S +
                                4 * DURATION_MS + 5000 + 6},
        {"39h9m14.425s", (39 * 3600 + 9 * 60 + 14) * DURATION_S + 425 * DURATION_MS},
        {"52763797000ns", 52763797000},
        {"0.3333333333333333333h", 20 * 60 * DURATION_S},
        {"9007199254740993ns", INT64_C(9007199254740993)},
        {"9223372036854775807ns", INT64_MAX},
        {"9223372036.854775807s", INT64_MAX},
        {"-9223372036854775808ns", INT64_MIN},
        {"0.100000000000000000000h", 6 * 60 * DURATION_S},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ns = 42;
        if (duration_parse(good[i].text, &ns) != 0)
            fail_msg("\"%s\" was refused", good[i].text);
        if (ns != good[i].ns)
            fail_msg("\"%s\": %lld ns, want %lld", good[i].text, (long long)ns,
                     (long long)good[i].ns);
    }
}

static void test_what_go_refuses(void **state)
{
    (void)state;
    static const char *bad[] = {"",     "3",       "-",        "s",      ".",      "-.",
                                ".s",   "+.s",     "1d",       "\x85\x85", "5 s",  " 5s",
                                "5s ",  "10x",     "5mx",      "1e3s",   "9223372036854775808ns",
                                "9223372036854775807ms", "-9223372036854775809ns",
                                "3000000h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns = 42;
        if (duration_parse(bad[i], &ns) == 0)
            fail_msg("\"%s\" was accepted as %lld ns", bad[i], (long long)ns);
        assert_int_equal(ns, 42);
    }
    assert_int_equal(duration_parse(NULL, &(int64_t){0}), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_go_accepts),
        cmocka_unit_test(test_what_go_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* RFC 3339 instants: what the backend's API bodies and `--now`, and the
 * Kubernetes client's credential expiry, rest on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rfc3339.h"

static time_t at(const char *s)
{
    time_t t;
    assert_true(rfc3339_parse(s, &t));
    return t;
}

static void test_rfc3339_offsets_and_fractions(void **state)
{
    (void)state;
    assert_int_equal(at("2027-01-15T10:00:00Z"), at("2027-01-15T11:30:00+01:30"));
    assert_int_equal(at("2027-01-15T10:00:00.123456Z"), at("2027-01-15T10:00:00Z"));
    time_t t;
    assert_false(rfc3339_parse("2027-01-15 10:00:00Z", &t));
    assert_false(rfc3339_parse("2027-01-15T10:00:00", &t));
    assert_false(rfc3339_parse("2027-13-15T10:00:00Z", &t));
    assert_false(rfc3339_parse("2027-01-15T10:00:00Zjunk", &t));
    char out[32];
    rfc3339_format(at("2027-01-15T11:30:00+01:30"), out);
    assert_string_equal(out, "2027-01-15T10:00:00Z");
}

/* Not RFC 3339 (signs or spaces in fixed-width fields), or refused by
 * PostgreSQL's timestamptz, which reads the same text when events are
 * inserted: refused here, it is a 400 and not a failed insert. */
static void test_rfc3339_refuses_what_postgres_refuses(void **state)
{
    (void)state;
    time_t t;
    assert_false(rfc3339_parse("2027-02-31T00:00:00Z", &t)); /* found by fuzz_api_json */
    assert_false(rfc3339_parse("2027-02-29T00:00:00Z", &t));
    assert_true(rfc3339_parse("2028-02-29T00:00:00Z", &t));
    assert_false(rfc3339_parse("2027-04-31T00:00:00Z", &t));
    assert_false(rfc3339_parse("0000-01-01T00:00:00Z", &t));
    assert_false(rfc3339_parse("2027-01-15T-1:00:00Z", &t));
    assert_false(rfc3339_parse("2027-01-15T10:00:-1Z", &t));
    assert_false(rfc3339_parse(" 202-01-15T10:00:00Z", &t));
    assert_false(rfc3339_parse("+202-01-15T10:00:00Z", &t));
    assert_false(rfc3339_parse("2027-01-15T10:00:00+16:00", &t));
    assert_false(rfc3339_parse("2027-01-15T10:00:00+1:00", &t));
    assert_true(rfc3339_parse("2027-01-15T10:00:00-15:59", &t));
    assert_true(rfc3339_parse("2027-12-31T23:59:60z", &t));
}

/* Found by fuzz_api_json: year 315 was formatted as "315-01-15T10:00:00Z". */
static void test_rfc3339_format_pads_the_year(void **state)
{
    (void)state;
    char out[32];
    rfc3339_format(at("0315-01-15T10:00:00Z"), out);
    assert_string_equal(out, "0315-01-15T10:00:00Z");
    rfc3339_format(at("0001-01-01T00:00:00Z"), out);
    assert_string_equal(out, "0001-01-01T00:00:00Z");
}

/* Kubernetes writes exec credentials' expiry and Lease times with
 * fractions and offsets; the old private parser of the kubeconfig loader
 * took these, and so must the shared one. */
static void test_kubernetes_timestamps(void **state)
{
    (void)state;
    assert_int_equal(at("2024-05-01T10:00:00.5+02:00"), at("2024-05-01T08:00:00Z"));
    assert_int_equal(at("2026-01-01T00:00:16.000000Z"), at("2026-01-01T00:00:16Z"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_offsets_and_fractions),
        cmocka_unit_test(test_rfc3339_refuses_what_postgres_refuses),
        cmocka_unit_test(test_rfc3339_format_pads_the_year),
        cmocka_unit_test(test_kubernetes_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

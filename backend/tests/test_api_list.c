/* A listing's query parameters: defaults, bounds, the filters a route
 * takes and no others, and messages that name the parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_list.h"

#define ALL (API_LIST_DEPLOYMENT | API_LIST_TIME)

static void assert_refused(const api_list_param *p, size_t n, unsigned filters, const char *word)
{
    api_list_query q;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(api_list_parse(&q, p, n, filters, &e), -1);
    if (!strstr(err_msg(&e), word))
        fail_msg("\"%s\" lacks \"%s\"", err_msg(&e), word);
    assert_null(strchr(err_msg(&e), '\n'));
    err_clear(&e);
}

static void test_defaults_without_parameters(void **state)
{
    (void)state;
    api_list_query q;
    assert_int_equal(api_list_parse(&q, NULL, 0, ALL, NULL), 0);
    assert_int_equal(q.limit, API_LIST_DEFAULT_LIMIT);
    assert_int_equal(q.cursor, 0);
    assert_int_equal(q.deployment_id, 0);
    assert_null(q.since);
    assert_null(q.until);
}

static void test_every_parameter_read(void **state)
{
    (void)state;
    const api_list_param p[] = {{"limit", "1000"},
                                {"cursor", "123456789012345678"},
                                {"deployment_id", "7"},
                                {"since", "2027-01-15T10:00:00Z"},
                                {"until", "2027-01-15T12:00:00+01:00"}};
    api_list_query q;
    assert_int_equal(api_list_parse(&q, p, 5, ALL, NULL), 0);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.cursor, 123456789012345678LL);
    assert_int_equal(q.deployment_id, 7);
    assert_string_equal(q.since, "2027-01-15T10:00:00Z");
    assert_string_equal(q.until, "2027-01-15T12:00:00+01:00");
}

static void test_limit_bounds(void **state)
{
    (void)state;
    static const char *const bad[] = {"0", "1001", "-1", "+5", " 5", "5x", "", "1e3",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const api_list_param p[] = {{"limit", bad[i]}};
        assert_refused(p, 1, ALL, *bad[i] ? "\"limit\" must be 1 to 1000" : "needs a value");
    }
    const api_list_param one[] = {{"limit", "1"}};
    api_list_query q;
    assert_int_equal(api_list_parse(&q, one, 1, 0, NULL), 0);
    assert_int_equal(q.limit, 1);
}

static void test_filters_only_where_the_route_takes_them(void **state)
{
    (void)state;
    const api_list_param dep[] = {{"deployment_id", "1"}};
    assert_refused(dep, 1, 0, "unknown query parameter \"deployment_id\"");
    assert_refused(dep, 1, API_LIST_TIME, "unknown query parameter \"deployment_id\"");
    const api_list_param since[] = {{"since", "2027-01-15T10:00:00Z"}};
    assert_refused(since, 1, API_LIST_DEPLOYMENT, "unknown query parameter \"since\"");
    const api_list_param other[] = {{"offset", "5"}};
    assert_refused(other, 1, ALL, "unknown query parameter \"offset\"");
    /* Found by fuzz_api_list: a name holding a newline (%0A in the URL)
     * made a message of two lines. */
    const api_list_param newline[] = {{"c\n\"x", "1"}};
    assert_refused(newline, 1, ALL, "unknown query parameter \"c\\x0a\\x22x\"");
}

static void test_bad_values_named(void **state)
{
    (void)state;
    const api_list_param twice[] = {{"cursor", "5"}, {"cursor", "6"}};
    assert_refused(twice, 2, ALL, "query parameter \"cursor\" is given twice");
    const api_list_param novalue[] = {{"since", NULL}};
    assert_refused(novalue, 1, ALL, "query parameter \"since\" needs a value");
    const api_list_param cursor[] = {{"cursor", "0"}};
    assert_refused(cursor, 1, ALL, "\"cursor\" is not a cursor");
    const api_list_param dep[] = {{"deployment_id", "-3"}};
    assert_refused(dep, 1, ALL, "\"deployment_id\" must be a positive whole number");
    const api_list_param feb30[] = {{"until", "2027-02-30T00:00:00Z"}};
    assert_refused(feb30, 1, ALL, "query parameter \"until\" must be an RFC 3339 time");
    const api_list_param nozone[] = {{"since", "2027-01-15T10:00:00"}};
    assert_refused(nozone, 1, ALL, "query parameter \"since\" must be an RFC 3339 time");
    const api_list_param order[] = {{"until", "2027-01-15T10:00:00Z"},
                                    {"since", "2027-01-15T10:00:01Z"}};
    assert_refused(order, 2, ALL, "\"since\" is after \"until\"");
    /* The same instant written with two offsets is an empty range, not an error. */
    const api_list_param same[] = {{"since", "2027-01-15T10:00:00Z"},
                                   {"until", "2027-01-15T11:00:00+01:00"}};
    api_list_query q;
    assert_int_equal(api_list_parse(&q, same, 2, ALL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_without_parameters),
        cmocka_unit_test(test_every_parameter_read),
        cmocka_unit_test(test_limit_bounds),
        cmocka_unit_test(test_filters_only_where_the_route_takes_them),
        cmocka_unit_test(test_bad_values_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

static void test_namespace_must_be_a_dns_label(void **state)
{
    (void)state;
    assert_true(validate_dns_label("exo"));
    assert_true(validate_dns_label("exo-prod-1"));
    assert_true(validate_dns_label("a"));
    const char *bad[] = {"", "Exo", "exo_1", "-exo", "exo-", "exo.prod",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(validate_dns_label(bad[i]));
}

static void test_storage_class_must_be_a_dns_subdomain(void **state)
{
    (void)state;
    assert_true(validate_dns_subdomain("gp3"));
    assert_true(validate_dns_subdomain("fast.ssd.example.com"));
    assert_false(validate_dns_subdomain("a..b"));
    assert_false(validate_dns_subdomain(".a"));
    assert_false(validate_dns_subdomain("a."));
    assert_false(validate_dns_subdomain("Fast"));
    assert_false(validate_dns_subdomain(""));
}

static void test_image_references(void **state)
{
    (void)state;
    const char *good[] = {
        "postgres:16-alpine",
        "ghcr.io/exo-dev/exo-backend:0.1.0",
        "localhost:5000/exo/backend",
        "registry.example.com:443/a/b/c:v1.2.3",
        "exo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "[::1]:5000/exo:dev",
    };
    const char *bad[] = {"", "Exo:1", "exo:", "exo::1", "exo:tag with space", "a//b",
                         "exo@sha256:short", "-exo", "exo/", ":tag", "exo\n:1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(validate_image(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(validate_image(bad[i]));
}

static void assert_size(const char *in, const char *want)
{
    char *got = validate_size(in);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_sizes_are_canonicalised_like_the_api_server(void **state)
{
    (void)state;
    assert_size("20Gi", "20Gi");
    assert_size("2048Mi", "2Gi");
    assert_size("1000Ki", "1000Ki");
    assert_size("1000M", "1G");
    assert_size("1500M", "1500M");
    assert_size("5000", "5k");
    assert_size("1024", "1024");
    assert_size("1048576Ki", "1Gi");
}

static void test_malformed_sizes_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "0", "0Gi", "20GB", "1.5Gi", "-1Gi", "Gi", "20 Gi", "20gi",
                         "99999999999999999999999Gi"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_size(bad[i], NULL);
}

static void test_pull_policy_follows_the_api_server_default(void **state)
{
    (void)state;
    assert_string_equal(validate_default_pull_policy("exo:1.0"), "IfNotPresent");
    assert_string_equal(validate_default_pull_policy("exo"), "Always");
    assert_string_equal(validate_default_pull_policy("exo:latest"), "Always");
    assert_string_equal(validate_default_pull_policy("localhost:5000/exo"), "Always");
    assert_string_equal(validate_default_pull_policy("localhost:5000/exo:2"), "IfNotPresent");
    assert_string_equal(
        validate_default_pull_policy(
            "exo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        "IfNotPresent");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_namespace_must_be_a_dns_label),
        cmocka_unit_test(test_storage_class_must_be_a_dns_subdomain),
        cmocka_unit_test(test_image_references),
        cmocka_unit_test(test_sizes_are_canonicalised_like_the_api_server),
        cmocka_unit_test(test_malformed_sizes_are_refused),
        cmocka_unit_test(test_pull_policy_follows_the_api_server_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

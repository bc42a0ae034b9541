#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

static void test_encode_matches_rfc4648_vectors(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *got = base64_encode(in[i], strlen(in[i]));
        assert_string_equal(got, want[i]);
        free(got);
    }
}

static void test_decode_strips_padding_and_keeps_binary(void **state)
{
    (void)state;
    const unsigned char raw[] = {0, 255, 10, 0, 'x'};
    for (size_t n = 0; n <= sizeof raw; n++) {
        char *text = base64_encode(raw, n);
        unsigned char *back = NULL;
        size_t len = 99;
        assert_int_equal(base64_decode(text, &back, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, raw, n);
        free(back);
        free(text);
    }
}

static void test_decode_refuses_what_is_not_base64(void **state)
{
    (void)state;
    unsigned char *out = NULL;
    size_t len = 0;
    assert_int_equal(base64_decode("abc", &out, &len), -1);
    assert_int_equal(base64_decode("ab!d", &out, &len), -1);
    /* Padding only at the end, at most two: "====" once decoded to a
     * length of SIZE_MAX. */
    assert_int_equal(base64_decode("====", &out, &len), -1);
    assert_int_equal(base64_decode("a===", &out, &len), -1);
    assert_int_equal(base64_decode("Zg==Zg==", &out, &len), -1);
    assert_int_equal(base64_decode("Z=g=", &out, &len), -1);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_matches_rfc4648_vectors),
        cmocka_unit_test(test_decode_strips_padding_and_keeps_binary),
        cmocka_unit_test(test_decode_refuses_what_is_not_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

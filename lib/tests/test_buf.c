#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"

static void test_empty_buf_is_an_empty_string(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    assert_string_equal(b.ptr, "");
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_append_grows_past_initial_capacity(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%03d", i);
    assert_int_equal(b.len, 3000);
    assert_memory_equal(b.ptr + 2997, "999", 3);
    assert_int_equal(b.ptr[b.len], '\0');
    buf_free(&b);
}

static void test_binary_data_keeps_its_nul_bytes(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    buf_append(&b, "a\0b", 3);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, "a\0b", 3);
    buf_free(&b);
}

static void test_detach_hands_over_and_empties(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    char *empty = buf_detach(&b);
    assert_string_equal(empty, "");
    free(empty);
    buf_puts(&b, "hello");
    char *s = buf_detach(&b);
    assert_string_equal(s, "hello");
    assert_int_equal(b.len, 0);
    free(s);
    buf_free(&b);
}

static void test_err_prefix_adds_context(void **state)
{
    (void)state;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(err_set(&e, "bad value %d", 7), -1);
    err_prefix(&e, "--flag");
    assert_string_equal(err_msg(&e), "--flag: bad value 7");
    err_clear(&e);
    assert_string_equal(err_msg(&e), "unknown error");
}

static void test_capped_append_past_the_cap_fails_and_keeps_the_contents(void **state)
{
    (void)state;
    buf b;
    buf_init_max(&b, 8);
    assert_int_equal(buf_puts(&b, "12345"), 0);
    assert_int_equal(buf_append(&b, "6789", 4), BUF_TOO_LARGE);
    assert_string_equal(b.ptr, "12345");
    assert_int_equal(b.len, 5);
    /* Still usable: what fits goes in, up to exactly the cap. */
    assert_int_equal(buf_append(&b, "678", 3), 0);
    assert_string_equal(b.ptr, "12345678");
    assert_int_equal(buf_putc(&b, '9'), BUF_TOO_LARGE);
    assert_int_equal(buf_printf(&b, "%d", 9), BUF_TOO_LARGE);
    assert_int_equal(buf_puts(&b, ""), 0);
    assert_string_equal(b.ptr, "12345678");
    buf_free(&b);
}

static void test_cap_bounds_the_allocation_too(void **state)
{
    (void)state;
    buf b;
    buf_init_max(&b, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_putc(&b, 'x'), 0);
    /* Doubling from 64 would take 128: the cap and its NUL are the most. */
    assert_true(b.cap <= 101);
    assert_int_equal(b.len, 100);
    assert_int_equal(b.ptr[100], '\0');
    buf_free(&b);
}

static void test_a_huge_append_to_a_capped_buffer_does_not_wrap(void **state)
{
    (void)state;
    buf b;
    buf_init_max(&b, 16);
    assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_int_equal(buf_append(&b, "", SIZE_MAX), BUF_TOO_LARGE);
    assert_int_equal(buf_append(&b, "", SIZE_MAX - 2), BUF_TOO_LARGE);
    assert_string_equal(b.ptr, "abc");
    buf_free(&b);
}

static void test_the_cap_survives_clear_free_and_detach(void **state)
{
    (void)state;
    buf b;
    buf_init_max(&b, 4);
    buf_puts(&b, "abcd");
    buf_clear(&b);
    assert_int_equal(buf_puts(&b, "abcde"), BUF_TOO_LARGE);
    buf_puts(&b, "ab");
    free(buf_detach(&b));
    assert_int_equal(buf_puts(&b, "abcde"), BUF_TOO_LARGE);
    buf_free(&b);
    assert_int_equal(b.max, 4);
    assert_int_equal(buf_puts(&b, "abcde"), BUF_TOO_LARGE);
    assert_string_equal(b.ptr, "");
    buf_free(&b);
}

static void test_no_cap_never_fails(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    char block[4096];
    memset(block, 'y', sizeof block);
    for (int i = 0; i < 512; i++)
        assert_int_equal(buf_append(&b, block, sizeof block), 0);
    assert_int_equal(b.len, 512 * sizeof block);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_buf_is_an_empty_string),
        cmocka_unit_test(test_append_grows_past_initial_capacity),
        cmocka_unit_test(test_binary_data_keeps_its_nul_bytes),
        cmocka_unit_test(test_detach_hands_over_and_empties),
        cmocka_unit_test(test_err_prefix_adds_context),
        cmocka_unit_test(test_capped_append_past_the_cap_fails_and_keeps_the_contents),
        cmocka_unit_test(test_cap_bounds_the_allocation_too),
        cmocka_unit_test(test_a_huge_append_to_a_capped_buffer_does_not_wrap),
        cmocka_unit_test(test_the_cap_survives_clear_free_and_detach),
        cmocka_unit_test(test_no_cap_never_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

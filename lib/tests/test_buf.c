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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_buf_is_an_empty_string),
        cmocka_unit_test(test_append_grows_past_initial_capacity),
        cmocka_unit_test(test_binary_data_keeps_its_nul_bytes),
        cmocka_unit_test(test_detach_hands_over_and_empties),
        cmocka_unit_test(test_err_prefix_adds_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* table.c: aligned columns, widths in characters, server text escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"

/* What table_print writes, as a string the caller frees. */
static char *printed(const table *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    table_print(t, f);
    fclose(f);
    return text;
}

static void test_columns_are_as_wide_as_their_widest_cell(void **state)
{
    (void)state;
    static const char *const head[] = {"ID", "NAME", "CREATED"};
    table *t = table_new(3, head);
    table_add_row(t, (const char *const[]){"7", "production", "2024"});
    table_add_row(t, (const char *const[]){"12345", "x", "2025"});
    char *out = printed(t);
    assert_string_equal(out, "ID      NAME         CREATED\n"
                             "7       production   2024\n"
                             "12345   x            2025\n");
    free(out);
    table_free(t);
}

static void test_width_counts_characters_not_bytes(void **state)
{
    (void)state;
    static const char *const head[] = {"NAME", "X"};
    table *t = table_new(2, head);
    table_add_row(t, (const char *const[]){"h\xc3\xa9llo", "1"}); /* héllo: 5 characters */
    char *out = printed(t);
    assert_string_equal(out, "NAME    X\nh\xc3\xa9llo   1\n");
    free(out);
    table_free(t);
}

static void test_control_characters_are_written_out(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    table_escape(&b, "a\nb\tc\x1b[2Jd\x7f"
                     "e\xc2\x9b"
                     "f\xc3\xa9");
    assert_string_equal(b.ptr, "a\\nb\\tc\\x1b[2Jd\\x7fe\\u009bf\xc3\xa9");
    buf_free(&b);
}

static void test_many_rows_grow_the_table(void **state)
{
    (void)state;
    static const char *const head[] = {"N"};
    table *t = table_new(1, head);
    for (int i = 0; i < 100; i++)
        table_add_row(t, (const char *const[]){"row"});
    char *out = printed(t);
    assert_int_equal(strlen(out), 2 + 100 * 4);
    free(out);
    table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_are_as_wide_as_their_widest_cell),
        cmocka_unit_test(test_width_counts_characters_not_bytes),
        cmocka_unit_test(test_control_characters_are_written_out),
        cmocka_unit_test(test_many_rows_grow_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

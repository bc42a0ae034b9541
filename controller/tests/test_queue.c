/* The work queue: de-duplication, due times, per-key backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "queue.h"

static void test_a_key_added_twice_is_reconciled_once(void **state)
{
    (void)state;
    queue *q = queue_new(5, 1000);
    queue_add(q, "exo/a", 0);
    queue_add(q, "exo/a", 0);
    queue_add(q, "exo/b", 0);
    queue_add(q, "exo/a", 1);
    assert_int_equal(queue_len(q), 2);
    char *k = queue_pop(q, 10);
    assert_string_equal(k, "exo/a");
    free(k);
    k = queue_pop(q, 10);
    assert_string_equal(k, "exo/b");
    free(k);
    assert_null(queue_pop(q, 10));
    assert_int_equal(queue_next_due(q, 10), -1);
    queue_free(q);
}

static void test_adding_a_waiting_key_keeps_the_earlier_due_time(void **state)
{
    (void)state;
    queue *q = queue_new(5, 1000);
    queue_add_after(q, "exo/a", 0, 500);
    assert_int_equal(queue_next_due(q, 0), 500);
    queue_add_after(q, "exo/a", 0, 100);
    assert_int_equal(queue_next_due(q, 0), 100);
    queue_add_after(q, "exo/a", 0, 900); /* later: ignored */
    assert_int_equal(queue_next_due(q, 0), 100);
    assert_null(queue_pop(q, 99));
    char *k = queue_pop(q, 100);
    assert_string_equal(k, "exo/a");
    free(k);
    queue_free(q);
}

static void test_backoff_doubles_per_failure_up_to_the_cap_and_forget_resets(void **state)
{
    (void)state;
    queue *q = queue_new(5, 40);
    long want[] = {5, 10, 20, 40, 40, 40};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(queue_add_backoff(q, "exo/a", 0), want[i]);
        free(queue_pop(q, 1000));
    }
    assert_int_equal(queue_failures(q, "exo/a"), 6);
    /* Another key has its own count. */
    assert_int_equal(queue_add_backoff(q, "exo/b", 0), 5);
    free(queue_pop(q, 1000));
    queue_forget(q, "exo/a");
    assert_int_equal(queue_failures(q, "exo/a"), 0);
    assert_int_equal(queue_add_backoff(q, "exo/a", 0), 5);
    queue_free(q);
}

static void test_a_backed_off_key_is_not_due_before_its_delay(void **state)
{
    (void)state;
    queue *q = queue_new(100, 1000);
    queue_add_backoff(q, "exo/a", 1000);
    assert_null(queue_pop(q, 1099));
    assert_int_equal(queue_next_due(q, 1050), 50);
    /* An event for the key meanwhile makes it due at once (level-triggered:
     * the new state may well reconcile). */
    queue_add(q, "exo/a", 1050);
    char *k = queue_pop(q, 1050);
    assert_string_equal(k, "exo/a");
    free(k);
    queue_free(q);
}

static void test_many_keys_pop_in_due_order(void **state)
{
    (void)state;
    queue *q = queue_new(5, 1000);
    char key[32];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "exo/k%03d", i);
        queue_add_after(q, key, 0, 500 - i);
    }
    assert_int_equal(queue_len(q), 500);
    char *k = queue_pop(q, 1);
    assert_string_equal(k, "exo/k499");
    free(k);
    int n = 1;
    while ((k = queue_pop(q, 10000)) != NULL) {
        free(k);
        n++;
    }
    assert_int_equal(n, 500);
    queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_key_added_twice_is_reconciled_once),
        cmocka_unit_test(test_adding_a_waiting_key_keeps_the_earlier_due_time),
        cmocka_unit_test(test_backoff_doubles_per_failure_up_to_the_cap_and_forget_resets),
        cmocka_unit_test(test_a_backed_off_key_is_not_due_before_its_delay),
        cmocka_unit_test(test_many_keys_pop_in_due_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

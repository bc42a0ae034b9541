/* Status conditions: what each situation reports, and that
 * lastTransitionTime moves only when a condition's status changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "jpath.h"
#include "status.h"

static const cJSON *cond_of(const cJSON *st, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach (c, jpath_get(st, "conditions")) {
        if (strcmp(jpath_str(c, "type", ""), type) == 0)
            return c;
    }
    fail_msg("no condition %s", type);
    return NULL;
}

static const char *st_of(const cJSON *st, const char *type)
{
    return jpath_str(cond_of(st, type), "status", "");
}

static cJSON *deployment(int gen, int seen, int replicas, int ready, int updated)
{
    cJSON *d = fx_json("{'metadata':{'name':'exo-backend'},'spec':{},'status':{}}");
    cJSON_AddNumberToObject(cJSON_GetObjectItem(d, "metadata"), "generation", gen);
    cJSON_AddNumberToObject(cJSON_GetObjectItem(d, "spec"), "replicas", replicas);
    cJSON *s = cJSON_GetObjectItem(d, "status");
    cJSON_AddNumberToObject(s, "observedGeneration", seen);
    cJSON_AddNumberToObject(s, "replicas", replicas);
    cJSON_AddNumberToObject(s, "readyReplicas", ready);
    cJSON_AddNumberToObject(s, "availableReplicas", ready);
    cJSON_AddNumberToObject(s, "updatedReplicas", updated);
    return d;
}

static cJSON *derive(const status_inputs *in, const cJSON *old, const char *now, ecp_status *st)
{
    status_derive(st, in);
    return status_json(st, old, now);
}

static void test_rolled_out_backend_is_ready_and_not_reconciling(void **state)
{
    (void)state;
    cJSON *d = deployment(2, 2, 1, 1, 1);
    status_inputs in = {.generation = 3, .replicas = 1, .deployment = d};
    ecp_status st = {0};
    cJSON *j = derive(&in, NULL, "2026-01-01T00:00:00Z", &st);
    assert_string_equal(st_of(j, "Ready"), "True");
    assert_string_equal(st_of(j, "Reconciling"), "False");
    assert_string_equal(st_of(j, "Stalled"), "False");
    assert_string_equal(st_of(j, "DatabaseConfigured"), "True");
    assert_string_equal(st_of(j, "BackendAvailable"), "True");
    assert_int_equal(jpath_int(j, "observedGeneration", 0), 3);
    assert_int_equal(jpath_int(j, "readyReplicas", 0), 1);
    assert_int_equal(jpath_int(cond_of(j, "Ready"), "observedGeneration", 0), 3);
    status_free(&st);
    cJSON_Delete(j);
    cJSON_Delete(d);
}

static void test_rollout_in_progress_is_reconciling(void **state)
{
    (void)state;
    /* The Deployment controller has not yet seen the new generation. */
    cJSON *d = deployment(3, 2, 1, 1, 1);
    status_inputs in = {.generation = 1, .replicas = 1, .deployment = d};
    ecp_status st = {0};
    cJSON *j = derive(&in, NULL, "t0", &st);
    assert_string_equal(st_of(j, "Ready"), "False");
    assert_string_equal(st_of(j, "Reconciling"), "True");
    assert_string_equal(st_of(j, "Stalled"), "False");
    assert_string_equal(jpath_str(cond_of(j, "BackendAvailable"), "reason", ""), "RollingOut");
    status_free(&st);
    cJSON_Delete(j);
    cJSON_Delete(d);
}

static void test_missing_secret_stalls_with_reason_and_no_value(void **state)
{
    (void)state;
    problem db = {"SecretNotFound",
                  (char *)"Secret exo-database not found (spec.database.dsnSecretRef)"};
    status_inputs in = {.generation = 1, .replicas = 1, .database = &db};
    ecp_status st = {0};
    cJSON *j = derive(&in, NULL, "t0", &st);
    assert_string_equal(st_of(j, "Stalled"), "True");
    assert_string_equal(st_of(j, "Ready"), "False");
    assert_string_equal(st_of(j, "Reconciling"), "False");
    assert_string_equal(st_of(j, "DatabaseConfigured"), "False");
    assert_string_equal(jpath_str(cond_of(j, "Ready"), "reason", ""), "SecretNotFound");
    assert_string_equal(jpath_str(cond_of(j, "BackendAvailable"), "reason", ""),
                        "DeploymentNotFound");
    assert_true(status_is_warning(&st, COND_STALLED));
    assert_true(status_is_warning(&st, COND_READY));
    /* On a new resource only the refusal makes an Event. */
    assert_true(status_eventful(&st, NULL, COND_STALLED));
    assert_false(status_eventful(&st, NULL, COND_READY));
    assert_false(status_eventful(&st, NULL, COND_DATABASE));
    status_free(&st);
    cJSON_Delete(j);
}

static void test_progress_deadline_exceeded_stalls(void **state)
{
    (void)state;
    cJSON *d = deployment(1, 1, 1, 0, 1);
    cJSON *conds = cJSON_AddArrayToObject(cJSON_GetObjectItem(d, "status"), "conditions");
    cJSON_AddItemToArray(
        conds,
        fx_json("{'type':'Progressing','status':'False','reason':'ProgressDeadlineExceeded'}"));
    status_inputs in = {.generation = 1, .replicas = 1, .deployment = d};
    ecp_status st = {0};
    cJSON *j = derive(&in, NULL, "t0", &st);
    assert_string_equal(st_of(j, "Stalled"), "True");
    assert_string_equal(jpath_str(cond_of(j, "Stalled"), "reason", ""), "ProgressDeadlineExceeded");
    status_free(&st);
    cJSON_Delete(j);
    cJSON_Delete(d);
}

static void test_transition_time_moves_only_when_status_changes(void **state)
{
    (void)state;
    cJSON *d = deployment(1, 1, 1, 0, 1);
    status_inputs in = {.generation = 1, .replicas = 1, .deployment = d};
    ecp_status st = {0};
    cJSON *first = derive(&in, NULL, "t0", &st);
    /* Same situation later: nothing changes, so the status is identical
     * and the controller writes nothing. */
    cJSON *again = derive(&in, first, "t1", &st);
    assert_true(cJSON_Compare(first, again, true));
    for (int i = 0; i < COND_N; i++)
        assert_false(status_changed(&st, first, (cond_id)i));
    /* A message change (more replicas ready) keeps the time. */
    cJSON_Delete(d);
    d = deployment(1, 1, 2, 1, 2);
    in.deployment = d;
    in.replicas = 2;
    cJSON *more = derive(&in, first, "t2", &st);
    assert_string_equal(jpath_str(cond_of(more, "Ready"), "lastTransitionTime", ""), "t0");
    assert_false(cJSON_Compare(first, more, true));
    /* Ready becomes True: its time moves, Stalled's does not. */
    cJSON_Delete(d);
    d = deployment(1, 1, 2, 2, 2);
    in.deployment = d;
    cJSON *ready = derive(&in, more, "t3", &st);
    assert_string_equal(st_of(ready, "Ready"), "True");
    assert_string_equal(jpath_str(cond_of(ready, "Ready"), "lastTransitionTime", ""), "t3");
    assert_string_equal(jpath_str(cond_of(ready, "Reconciling"), "lastTransitionTime", ""), "t3");
    assert_string_equal(jpath_str(cond_of(ready, "Stalled"), "lastTransitionTime", ""), "t0");
    assert_true(status_changed(&st, more, COND_READY));
    assert_false(status_changed(&st, more, COND_STALLED));
    assert_true(status_eventful(&st, more, COND_READY));
    assert_false(status_eventful(&st, more, COND_STALLED));
    assert_false(status_is_warning(&st, COND_READY));
    status_free(&st);
    cJSON_Delete(first);
    cJSON_Delete(again);
    cJSON_Delete(more);
    cJSON_Delete(ready);
    cJSON_Delete(d);
}

static void test_scaled_to_zero_is_ready(void **state)
{
    (void)state;
    cJSON *d = deployment(2, 2, 0, 0, 0);
    status_inputs in = {.generation = 2, .replicas = 0, .deployment = d};
    ecp_status st = {0};
    cJSON *j = derive(&in, NULL, "t0", &st);
    assert_string_equal(st_of(j, "Ready"), "True");
    assert_string_equal(jpath_str(cond_of(j, "BackendAvailable"), "reason", ""), "ScaledToZero");
    status_free(&st);
    cJSON_Delete(j);
    cJSON_Delete(d);
}

/* A spec change of a 0-replica backend: the Deployment's generation moves
 * ahead of its observedGeneration for a moment. No pod exists, so nothing
 * rolls out: Ready stays True and its lastTransitionTime stays put, so no
 * Event is sent. */
static void test_scaled_to_zero_stays_ready_through_a_spec_change(void **state)
{
    (void)state;
    cJSON *before = deployment(4, 4, 0, 0, 0), *during = deployment(5, 4, 0, 0, 0);
    status_inputs in = {.generation = 7, .replicas = 0, .deployment = before};
    ecp_status st = {0};
    cJSON *old = derive(&in, NULL, "t0", &st);
    in.generation = 8;
    in.deployment = during;
    cJSON *j = derive(&in, old, "t1", &st);
    assert_string_equal(st_of(j, "Ready"), "True");
    assert_string_equal(st_of(j, "Reconciling"), "False");
    assert_string_equal(jpath_str(cond_of(j, "Ready"), "lastTransitionTime", ""), "t0");
    for (int id = 0; id < COND_N; id++)
        assert_false(status_eventful(&st, old, (cond_id)id));
    status_free(&st);
    cJSON_Delete(j);
    cJSON_Delete(old);
    cJSON_Delete(before);
    cJSON_Delete(during);
}

/* Going from 2 replicas to 0: pods still exist until the Deployment
 * controller removes them, and that is a real transition. */
static void test_scaling_down_to_zero_is_reconciling_until_the_pods_are_gone(void **state)
{
    (void)state;
    cJSON *d = deployment(5, 5, 2, 2, 2);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "spec"), "replicas", cJSON_CreateNumber(0));
    status_inputs in = {.generation = 3, .replicas = 0, .deployment = d};
    ecp_status st = {0};
    cJSON *j = derive(&in, NULL, "t0", &st);
    assert_string_equal(st_of(j, "Ready"), "False");
    assert_string_equal(st_of(j, "Reconciling"), "True");
    status_free(&st);
    cJSON_Delete(j);
    cJSON_Delete(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rolled_out_backend_is_ready_and_not_reconciling),
        cmocka_unit_test(test_rollout_in_progress_is_reconciling),
        cmocka_unit_test(test_missing_secret_stalls_with_reason_and_no_value),
        cmocka_unit_test(test_progress_deadline_exceeded_stalls),
        cmocka_unit_test(test_transition_time_moves_only_when_status_changes),
        cmocka_unit_test(test_scaled_to_zero_is_ready),
        cmocka_unit_test(test_scaled_to_zero_stays_ready_through_a_spec_change),
        cmocka_unit_test(test_scaling_down_to_zero_is_reconciling_until_the_pods_are_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

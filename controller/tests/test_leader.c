/* Leader election: the decision on a Lease record (pure), then the
 * requests a candidate makes against the scripted fake API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_api.h"
#include "fixtures.h"
#include "jpath.h"
#include "leader.h"

#define LEASE_PATH "/apis/coordination.k8s.io/v1/namespaces/exo/leases/exo-controller"
#define LEASES_PATH "/apis/coordination.k8s.io/v1/namespaces/exo/leases"

static void test_a_free_lease_is_taken(void **state)
{
    (void)state;
    lease_observed o = {0};
    assert_int_equal(leader_decide(&o, NULL, NULL, 15, "me", 0), LEASE_TAKE);
    assert_int_equal(leader_decide(&o, "", "t", 15, "me", 0), LEASE_TAKE);
    leader_observed_free(&o);
}

static void test_our_own_lease_is_renewed(void **state)
{
    (void)state;
    lease_observed o = {0};
    assert_int_equal(leader_decide(&o, "me", "t0", 15, "me", 0), LEASE_RENEW);
    leader_observed_free(&o);
}

static void test_a_held_lease_is_waited_for_until_it_goes_unrenewed(void **state)
{
    (void)state;
    lease_observed o = {0};
    /* Measured from when this candidate first saw the record, on its own
     * clock: the holder's clock does not matter. */
    assert_int_equal(leader_decide(&o, "other", "t0", 15, "me", 100000), LEASE_WAIT);
    assert_int_equal(leader_decide(&o, "other", "t0", 15, "me", 114999), LEASE_WAIT);
    assert_int_equal(leader_decide(&o, "other", "t0", 15, "me", 115000), LEASE_TAKE);
    leader_observed_free(&o);
}

static void test_a_renewal_restarts_the_wait(void **state)
{
    (void)state;
    lease_observed o = {0};
    assert_int_equal(leader_decide(&o, "other", "t0", 15, "me", 0), LEASE_WAIT);
    assert_int_equal(leader_decide(&o, "other", "t1", 15, "me", 10000), LEASE_WAIT);
    assert_int_equal(leader_decide(&o, "other", "t1", 15, "me", 20000), LEASE_WAIT);
    assert_int_equal(leader_decide(&o, "other", "t1", 15, "me", 25000), LEASE_TAKE);
    /* A new holder is a new record too. */
    assert_int_equal(leader_decide(&o, "third", "t1", 15, "me", 26000), LEASE_WAIT);
    leader_observed_free(&o);
}

/* The candidates' clock: a test sets the time; with a step, every reading
 * is that much later than the one before, as on a machine where each
 * request takes that long. */
static long fake_now, fake_step;

static long fake_clock(void)
{
    long t = fake_now;
    fake_now += fake_step;
    return t;
}

static void script(const char *method, const char *path, int status, cJSON *body)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "method", method);
    cJSON_AddStringToObject(s, "path", path);
    cJSON_AddNumberToObject(s, "status", status);
    cJSON_AddItemToObject(s, "body", body ? body : cJSON_CreateObject());
    fake_api_script_json(s);
    cJSON_Delete(s);
}

static cJSON *lease(const char *holder, const char *renew)
{
    cJSON *l =
        fx_json("{'apiVersion':'coordination.k8s.io/v1','kind':'Lease',"
                "'metadata':{'name':'exo-controller','namespace':'exo','resourceVersion':'7'},"
                "'spec':{'leaseDurationSeconds':15,'leaseTransitions':2}}");
    cJSON *spec = cJSON_GetObjectItem(l, "spec");
    cJSON_AddStringToObject(spec, "holderIdentity", holder);
    cJSON_AddStringToObject(spec, "renewTime", renew);
    return l;
}

static cJSON *not_found(void)
{
    return fx_json(
        "{'kind':'Status','apiVersion':'v1','status':'Failure','reason':'NotFound','code':404}");
}

static void test_no_lease_is_created_with_us_as_holder(void **state)
{
    (void)state;
    kube_config *cfg;
    kube_client *c;
    fake_api_reset();
    fake_api_client(&cfg, &c);
    leader_opts o = {"exo", "exo-controller", "pod-a", 15000, 10000, 2000, fake_clock};
    leader *l = leader_new(c, &o);
    script("GET", LEASE_PATH, 404, not_found());
    script("POST", LEASES_PATH, 201, NULL);
    exo_err err = EXO_ERR_INIT;
    fake_now = 0;
    assert_int_equal(leader_try(l, &err), 1);
    assert_true(leader_is_leader(l));
    cJSON *reqs = fake_api_requests();
    cJSON *body = cJSON_Parse(jpath_str(cJSON_GetArrayItem(reqs, 1), "body", ""));
    assert_string_equal(jpath_str(body, "spec.holderIdentity", ""), "pod-a");
    assert_int_equal(jpath_int(body, "spec.leaseDurationSeconds", 0), 15);
    assert_non_null(jpath_get(body, "spec.renewTime"));
    cJSON_Delete(body);
    cJSON_Delete(reqs);
    /* Losing it: not renewed for longer than the renew deadline. */
    assert_false(leader_lost(l, 10000));
    assert_true(leader_lost(l, 10001));
    leader_free(l);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* On a slow machine (a first TLS handshake under load, a read retried
 * after a timeout) the read can take longer than the renew deadline: the
 * Lease just written still counts from when the write was sent (the
 * leader used to count from before the read and exit at once with "leader
 * election lost"). */
static void test_leadership_counts_from_the_write_not_the_read(void **state)
{
    (void)state;
    kube_config *cfg;
    kube_client *c;
    fake_api_reset();
    fake_api_client(&cfg, &c);
    leader_opts o = {"exo", "exo-controller", "pod-a", 15000, 10000, 2000, fake_clock};
    leader *l = leader_new(c, &o);
    script("GET", LEASE_PATH, 404, not_found());
    script("POST", LEASES_PATH, 201, NULL);
    exo_err err = EXO_ERR_INIT;
    fake_now = 0;
    fake_step = 30000; /* the read returns at 0 s, the write is sent at 30 s */
    assert_int_equal(leader_try(l, &err), 1);
    fake_step = 0;
    assert_false(leader_lost(l, 40000));
    assert_true(leader_lost(l, 40001));
    leader_free(l);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_a_lease_held_by_another_is_left_alone_then_taken_with_its_rv(void **state)
{
    (void)state;
    kube_config *cfg;
    kube_client *c;
    fake_api_reset();
    fake_api_client(&cfg, &c);
    leader_opts o = {"exo", "exo-controller", "pod-b", 15000, 10000, 2000, fake_clock};
    leader *l = leader_new(c, &o);
    exo_err err = EXO_ERR_INIT;
    script("GET", LEASE_PATH, 200, lease("pod-a", "2026-01-01T00:00:00.000000Z"));
    fake_now = 1000;
    assert_int_equal(leader_try(l, &err), 0);
    assert_false(leader_is_leader(l));
    assert_int_equal(fake_api_writes(), 0);
    /* Unrenewed for the lease duration: take it, with the resourceVersion
     * read, so that a racing candidate's write fails. */
    script("GET", LEASE_PATH, 200, lease("pod-a", "2026-01-01T00:00:00.000000Z"));
    script("PUT", LEASE_PATH, 200, NULL);
    fake_now = 16000;
    assert_int_equal(leader_try(l, &err), 1);
    cJSON *reqs = fake_api_requests();
    cJSON *body = cJSON_Parse(jpath_str(cJSON_GetArrayItem(reqs, 2), "body", ""));
    assert_string_equal(jpath_str(body, "spec.holderIdentity", ""), "pod-b");
    assert_string_equal(jpath_str(body, "metadata.resourceVersion", ""), "7");
    assert_int_equal(jpath_int(body, "spec.leaseTransitions", 0), 3);
    assert_non_null(jpath_get(body, "spec.acquireTime"));
    cJSON_Delete(body);
    cJSON_Delete(reqs);
    /* Release on shutdown: an empty holder, so a standby takes over now. */
    fake_api_reset();
    script("GET", LEASE_PATH, 200, lease("pod-b", "2026-01-01T00:00:16.000000Z"));
    script("PUT", LEASE_PATH, 200, NULL);
    assert_int_equal(leader_release(l, &err), 0);
    assert_false(leader_is_leader(l));
    reqs = fake_api_requests();
    body = cJSON_Parse(jpath_str(cJSON_GetArrayItem(reqs, 1), "body", ""));
    assert_string_equal(jpath_str(body, "spec.holderIdentity", "x"), "");
    cJSON_Delete(body);
    cJSON_Delete(reqs);
    leader_free(l);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* A fresh fake and candidate "pod-b" for the 409 tests. */
static leader *candidate_b(kube_config **cfg, kube_client **c)
{
    fake_api_reset();
    fake_api_client(cfg, c);
    leader_opts o = {"exo", "exo-controller", "pod-b", 15000, 10000, 2000, fake_clock};
    return leader_new(*c, &o);
}

static cJSON *conflict(void)
{
    return fx_json(
        "{'kind':'Status','apiVersion':'v1','status':'Failure','reason':'Conflict','code':409}");
}

static void test_a_lost_race_409_means_not_leader(void **state)
{
    (void)state;
    kube_config *cfg;
    kube_client *c;
    leader *l = candidate_b(&cfg, &c);
    exo_err err = EXO_ERR_INIT;
    script("GET", LEASE_PATH, 200, lease("", "2026-01-01T00:00:00.000000Z"));
    script("PUT", LEASE_PATH, 409, conflict());
    fake_now = 0;
    assert_int_equal(leader_try(l, &err), 0);
    assert_false(leader_is_leader(l));
    leader_free(l);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* leader_try for pod-b renewing its own Lease when the PUT gets 409; the
 * Lease read back then holds what the PUT sent (echo) or the older renewal.
 * Returns leader_try's result; *leading whether it holds the Lease. */
static int renew_after_409(bool echo, bool *leading)
{
    kube_config *cfg;
    kube_client *c;
    leader *l = candidate_b(&cfg, &c);
    exo_err err = EXO_ERR_INIT;
    script("GET", LEASE_PATH, 200, lease("pod-b", "2026-01-01T00:00:00.000000Z"));
    script("PUT", LEASE_PATH, 409, conflict());
    if (echo) {
        cJSON *s = fx_json("{'method':'GET','body_of':'PUT'}");
        cJSON_AddStringToObject(s, "path", LEASE_PATH);
        fake_api_script_json(s);
        cJSON_Delete(s);
    } else {
        script("GET", LEASE_PATH, 200, lease("pod-b", "2026-01-01T00:00:00.000000Z"));
    }
    fake_now = 0;
    int rc = leader_try(l, &err);
    *leading = leader_is_leader(l);
    if (rc > 0)
        assert_null(err.msg);
    err_clear(&err);
    leader_free(l);
    kube_client_free(c);
    kube_config_free(cfg);
    return rc;
}

/* The client retries a PUT whose answer was lost; the retry then gets 409
 * from the first attempt's write. The Lease read back holds our renewal:
 * still the leader (it used to exit with "leader election lost"). */
static void test_a_409_from_our_own_lost_write_keeps_the_lease(void **state)
{
    (void)state;
    bool leading;
    assert_int_equal(renew_after_409(true, &leading), 1);
    assert_true(leading);
}

/* Read back, the Lease names us but with an older renewal: not our write,
 * so not a renewal either. */
static void test_a_409_with_an_older_renewal_of_ours_is_not_a_renewal(void **state)
{
    (void)state;
    bool leading;
    assert_int_equal(renew_after_409(false, &leading), 0);
    assert_false(leading);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_free_lease_is_taken),
        cmocka_unit_test(test_our_own_lease_is_renewed),
        cmocka_unit_test(test_a_held_lease_is_waited_for_until_it_goes_unrenewed),
        cmocka_unit_test(test_a_renewal_restarts_the_wait),
        cmocka_unit_test(test_no_lease_is_created_with_us_as_holder),
        cmocka_unit_test(test_leadership_counts_from_the_write_not_the_read),
        cmocka_unit_test(test_a_lease_held_by_another_is_left_alone_then_taken_with_its_rv),
        cmocka_unit_test(test_a_lost_race_409_means_not_leader),
        cmocka_unit_test(test_a_409_from_our_own_lost_write_keeps_the_lease),
        cmocka_unit_test(test_a_409_with_an_older_renewal_of_ours_is_not_a_renewal),
    };
    return cmocka_run_group_tests(tests, fake_api_start, fake_api_stop);
}

/* The rules install relies on, without a cluster: durations, the ApplySet
 * id and group-kinds, readiness, and reading a rules review. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "applyset.h"
#include "backend_env.h"
#include "buf.h"
#include "cluster.h"
#include "flags.h"
#include "preflight.h"
#include "readiness.h"

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        long ms;
    } good[] = {{"10m", 600000}, {"90s", 90000}, {"1h30m", 5400000}, {"500ms", 500},
                {"1.5s", 1500},  {"2h0m5s", 7205000}, {"168h", 604800000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        long ms = -1;
        assert_int_equal(cluster_parse_duration(good[i].text, &ms), 0);
        assert_int_equal(ms, good[i].ms);
    }
    /* A bare number needs a unit, as in kubectl --timeout (Go's parser). */
    const char *bad[] = {"", "0", "0s", "10", "45", "m", "10x", "-5s", "10 m", "s10", "1d",
                         "169h", "1e3s", "500us"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long ms = -1;
        if (cluster_parse_duration(bad[i], &ms) == 0)
            fail_msg("\"%s\" was accepted as %ld ms", bad[i], ms);
    }
}

/* --retention-days' help spells the backend's bound; the parser reads it
 * from the contract. They must agree. */
static void test_retention_help_says_the_contracts_bound(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    flags f;
    flags_init(&f, FLAGS_RENDER);
    flags_usage(out, &f, "", "");
    flags_free(&f);
    fclose(out);
    char want[32];
    snprintf(want, sizeof want, "1 to %lld", (long long)contract_env_get(CONTRACT_ENV_RETENTION_DAYS)->max);
    if (!strstr(text, want))
        fail_msg("render --help lacks \"%s\"", want);
    free(text);
}

static void test_applyset_id_is_kubectls(void **state)
{
    (void)state;
    /* base64url(sha256("exo-install.exo.ConfigMap.")), computed with Python's
     * hashlib, in kubectl's "applyset-%s-v1". */
    char *id = applyset_id("exo");
    assert_string_equal(id, "applyset-kEpa0DKOVu52IAArCwxe7pVw_mPwpVR9eCgeMMKT-oY-v1");
    /* A label value: at most 63 characters. */
    assert_true(strlen(id) <= 63);
    free(id);
}

static cJSON *parse(const char *json)
{
    cJSON *v = cJSON_Parse(json);
    assert_non_null(v);
    return v;
}

static void test_group_kinds_merge_sorted_without_cluster_scoped(void **state)
{
    (void)state;
    cJSON *docs = parse("["
                        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"exo\"}},"
                        "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"a\",\"namespace\":\"exo\"}},"
                        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"b\",\"namespace\":\"exo\"}},"
                        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"c\",\"namespace\":\"exo\"}},"
                        "{\"apiVersion\":\"exo.dev/v1alpha1\",\"kind\":\"ExoControlPlane\",\"metadata\":{\"name\":\"exo\",\"namespace\":\"exo\"}}"
                        "]");
    char *gks = applyset_group_kinds(docs, NULL);
    assert_string_equal(gks, "ExoControlPlane.exo.dev,Secret,StatefulSet.apps");
    free(gks);
    gks = applyset_group_kinds(docs, "Service,StatefulSet.apps,,ConfigMap");
    assert_string_equal(gks, "ConfigMap,ExoControlPlane.exo.dev,Secret,Service,StatefulSet.apps");
    free(gks);
    cJSON_Delete(docs);
    assert_true(applyset_kept_kind("Secret"));
    assert_true(applyset_kept_kind("PersistentVolumeClaim"));
    assert_false(applyset_kept_kind("StatefulSet.apps"));
}

static void check(const char *json, bool want, const char *why_part)
{
    cJSON *live = parse(json);
    bool ready = !want;
    buf why = BUF_INIT;
    readiness_of(live, &ready, &why);
    if (ready != want || !strstr(why.ptr ? why.ptr : "", why_part))
        fail_msg("%s: ready=%d why=\"%s\", want ready=%d and \"%s\"", json, ready,
                 why.ptr ? why.ptr : "", want, why_part);
    buf_free(&why);
    cJSON_Delete(live);
}

static void test_readiness_rules(void **state)
{
    (void)state;
    check("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":1},"
          "\"status\":{\"observedGeneration\":2,\"replicas\":1,\"readyReplicas\":1,"
          "\"updatedReplicas\":1,\"availableReplicas\":1}}",
          true, "1/1 ready");
    /* Ready pods of the old generation are not a finished rollout. */
    check("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":1},"
          "\"status\":{\"observedGeneration\":2,\"replicas\":1,\"readyReplicas\":1,"
          "\"updatedReplicas\":1,\"availableReplicas\":1}}",
          false, "not yet observed");
    /* An old pod still running beside the new one. */
    check("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":1},"
          "\"status\":{\"observedGeneration\":2,\"replicas\":2,\"readyReplicas\":1,"
          "\"updatedReplicas\":1,\"availableReplicas\":1}}",
          false, "1/1 ready");
    check("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":1},"
          "\"status\":{\"observedGeneration\":1,\"replicas\":1,\"updatedReplicas\":1,"
          "\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\","
          "\"reason\":\"ProgressDeadlineExceeded\"}]}}",
          false, "progress deadline exceeded");
    check("{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":1},"
          "\"status\":{\"observedGeneration\":1,\"readyReplicas\":1,\"currentRevision\":\"a\","
          "\"updateRevision\":\"b\"}}",
          false, "rolling out");
    check("{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":1},"
          "\"status\":{\"observedGeneration\":1,\"readyReplicas\":1,\"currentRevision\":\"b\","
          "\"updateRevision\":\"b\"}}",
          true, "1/1 ready");
    check("{\"kind\":\"CustomResourceDefinition\",\"status\":{\"conditions\":["
          "{\"type\":\"Established\",\"status\":\"True\"}]}}",
          true, "established");
    check("{\"kind\":\"ExoControlPlane\",\"metadata\":{\"generation\":1}}", false,
          "is exo-controller running?");
    check("{\"kind\":\"ExoControlPlane\",\"metadata\":{\"generation\":1},\"status\":{"
          "\"observedGeneration\":1,\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
          "\"reason\":\"SecretMissing\",\"message\":\"Secret exo-database not found\"}]}}",
          false, "Ready=False SecretMissing: Secret exo-database not found");
    check("{\"kind\":\"ExoControlPlane\",\"metadata\":{\"generation\":2},\"status\":{"
          "\"observedGeneration\":1,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
          "\"reason\":\"Available\"}]}}",
          false, "older generation");
    check("{\"kind\":\"ExoControlPlane\",\"metadata\":{\"generation\":2},\"status\":{"
          "\"observedGeneration\":2,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
          "\"reason\":\"Available\"}]}}",
          true, "Ready=True Available");
}

static void test_rules_review(void **state)
{
    (void)state;
    cJSON *rules = parse("["
                         "{\"verbs\":[\"get\",\"create\",\"patch\"],\"apiGroups\":[\"\"],"
                         "\"resources\":[\"secrets\",\"configmaps\"]},"
                         "{\"verbs\":[\"*\"],\"apiGroups\":[\"apps\"],\"resources\":[\"*\"]},"
                         "{\"verbs\":[\"patch\"],\"apiGroups\":[\"rbac.authorization.k8s.io\"],"
                         "\"resources\":[\"roles\"],\"resourceNames\":[\"exo-controller\"]}"
                         "]");
    assert_true(preflight_rules_allow(rules, "", "secrets", "create"));
    assert_false(preflight_rules_allow(rules, "", "secrets", "delete"));
    assert_false(preflight_rules_allow(rules, "", "pods", "get"));
    assert_true(preflight_rules_allow(rules, "apps", "deployments", "delete"));
    /* A rule for named objects cannot allow creating one. */
    assert_false(preflight_rules_allow(rules, "rbac.authorization.k8s.io", "roles", "patch"));
    cJSON_Delete(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_retention_help_says_the_contracts_bound),
        cmocka_unit_test(test_applyset_id_is_kubectls),
        cmocka_unit_test(test_group_kinds_merge_sorted_without_cluster_scoped),
        cmocka_unit_test(test_readiness_rules),
        cmocka_unit_test(test_rules_review),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

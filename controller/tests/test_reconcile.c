/* reconcile_one against the scripted fake API server: what it writes, and
 * above all that a reconcile finding nothing to change writes nothing. The
 * stores stand in for the informers' caches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend_objects.h"
#include "fake_api.h"
#include "fixtures.h"
#include "informer.h"
#include "jpath.h"
#include "reconcile.h"
#include "refs.h"
#include "store.h"

#define DEPLOY_PATH "/apis/apps/v1/namespaces/exo/deployments/exo-backend"
#define SERVICE_PATH "/api/v1/namespaces/exo/services/exo-backend"
#define STATUS_PATH "/apis/exo.dev/v1alpha1/namespaces/exo/exocontrolplanes/exo/status"
#define EVENTS_PATH "/api/v1/namespaces/exo/events"

typedef struct {
    kube_config *cfg;
    kube_client *c;
    store *ecps, *deps, *svcs, *secrets, *cms, *pvcs;
    reconciler r;
} env;

static void put_secret(env *e, const char *name, const char *key, const char *value)
{
    cJSON *s = fx_secret(name, key, value);
    informer_hash_secret(s);
    cJSON_Delete(store_put(e->secrets, s));
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    fake_api_reset();
    fake_api_client(&e->cfg, &e->c);
    e->ecps = store_new();
    e->deps = store_new();
    e->svcs = store_new();
    e->secrets = store_new();
    e->cms = store_new();
    e->pvcs = store_new();
    store_put(e->ecps, fx_ecp());
    put_secret(e, "exo-database", "dsn", "host=db user=exo password=hunter2");
    put_secret(e, "exo-encryption", "key", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=");
    put_secret(e, "exo-bootstrap", "token", "tok-0123456789abcdef0123456789abcdef");
    store_put(e->pvcs, fx_pvc("exo-casts", "ReadWriteOnce"));
    e->r = (reconciler){.c = e->c,
                        .ecps = e->ecps,
                        .deployments = e->deps,
                        .services = e->svcs,
                        .secrets = e->secrets,
                        .configmaps = e->cms,
                        .pvcs = e->pvcs,
                        .identity = "test",
                        .fixed_now = "2026-01-01T00:00:00Z"};
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    store_free(e->ecps);
    store_free(e->deps);
    store_free(e->svcs);
    store_free(e->secrets);
    store_free(e->cms);
    store_free(e->pvcs);
    kube_client_free(e->c);
    kube_config_free(e->cfg);
    free(e);
    return 0;
}

/* What the API server would answer to an apply of want: the object plus
 * defaults and status, a resourceVersion. ready: the rollout is done. */
static cJSON *as_server_has_it(const cJSON *want, const char *rv, bool ready)
{
    cJSON *o = cJSON_Duplicate(want, true);
    cJSON *md = cJSON_GetObjectItem(o, "metadata");
    cJSON_AddStringToObject(md, "resourceVersion", rv);
    cJSON_AddNumberToObject(md, "generation", 1);
    cJSON_AddStringToObject(md, "uid", "dep-uid");
    cJSON *spec = cJSON_GetObjectItem(o, "spec");
    cJSON_AddNumberToObject(spec, "revisionHistoryLimit", 10);
    cJSON_AddNumberToObject(spec, "progressDeadlineSeconds", 600);
    cJSON *c = cJSON_GetArrayItem(jpath_get(o, "spec.template.spec.containers"), 0);
    if (c) {
        cJSON_AddStringToObject(c, "terminationMessagePath", "/dev/termination-log");
        cJSON_AddStringToObject(c, "imagePullPolicy", "IfNotPresent");
        cJSON_AddNumberToObject((cJSON *)jpath_get(c, "readinessProbe"), "successThreshold", 1);
        cJSON *st = cJSON_AddObjectToObject(o, "status");
        cJSON_AddNumberToObject(st, "observedGeneration", 1);
        cJSON_AddNumberToObject(st, "replicas", 1);
        cJSON_AddNumberToObject(st, "updatedReplicas", 1);
        cJSON_AddNumberToObject(st, "readyReplicas", ready ? 1 : 0);
        cJSON_AddNumberToObject(st, "availableReplicas", ready ? 1 : 0);
    } else {
        cJSON_AddStringToObject(spec, "clusterIP", "10.96.0.10");
        cJSON_AddStringToObject(spec, "sessionAffinity", "None");
    }
    return o;
}

static cJSON *desired_deployment(env *e)
{
    refs_result refs;
    const cJSON *ecp = store_get(e->ecps, "exo/exo");
    refs_check(&refs, ecp, e->secrets, e->cms, e->pvcs);
    backend_inputs in = {refs.checksum, refs.recreate};
    cJSON *d = backend_deployment(ecp, &in);
    refs_free(&refs);
    return d;
}

static void script(const char *method, const char *path, int status, cJSON *body, int times)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "method", method);
    cJSON_AddStringToObject(s, "path", path);
    cJSON_AddNumberToObject(s, "status", status);
    cJSON_AddNumberToObject(s, "times", times);
    cJSON_AddItemToObject(s, "body", body ? body : cJSON_CreateObject());
    fake_api_script_json(s);
    cJSON_Delete(s);
}

static int count(const cJSON *reqs, const char *method, const char *path)
{
    int n = 0;
    const cJSON *r;
    cJSON_ArrayForEach (r, reqs) {
        if (strcmp(jpath_str(r, "method", ""), method) == 0 &&
            strcmp(jpath_str(r, "path", ""), path) == 0)
            n++;
    }
    return n;
}

static const cJSON *find(const cJSON *reqs, const char *method, const char *path)
{
    const cJSON *r;
    cJSON_ArrayForEach (r, reqs) {
        if (strcmp(jpath_str(r, "method", ""), method) == 0 &&
            strcmp(jpath_str(r, "path", ""), path) == 0)
            return r;
    }
    fail_msg("no %s %s", method, path);
    return NULL;
}

/* The status the controller sent, put on the cached resource as the watch
 * would bring it. */
static void take_status(env *e, const cJSON *reqs)
{
    cJSON *body = cJSON_Parse(jpath_str(find(reqs, "PATCH", STATUS_PATH), "body", ""));
    assert_non_null(body);
    cJSON *ecp = cJSON_Duplicate(store_get(e->ecps, "exo/exo"), true);
    cJSON_DeleteItemFromObject(ecp, "status");
    cJSON_AddItemToObject(ecp, "status", cJSON_DetachItemFromObject(body, "status"));
    cJSON_Delete(body);
    cJSON_Delete(store_put(e->ecps, ecp));
}

/* Brings everything to the steady state: applied, rolled out, status
 * written. */
static void converge(env *e)
{
    cJSON *want = desired_deployment(e);
    script("PATCH", DEPLOY_PATH, 200, as_server_has_it(want, "20", true), 1);
    cJSON *svc = backend_service(store_get(e->ecps, "exo/exo"));
    script("PATCH", SERVICE_PATH, 200, as_server_has_it(svc, "21", true), 1);
    script("PATCH", STATUS_PATH, 200, NULL, 1);
    script("POST", EVENTS_PATH, 201, NULL, 10);
    exo_err err = EXO_ERR_INIT;
    if (reconcile_one(&e->r, "exo/exo", &err) < 0)
        fail_msg("%s", err_msg(&err));
    cJSON *reqs = fake_api_requests();
    take_status(e, reqs);
    cJSON_Delete(reqs);
    cJSON_Delete(want);
    cJSON_Delete(svc);
    fake_api_reset();
}

static void test_first_reconcile_applies_both_then_writes_status_and_events(void **state)
{
    env *e = *state;
    converge(e);
    /* converge checked nothing itself: look at the counts. */
    assert_int_equal(e->r.counts.applies, 2);
    assert_int_equal(e->r.counts.status_writes, 1);
    /* A first status is not a transition: no Event, unless it is a refusal. */
    assert_int_equal(e->r.counts.events, 0);
    const cJSON *st = jpath_get(store_get(e->ecps, "exo/exo"), "status");
    assert_int_equal(jpath_int(st, "observedGeneration", 0), 1);
    assert_int_equal(jpath_int(st, "readyReplicas", 0), 1);
    assert_string_equal(jpath_str(cJSON_GetArrayItem(jpath_get(st, "conditions"), 0), "status", ""),
                        "True");
}

static void test_apply_is_server_side_forced_with_the_field_manager(void **state)
{
    env *e = *state;
    cJSON *want = desired_deployment(e);
    script("PATCH", DEPLOY_PATH, 200, as_server_has_it(want, "20", false), 1);
    script("PATCH", SERVICE_PATH, 200, NULL, 1);
    script("PATCH", STATUS_PATH, 200, NULL, 1);
    script("POST", EVENTS_PATH, 201, NULL, 10);
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), 0);
    cJSON *reqs = fake_api_requests();
    const cJSON *apply = find(reqs, "PATCH", DEPLOY_PATH);
    assert_string_equal(jpath_str(apply, "headers.content-type", ""),
                        "application/apply-patch+yaml");
    assert_string_equal(cJSON_GetArrayItem(jpath_get(apply, "query.fieldManager"), 0)->valuestring,
                        "exo-controller");
    assert_string_equal(cJSON_GetArrayItem(jpath_get(apply, "query.force"), 0)->valuestring,
                        "true");
    /* No request carries a secret value. */
    char *all = cJSON_PrintUnformatted(reqs);
    assert_null(strstr(all, "hunter2"));
    assert_null(strstr(all, "aG9zdD1kYi")); /* base64 of "host=db" */
    free(all);
    /* Not rolled out yet: Reconciling, not Ready. */
    cJSON *body = cJSON_Parse(jpath_str(find(reqs, "PATCH", STATUS_PATH), "body", ""));
    const cJSON *ready = cJSON_GetArrayItem(jpath_get(body, "status.conditions"), 0);
    assert_string_equal(jpath_str(ready, "status", ""), "False");
    assert_string_equal(jpath_str(ready, "reason", ""), "Progressing");
    cJSON_Delete(body);
    cJSON_Delete(reqs);
    cJSON_Delete(want);
}

static void test_noop_reconcile_sends_no_write(void **state)
{
    env *e = *state;
    converge(e);
    /* As a relist stores them: items of a list have no apiVersion or kind. */
    store *stores[] = {e->deps, e->svcs, e->ecps};
    const char *keys[] = {"exo/exo-backend", "exo/exo-backend", "exo/exo"};
    for (int i = 0; i < 3; i++) {
        cJSON *o = cJSON_Duplicate(store_get(stores[i], keys[i]), true);
        cJSON_DeleteItemFromObject(o, "apiVersion");
        cJSON_DeleteItemFromObject(o, "kind");
        cJSON_Delete(store_put(stores[i], o));
    }
    unsigned long before = reconcile_writes(&e->r);
    exo_err err = EXO_ERR_INIT;
    for (int i = 0; i < 3; i++)
        assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), 0);
    assert_int_equal(reconcile_writes(&e->r), before);
    cJSON *reqs = fake_api_requests();
    assert_int_equal(cJSON_GetArraySize(reqs), 0); /* not even a read: all from the caches */
    cJSON_Delete(reqs);
}

static void test_hand_edit_of_the_deployment_is_put_right(void **state)
{
    env *e = *state;
    converge(e);
    cJSON *edited = cJSON_Duplicate(store_get(e->deps, "exo/exo-backend"), true);
    cJSON *c = cJSON_GetArrayItem((cJSON *)jpath_get(edited, "spec.template.spec.containers"), 0);
    cJSON_ReplaceItemInObject(c, "image", cJSON_CreateString("evil:latest"));
    cJSON_Delete(store_put(e->deps, edited));
    cJSON *want = desired_deployment(e);
    script("PATCH", DEPLOY_PATH, 200, as_server_has_it(want, "30", true), 1);
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), 0);
    cJSON *reqs = fake_api_requests();
    assert_int_equal(count(reqs, "PATCH", DEPLOY_PATH), 1);
    assert_int_equal(fake_api_writes(), 1); /* the apply only: status unchanged */
    cJSON *body = cJSON_Parse(jpath_str(find(reqs, "PATCH", DEPLOY_PATH), "body", ""));
    assert_string_equal(
        jpath_str(cJSON_GetArrayItem(jpath_get(body, "spec.template.spec.containers"), 0), "image",
                  ""),
        "ghcr.io/exo-dev/exo-backend:0.1.0");
    cJSON_Delete(body);
    cJSON_Delete(reqs);
    cJSON_Delete(want);
    /* The answer went into the cache: the next reconcile writes nothing. */
    fake_api_reset();
    assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), 0);
    assert_int_equal(fake_api_writes(), 0);
}

static void test_secret_change_rolls_the_backend_through_the_checksum(void **state)
{
    env *e = *state;
    converge(e);
    const char *old =
        jpath_get(store_get(e->deps, "exo/exo-backend"), "spec.template.metadata.annotations")
            ->child->valuestring;
    char *before = strdup(old);
    put_secret(e, "exo-encryption", "key", "bmV3a2V5bmV3a2V5bmV3a2V5bmV3a2V5bmV3a2V5bmU=");
    cJSON *want = desired_deployment(e);
    script("PATCH", DEPLOY_PATH, 200, as_server_has_it(want, "40", true), 1);
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), 0);
    cJSON *reqs = fake_api_requests();
    cJSON *body = cJSON_Parse(jpath_str(find(reqs, "PATCH", DEPLOY_PATH), "body", ""));
    const cJSON *ann = jpath_get(body, "spec.template.metadata.annotations");
    const char *now = cJSON_GetObjectItem(ann, CHECKSUM_ANNOTATION)->valuestring;
    assert_true(strncmp(now, "sha256:", 7) == 0);
    assert_string_not_equal(now, before);
    free(before);
    cJSON_Delete(body);
    cJSON_Delete(reqs);
    cJSON_Delete(want);
}

static void test_missing_secret_is_refused_in_status_without_touching_the_deployment(void **state)
{
    env *e = *state;
    converge(e);
    cJSON_Delete(store_remove(e->secrets, "exo/exo-database"));
    script("PATCH", STATUS_PATH, 200, NULL, 1);
    script("POST", EVENTS_PATH, 201, NULL, 10);
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), 0);
    cJSON *reqs = fake_api_requests();
    assert_int_equal(count(reqs, "PATCH", DEPLOY_PATH), 0);
    assert_int_equal(count(reqs, "PATCH", STATUS_PATH), 1);
    cJSON *body = cJSON_Parse(jpath_str(find(reqs, "PATCH", STATUS_PATH), "body", ""));
    const cJSON *c;
    bool stalled = false;
    cJSON_ArrayForEach (c, jpath_get(body, "status.conditions")) {
        if (strcmp(jpath_str(c, "type", ""), "Stalled") == 0) {
            stalled = strcmp(jpath_str(c, "status", ""), "True") == 0;
            assert_string_equal(jpath_str(c, "reason", ""), "SecretNotFound");
        }
    }
    assert_true(stalled);
    /* Ready, Stalled and DatabaseConfigured changed status: three events.
     * Reconciling stays False and BackendAvailable True: none for them. */
    assert_int_equal(count(reqs, "POST", EVENTS_PATH), 3);
    cJSON_Delete(body);
    cJSON_Delete(reqs);
}

static void test_api_failure_is_returned_for_a_retry(void **state)
{
    env *e = *state;
    script("PATCH", DEPLOY_PATH, 403, NULL, 1);
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), -1);
    assert_non_null(strstr(err_msg(&err), "Deployment exo-backend"));
    err_clear(&err);
}

static void test_a_deleted_resource_is_left_to_the_garbage_collector(void **state)
{
    env *e = *state;
    cJSON_Delete(store_remove(e->ecps, "exo/exo"));
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(reconcile_one(&e->r, "exo/exo", &err), 0);
    assert_int_equal(fake_api_writes(), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_first_reconcile_applies_both_then_writes_status_and_events),
        T(test_apply_is_server_side_forced_with_the_field_manager),
        T(test_noop_reconcile_sends_no_write),
        T(test_hand_edit_of_the_deployment_is_put_right),
        T(test_secret_change_rolls_the_backend_through_the_checksum),
        T(test_missing_secret_is_refused_in_status_without_touching_the_deployment),
        T(test_api_failure_is_returned_for_a_retry),
        T(test_a_deleted_resource_is_left_to_the_garbage_collector),
    };
    return cmocka_run_group_tests(tests, fake_api_start, fake_api_stop);
}

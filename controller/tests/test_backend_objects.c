/* The desired Deployment and Service, and the references they rest on:
 * env, volumes, strategy, security context, CA mount, the checksum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend_objects.h"
#include "fixtures.h"
#include "informer.h"
#include "jpath.h"
#include "refs.h"
#include "store.h"

static const cJSON *container0(const cJSON *dep)
{
    return cJSON_GetArrayItem(jpath_get(dep, "spec.template.spec.containers"), 0);
}

static const cJSON *env_named(const cJSON *dep, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach (e, jpath_get(container0(dep), "env")) {
        if (strcmp(jpath_str(e, "name", ""), name) == 0)
            return e;
    }
    return NULL;
}

static const cJSON *named_item(const cJSON *arr, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach (e, arr) {
        if (strcmp(jpath_str(e, "name", ""), name) == 0)
            return e;
    }
    return NULL;
}

typedef struct {
    store *secrets, *cms, *pvcs;
} world;

static void world_init(world *w, const char *mode)
{
    w->secrets = store_new();
    w->cms = store_new();
    w->pvcs = store_new();
    cJSON *s[] = {
        fx_secret("exo-database", "dsn", "host=db user=exo password=hunter2"),
        fx_secret("exo-encryption", "key", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="),
        fx_secret("exo-bootstrap", "token", "tok-0123456789abcdef0123456789abcdef")};
    for (int i = 0; i < 3; i++) {
        informer_hash_secret(s[i]);
        store_put(w->secrets, s[i]);
    }
    store_put(w->pvcs, fx_pvc("exo-casts", mode));
}

static void world_free(world *w)
{
    store_free(w->secrets);
    store_free(w->cms);
    store_free(w->pvcs);
}

static void test_env_comes_from_the_secrets_and_the_spec(void **state)
{
    (void)state;
    cJSON *ecp = fx_ecp();
    fx_set_num(ecp, "spec.database.maxOpenConns", 42);
    fx_set_num(ecp, "spec.retention.defaultDays", 30);
    backend_inputs in = {"sha256:00", true};
    cJSON *d = backend_deployment(ecp, &in);
    assert_string_equal(jpath_str(d, "metadata.name", ""), "exo-backend");
    const cJSON *dsn = env_named(d, "EXO_DATABASE_DSN");
    assert_string_equal(jpath_str(dsn, "valueFrom.secretKeyRef.name", ""), "exo-database");
    assert_string_equal(jpath_str(dsn, "valueFrom.secretKeyRef.key", ""), "dsn");
    assert_null(jpath_get(dsn, "value"));
    assert_string_equal(
        jpath_str(env_named(d, "EXO_ENCRYPTION_KEY"), "valueFrom.secretKeyRef.name", ""),
        "exo-encryption");
    assert_string_equal(
        jpath_str(env_named(d, "EXO_BOOTSTRAP_TOKEN"), "valueFrom.secretKeyRef.key", ""), "token");
    assert_string_equal(jpath_str(env_named(d, "EXO_DB_MAX_OPEN_CONNS"), "value", ""), "42");
    assert_string_equal(jpath_str(env_named(d, "EXO_DB_MAX_IDLE_CONNS"), "value", ""), "10");
    assert_string_equal(jpath_str(env_named(d, "EXO_RETENTION_DAYS"), "value", ""), "30");
    assert_string_equal(jpath_str(env_named(d, "EXO_PARTITION_PREMAKE"), "value", ""), "3");
    assert_string_equal(jpath_str(env_named(d, "EXO_MAINTENANCE_INTERVAL"), "value", ""), "24h");
    assert_string_equal(jpath_str(env_named(d, "EXO_CAST_MAX_BYTES"), "value", ""), "67108864");
    assert_string_equal(jpath_str(env_named(d, "EXO_CAST_STORAGE_DIR"), "value", ""),
                        "/var/lib/exo/casts");
    assert_string_equal(jpath_str(env_named(d, "EXO_HTTP_ADDR"), "value", ""), ":8080");
    assert_null(env_named(d, "PGSSLROOTCERT"));
    const cJSON *cmd = jpath_get(container0(d), "command");
    assert_string_equal(cJSON_GetArrayItem(cmd, 0)->valuestring, "/usr/local/bin/exo-backend");
    assert_string_equal(cJSON_GetArrayItem(cmd, 1)->valuestring, "serve");
    assert_string_equal(jpath_str(container0(d), "image", ""), "ghcr.io/exo-dev/exo-backend:0.1.0");
    assert_string_equal(jpath_str(container0(d), "resources.limits.memory", ""), "512Mi");
    assert_string_equal(jpath_str(container0(d), "readinessProbe.httpGet.path", ""), "/readyz");
    assert_string_equal(jpath_str(container0(d), "livenessProbe.httpGet.path", ""), "/healthz");
    cJSON_Delete(d);
    cJSON_Delete(ecp);
}

static void test_without_a_bootstrap_token_ref_there_is_no_token_env(void **state)
{
    (void)state;
    cJSON *ecp = fx_ecp();
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(ecp, "spec"), "api");
    backend_inputs in = {"sha256:00", true};
    cJSON *d = backend_deployment(ecp, &in);
    assert_null(env_named(d, "EXO_BOOTSTRAP_TOKEN"));
    cJSON_Delete(d);
    cJSON_Delete(ecp);
}

static void test_pod_meets_the_restricted_pod_security_standard(void **state)
{
    (void)state;
    cJSON *ecp = fx_ecp();
    backend_inputs in = {"sha256:00", true};
    cJSON *d = backend_deployment(ecp, &in);
    const cJSON *pod = jpath_get(d, "spec.template.spec");
    assert_true(cJSON_IsTrue(jpath_get(pod, "securityContext.runAsNonRoot")));
    assert_int_equal(jpath_int(pod, "securityContext.runAsUser", 0), 65532);
    assert_int_equal(jpath_int(pod, "securityContext.runAsGroup", 0), 65532);
    assert_int_equal(jpath_int(pod, "securityContext.fsGroup", 0), 65532);
    assert_string_equal(jpath_str(pod, "securityContext.seccompProfile.type", ""),
                        "RuntimeDefault");
    const cJSON *c = container0(d);
    assert_true(cJSON_IsFalse(jpath_get(c, "securityContext.allowPrivilegeEscalation")));
    assert_true(cJSON_IsTrue(jpath_get(c, "securityContext.readOnlyRootFilesystem")));
    assert_string_equal(
        cJSON_GetArrayItem(jpath_get(c, "securityContext.capabilities.drop"), 0)->valuestring,
        "ALL");
    /* Owned by the resource, so deleting it deletes the Deployment. */
    const cJSON *ref = cJSON_GetArrayItem(jpath_get(d, "metadata.ownerReferences"), 0);
    assert_string_equal(jpath_str(ref, "kind", ""), "ExoControlPlane");
    assert_string_equal(jpath_str(ref, "uid", ""), "u-1");
    assert_true(cJSON_IsTrue(jpath_get(ref, "controller")));
    assert_true(cJSON_IsTrue(jpath_get(ref, "blockOwnerDeletion")));
    cJSON_Delete(d);
    cJSON_Delete(ecp);
}

static void test_casts_volume_and_strategy_follow_the_access_mode(void **state)
{
    (void)state;
    cJSON *ecp = fx_ecp();
    backend_inputs rwo = {"sha256:00", true}, rwx = {"sha256:00", false};
    cJSON *d = backend_deployment(ecp, &rwo);
    assert_string_equal(jpath_str(d, "spec.strategy.type", ""), "Recreate");
    assert_null(jpath_get(d, "spec.strategy.rollingUpdate"));
    const cJSON *v = named_item(jpath_get(d, "spec.template.spec.volumes"), "casts");
    assert_string_equal(jpath_str(v, "persistentVolumeClaim.claimName", ""), "exo-casts");
    const cJSON *m = named_item(jpath_get(container0(d), "volumeMounts"), "casts");
    assert_string_equal(jpath_str(m, "mountPath", ""), "/var/lib/exo/casts");
    assert_non_null(named_item(jpath_get(container0(d), "volumeMounts"), "tmp"));
    cJSON_Delete(d);
    d = backend_deployment(ecp, &rwx);
    assert_string_equal(jpath_str(d, "spec.strategy.type", ""), "RollingUpdate");
    cJSON_Delete(d);
    cJSON_Delete(ecp);
}

static void test_database_ca_is_mounted_and_named_by_pgsslrootcert(void **state)
{
    (void)state;
    cJSON *ecp = fx_ecp();
    cJSON_AddItemToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(ecp, "spec"), "database"),
                          "caConfigMapRef", fx_json("{'name':'exo-database-ca','key':'ca.crt'}"));
    backend_inputs in = {"sha256:00", true};
    cJSON *d = backend_deployment(ecp, &in);
    assert_string_equal(jpath_str(env_named(d, "PGSSLROOTCERT"), "value", ""),
                        "/etc/exo/database-ca/ca.crt");
    const cJSON *v = named_item(jpath_get(d, "spec.template.spec.volumes"), "database-ca");
    assert_string_equal(jpath_str(v, "configMap.name", ""), "exo-database-ca");
    const cJSON *item = cJSON_GetArrayItem(jpath_get(v, "configMap.items"), 0);
    assert_string_equal(jpath_str(item, "key", ""), "ca.crt");
    assert_string_equal(jpath_str(item, "path", ""), "ca.crt");
    const cJSON *m = named_item(jpath_get(container0(d), "volumeMounts"), "database-ca");
    assert_string_equal(jpath_str(m, "mountPath", ""), "/etc/exo/database-ca");
    assert_true(cJSON_IsTrue(jpath_get(m, "readOnly")));
    cJSON_Delete(d);
    cJSON_Delete(ecp);
}

static void test_service_selects_the_backend_pods_on_port_8080(void **state)
{
    (void)state;
    cJSON *ecp = fx_ecp();
    backend_inputs in = {"sha256:00", true};
    cJSON *s = backend_service(ecp), *d = backend_deployment(ecp, &in);
    assert_string_equal(jpath_str(s, "metadata.name", ""), "exo-backend");
    assert_int_equal(jpath_int(cJSON_GetArrayItem(jpath_get(s, "spec.ports"), 0), "port", 0), 8080);
    /* Every selector label is on the pods. */
    assert_true(
        jpath_covers(jpath_get(d, "spec.template.metadata.labels"), jpath_get(s, "spec.selector")));
    assert_true(jpath_covers(jpath_get(d, "spec.template.metadata.labels"),
                             jpath_get(d, "spec.selector.matchLabels")));
    cJSON_Delete(s);
    cJSON_Delete(d);
    cJSON_Delete(ecp);
}

static void test_checksum_changes_with_a_secret_and_reveals_nothing(void **state)
{
    (void)state;
    world w;
    world_init(&w, "ReadWriteOnce");
    cJSON *ecp = fx_ecp();
    refs_result a, b, c;
    refs_check(&a, ecp, w.secrets, w.cms, w.pvcs);
    assert_null(a.database.reason);
    assert_null(a.blocking.reason);
    assert_true(a.recreate);
    assert_int_equal(strlen(a.checksum), strlen("sha256:") + 64);
    assert_null(strstr(a.checksum, "hunter2"));
    /* The Secret store keeps hashes, not values. */
    const cJSON *s = store_get(w.secrets, "exo/exo-database");
    const char *kept = jpath_str(s, "data.dsn", "");
    assert_int_equal(strlen(kept), 64);
    cJSON *raw = fx_secret("exo-database", "dsn", "host=db user=exo password=hunter2");
    assert_string_not_equal(kept, jpath_str(raw, "data.dsn", ""));
    cJSON_Delete(raw);

    refs_check(&b, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_equal(a.checksum, b.checksum); /* stable */

    cJSON *changed = fx_secret("exo-database", "dsn", "host=db user=exo password=other");
    informer_hash_secret(changed);
    cJSON_Delete(store_put(w.secrets, changed));
    refs_check(&c, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_not_equal(a.checksum, c.checksum);
    refs_free(&a);
    refs_free(&b);
    refs_free(&c);
    cJSON_Delete(ecp);
    world_free(&w);
}

static void test_checksum_covers_the_ca_configmap(void **state)
{
    (void)state;
    world w;
    world_init(&w, "ReadWriteOnce");
    cJSON *ecp = fx_ecp();
    cJSON_AddItemToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(ecp, "spec"), "database"),
                          "caConfigMapRef", fx_json("{'name':'exo-database-ca','key':'ca.crt'}"));
    refs_result a, b;
    refs_check(&a, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_equal(a.database.reason, "ConfigMapNotFound");
    store_put(w.cms, fx_configmap("exo-database-ca", "ca.crt", "-----BEGIN CERTIFICATE-----A"));
    refs_free(&a);
    refs_check(&a, ecp, w.secrets, w.cms, w.pvcs);
    assert_null(a.database.reason);
    assert_non_null(strstr(a.database_ok, "exo-database-ca"));
    cJSON_Delete(store_put(
        w.cms, fx_configmap("exo-database-ca", "ca.crt", "-----BEGIN CERTIFICATE-----B")));
    refs_check(&b, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_not_equal(a.checksum, b.checksum);
    refs_free(&a);
    refs_free(&b);
    cJSON_Delete(ecp);
    world_free(&w);
}

static void test_missing_secret_key_pvc_and_rwo_replicas_are_refused(void **state)
{
    (void)state;
    world w;
    world_init(&w, "ReadWriteOnce");
    cJSON *ecp = fx_ecp();
    refs_result r;

    cJSON_Delete(store_remove(w.secrets, "exo/exo-database"));
    refs_check(&r, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_equal(r.database.reason, "SecretNotFound");
    assert_non_null(strstr(r.database.message, "exo-database"));
    refs_free(&r);

    store_put(w.secrets, fx_secret("exo-database", "wrong", "x"));
    refs_check(&r, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_equal(r.database.reason, "SecretKeyNotFound");
    assert_non_null(strstr(r.database.message, "\"dsn\""));
    refs_free(&r);

    cJSON_Delete(store_remove(w.pvcs, "exo/exo-casts"));
    refs_check(&r, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_equal(r.blocking.reason, "PersistentVolumeClaimNotFound");
    refs_free(&r);

    store_put(w.pvcs, fx_pvc("exo-casts", "ReadWriteOnce"));
    fx_set_num(ecp, "spec.backend.replicas", 2);
    refs_check(&r, ecp, w.secrets, w.cms, w.pvcs);
    assert_string_equal(r.blocking.reason, "VolumeNotShareable");
    refs_free(&r);

    cJSON_Delete(store_put(w.pvcs, fx_pvc("exo-casts", "ReadWriteMany")));
    refs_check(&r, ecp, w.secrets, w.cms, w.pvcs);
    assert_null(r.blocking.reason);
    assert_false(r.recreate);
    refs_free(&r);
    cJSON_Delete(ecp);
    world_free(&w);
}

static void test_covers_ignores_server_defaults_but_not_changes(void **state)
{
    (void)state;
    cJSON *want = fx_json("{'spec':{'replicas':1,'c':[{'name':'a','image':'x'}]}}");
    cJSON *have =
        fx_json("{'spec':{'replicas':1,'extra':true,'c':[{'name':'a','image':'x','tmp':'/d'}]},"
                "'status':{}}");
    assert_true(jpath_covers(have, want));
    fx_set_num(have, "spec.replicas", 2);
    assert_false(jpath_covers(have, want));
    fx_set_num(have, "spec.replicas", 1);
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(have, "spec"), "c"),
                         fx_json("{'name':'b'}"));
    assert_false(jpath_covers(have, want));
    cJSON_Delete(want);
    cJSON_Delete(have);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_comes_from_the_secrets_and_the_spec),
        cmocka_unit_test(test_without_a_bootstrap_token_ref_there_is_no_token_env),
        cmocka_unit_test(test_pod_meets_the_restricted_pod_security_standard),
        cmocka_unit_test(test_casts_volume_and_strategy_follow_the_access_mode),
        cmocka_unit_test(test_database_ca_is_mounted_and_named_by_pgsslrootcert),
        cmocka_unit_test(test_service_selects_the_backend_pods_on_port_8080),
        cmocka_unit_test(test_checksum_changes_with_a_secret_and_reveals_nothing),
        cmocka_unit_test(test_checksum_covers_the_ca_configmap),
        cmocka_unit_test(test_missing_secret_key_pvc_and_rwo_replicas_are_refused),
        cmocka_unit_test(test_covers_ignores_server_defaults_but_not_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The rendered objects: order, labels, Pod Security "restricted", secrets
 * and the safety of values that look like YAML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend_env.h"
#include "base64.h"
#include "buf.h"
#include "names.h"
#include "render.h"
#include "render_compose.h"
#include "render_output.h"
#include "yamljson.h"

/* The node at a dotted path ("spec.template.spec"), or NULL. Keys that
 * hold dots themselves (labels, "ca.crt") are looked up directly. */
static const cJSON *at(const cJSON *node, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    char *save = NULL;
    for (char *k = strtok_r(copy, ".", &save); k && node; k = strtok_r(NULL, ".", &save))
        node = cJSON_GetObjectItemCaseSensitive(node, k);
    return node;
}

static const char *str(const cJSON *node, const char *path)
{
    const cJSON *v = at(node, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *render(const render_opts *o)
{
    cJSON *docs = NULL;
    exo_err err = EXO_ERR_INIT;
    if (render_objects(&docs, o, &err) != 0)
        fail_msg("render: %s", err_msg(&err));
    err_clear(&err);
    return docs;
}

static cJSON *render_default(void)
{
    render_opts o;
    render_opts_init(&o);
    return render(&o);
}

static const cJSON *find(const cJSON *docs, const char *kind, const char *name)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        if (strcmp(str(d, "kind"), kind) == 0 && strcmp(str(d, "metadata.name"), name) == 0)
            return d;
    }
    return NULL;
}

/* The decoded value of a Secret key; caller frees. */
static char *secret_value(const cJSON *docs, const char *name, const char *key)
{
    const cJSON *s = find(docs, "Secret", name);
    assert_non_null(s);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(at(s, "data"), key);
    assert_true(cJSON_IsString(v));
    const char *b64 = v->valuestring;
    unsigned char *out = NULL;
    size_t len = 0;
    assert_int_equal(base64_decode(b64, &out, &len), 0);
    return (char *)out;
}

static void assert_kinds(const cJSON *docs, const char *const *want, size_t n)
{
    assert_int_equal(cJSON_GetArraySize(docs), n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *d = cJSON_GetArrayItem(docs, (int)i);
        char got[128];
        snprintf(got, sizeof got, "%s/%s", str(d, "kind"), str(d, "metadata.name"));
        assert_string_equal(got, want[i]);
    }
}

static void test_bundled_objects_in_apply_order(void **state)
{
    (void)state;
    cJSON *docs = render_default();
    const char *want[] = {
        "Namespace/exo",           "CustomResourceDefinition/exocontrolplanes.exo.dev",
        "ServiceAccount/exo-controller", "PersistentVolumeClaim/exo-casts",
        "Role/exo-controller",     "RoleBinding/exo-controller",
        "Service/exo-postgres",    "StatefulSet/exo-postgres",
        "Deployment/exo-controller", "ExoControlPlane/exo",
    };
    assert_kinds(docs, want, sizeof want / sizeof want[0]);
    cJSON_Delete(docs);
}

static void test_bundled_with_secrets_adds_the_four_secrets(void **state)
{
    (void)state;
    render_opts o;
    render_opts_init(&o);
    o.include_secrets = true;
    cJSON *docs = render(&o);
    const char *want[] = {
        "Namespace/exo",           "CustomResourceDefinition/exocontrolplanes.exo.dev",
        "ServiceAccount/exo-controller", "Secret/exo-postgres",
        "Secret/exo-database",     "Secret/exo-encryption",
        "Secret/exo-bootstrap",    "PersistentVolumeClaim/exo-casts", "Role/exo-controller",
        "RoleBinding/exo-controller", "Service/exo-postgres",
        "StatefulSet/exo-postgres", "Deployment/exo-controller",
        "ExoControlPlane/exo",
    };
    assert_kinds(docs, want, sizeof want / sizeof want[0]);

    /* The DSN carries the same generated password the server starts with. */
    char *password = secret_value(docs, "exo-postgres", "password");
    char *dsn = secret_value(docs, "exo-database", "dsn");
    assert_true(strlen(password) >= 32);
    assert_non_null(strstr(dsn, password));
    assert_non_null(strstr(dsn, "host=exo-postgres.exo.svc"));

    char *key_b64 = secret_value(docs, "exo-encryption", "key");
    unsigned char *key = NULL;
    size_t key_len = 0;
    assert_int_equal(base64_decode(key_b64, &key, &key_len), 0);
    assert_int_equal(key_len, 32);
    char *bootstrap = secret_value(docs, "exo-bootstrap", "token");
    assert_true(strlen(bootstrap) >= 32); /* exo-backend refuses shorter ones */
    free(bootstrap);

    /* Fresh values each time. */
    cJSON *again = render(&o);
    char *key2 = secret_value(again, "exo-encryption", "key");
    assert_string_not_equal(key_b64, key2);

    free(key);
    free(key2);
    free(key_b64);
    free(password);
    free(dsn);
    cJSON_Delete(again);
    cJSON_Delete(docs);
}

static void test_managed_renders_no_postgres_and_keeps_the_dsn_exact(void **state)
{
    (void)state;
    /* A password that would break a text template: quote, colon, hash, newline. */
    const char *hostile = "host=db.example.com user=exo dbname=exo sslmode=require "
                          "password='p: \"#\\nx\\'y'";
    render_opts o;
    render_opts_init(&o);
    o.bundled_postgres = false;
    o.db_dsn = hostile;
    /* For GitOps: no Secret at all, not even the DSN's. */
    cJSON *docs = render(&o);
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        assert_null(strstr(str(d, "metadata.name"), "postgres"));
        assert_string_not_equal(str(d, "kind"), "Secret");
    }
    cJSON_Delete(docs);
    /* Asked for (install asks), the DSN's Secret holds it as given. */
    o.include_secrets = true;
    docs = render(&o);

    /* Through the YAML text and back, the DSN is byte for byte the input. */
    buf text = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(yamljson_emit_stream(&text, docs, &err), 0);
    cJSON *back = NULL;
    assert_int_equal(yamljson_parse(&back, text.ptr, text.len, "out", &err), 0);
    assert_int_equal(cJSON_GetArraySize(back), cJSON_GetArraySize(docs));
    char *dsn = secret_value(back, "exo-database", "dsn");
    assert_string_equal(dsn, hostile);
    free(dsn);
    cJSON_Delete(back);
    buf_free(&text);
    cJSON_Delete(docs);
}

static void test_same_options_give_the_same_bytes(void **state)
{
    (void)state;
    buf a = BUF_INIT, b = BUF_INIT;
    for (int i = 0; i < 2; i++) {
        cJSON *docs = render_default();
        assert_int_equal(yamljson_emit_stream(i ? &b : &a, docs, NULL), 0);
        cJSON_Delete(docs);
    }
    assert_true(a.len > 1000);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    buf_free(&a);
    buf_free(&b);
}

/* The version label too unless without_version (a pod template whose
 * images are not this release's). */
static void assert_standard_labels(const cJSON *labels, const char *what, bool without_version)
{
    const char *keys[] = {"app.kubernetes.io/name",      "app.kubernetes.io/instance",
                          "app.kubernetes.io/component", "app.kubernetes.io/part-of",
                          "app.kubernetes.io/managed-by", "app.kubernetes.io/version"};
    for (size_t i = 0; i < (without_version ? 5u : 6u); i++)
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(labels, keys[i])))
            fail_msg("%s has no label %s", what, keys[i]);
}

static void test_every_object_and_pod_carries_the_standard_labels(void **state)
{
    (void)state;
    render_opts o;
    render_opts_init(&o);
    o.include_secrets = true;
    cJSON *docs = render(&o);
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        assert_standard_labels(at(d, "metadata.labels"), str(d, "metadata.name"), false);
        const cJSON *pod_labels = at(d, "spec.template.metadata.labels");
        if (!pod_labels)
            continue;
        assert_standard_labels(pod_labels, "pod template",
                               strcmp(str(d, "metadata.name"), "exo-postgres") == 0);
        /* Selectors: name and instance only (they are immutable), and they
         * select the pod template. */
        const cJSON *sel = at(d, "spec.selector.matchLabels");
        assert_int_equal(cJSON_GetArraySize(sel), 2);
        const cJSON *l;
        cJSON_ArrayForEach(l, sel)
        {
            const cJSON *pl = cJSON_GetObjectItemCaseSensitive(pod_labels, l->string);
            assert_true(cJSON_IsString(pl));
            assert_string_equal(l->valuestring, pl->valuestring);
        }
    }
    /* Claim templates are immutable: no version label there. */
    const cJSON *vct = cJSON_GetArrayItem(
        at(find(docs, "StatefulSet", "exo-postgres"), "spec.volumeClaimTemplates"), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(at(vct, "metadata.labels"),
                                                 "app.kubernetes.io/version"));
    cJSON_Delete(docs);
}

static bool flag_true(const cJSON *sc, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sc, key));
}

/* The Pod Security Standard "restricted", profile by profile. */
static void assert_restricted(const cJSON *pod, const char *what)
{
    const cJSON *psc = at(pod, "securityContext");
    assert_false(flag_true(pod, "hostNetwork") || flag_true(pod, "hostPID") ||
                 flag_true(pod, "hostIPC"));
    const cJSON *v;
    cJSON_ArrayForEach(v, at(pod, "volumes"))
    {
        assert_true(at(v, "emptyDir") || at(v, "persistentVolumeClaim") || at(v, "secret") ||
                    at(v, "configMap") || at(v, "projected"));
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, at(pod, "containers"))
    {
        const cJSON *sc = at(c, "securityContext");
        if (!(flag_true(sc, "runAsNonRoot") || flag_true(psc, "runAsNonRoot")))
            fail_msg("%s: runAsNonRoot", what);
        const char *seccomp = str(sc, "seccompProfile.type");
        if (!seccomp)
            seccomp = str(psc, "seccompProfile.type");
        assert_non_null(seccomp);
        assert_string_equal(seccomp, "RuntimeDefault");
        assert_true(cJSON_IsFalse(at(sc, "allowPrivilegeEscalation")));
        assert_false(flag_true(sc, "privileged"));
        assert_true(flag_true(sc, "readOnlyRootFilesystem"));
        const cJSON *drop = cJSON_GetArrayItem(at(sc, "capabilities.drop"), 0);
        assert_non_null(drop);
        assert_string_equal(drop->valuestring, "ALL");
        assert_null(at(sc, "capabilities.add"));
        assert_non_null(str(c, "resources.requests.cpu"));
        assert_non_null(str(c, "resources.requests.memory"));
        assert_non_null(str(c, "resources.limits.cpu"));
        assert_non_null(str(c, "resources.limits.memory"));
    }
}

static void test_every_pod_meets_pod_security_restricted(void **state)
{
    (void)state;
    cJSON *docs = render_default();
    int pods = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        const cJSON *pod = at(d, "spec.template.spec");
        if (pod) {
            assert_restricted(pod, str(d, "metadata.name"));
            pods++;
        }
    }
    assert_int_equal(pods, 2);
    /* Bundled Postgres: the image's uid 70, PGDATA below the mount point. */
    const cJSON *pg = find(docs, "StatefulSet", "exo-postgres");
    assert_int_equal(at(pg, "spec.template.spec.securityContext.runAsUser")->valueint, 70);
    assert_int_equal(at(pg, "spec.template.spec.securityContext.fsGroup")->valueint, 70);
    const cJSON *c = cJSON_GetArrayItem(at(pg, "spec.template.spec.containers"), 0);
    assert_string_equal(str(c, "image"), "postgres:16-alpine");
    const cJSON *e;
    bool pgdata = false;
    cJSON_ArrayForEach(e, at(c, "env"))
    {
        if (strcmp(str(e, "name"), "PGDATA") == 0) {
            assert_string_equal(str(e, "value"), "/var/lib/postgresql/data/pgdata");
            pgdata = true;
        }
    }
    assert_true(pgdata);
    cJSON_Delete(docs);
}

static void test_options_reach_the_objects(void **state)
{
    (void)state;
    render_opts o;
    render_opts_init(&o);
    o.namespace_ = "exo-prod";
    o.storage_class = "gp3";
    o.backend_replicas = 3;
    o.cast_access_mode = "ReadWriteMany";
    o.retention_days = 30;
    o.bundled_postgres = false;
    o.db_dsn = "postgres://exo@db:5432/exo?sslmode=verify-full";
    o.db_ca_pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
    cJSON *docs = render(&o);
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        if (strcmp(str(d, "kind"), "Namespace") && strcmp(str(d, "kind"), "CustomResourceDefinition"))
            assert_string_equal(str(d, "metadata.namespace"), "exo-prod");
    }
    const cJSON *pvc = find(docs, "PersistentVolumeClaim", "exo-casts");
    assert_string_equal(str(pvc, "spec.storageClassName"), "gp3");
    assert_string_equal(cJSON_GetArrayItem(at(pvc, "spec.accessModes"), 0)->valuestring,
                        "ReadWriteMany");
    const cJSON *cr = find(docs, "ExoControlPlane", "exo");
    assert_true(cJSON_IsNumber(at(cr, "spec.backend.replicas")));
    assert_int_equal(at(cr, "spec.backend.replicas")->valueint, 3);
    assert_int_equal(at(cr, "spec.retention.defaultDays")->valueint, 30);
    assert_string_equal(str(cr, "spec.database.caConfigMapRef.name"), "exo-database-ca");
    const cJSON *cm = find(docs, "ConfigMap", "exo-database-ca");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(at(cm, "data"), "ca.crt");
    assert_true(cJSON_IsString(ca));
    assert_string_equal(ca->valuestring, o.db_ca_pem);
    cJSON_Delete(docs);

    /* Without a storage class the key is absent: the cluster default applies. */
    render_opts_init(&o);
    docs = render(&o);
    assert_null(at(find(docs, "PersistentVolumeClaim", "exo-casts"), "spec.storageClassName"));
    assert_null(at(find(docs, "ExoControlPlane", "exo"), "spec.database.caConfigMapRef"));
    cJSON_Delete(docs);
}

/* The templates name the backend's variables and the resource's fields;
 * the contract (contract/backend_env.c) lists them. A variable added there
 * must reach both renderings. */
static void test_renderings_carry_every_variable_of_the_contract(void **state)
{
    (void)state;
    render_opts o;
    render_opts_init(&o);
    o.bundled_postgres = false;
    o.db_dsn = "host=db.example.com";
    o.db_ca_pem = "-----BEGIN CERTIFICATE-----\n";
    cJSON *docs = render(&o), *compose = NULL;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(render_compose(&compose, &o, "127.0.0.1:8080", &err), 0);
    const cJSON *env = at(compose, "services.backend.environment");
    const cJSON *ecp = find(docs, "ExoControlPlane", "exo");
    const cJSON *spec = at(ecp, "spec");
    for (int i = 0; i < CONTRACT_ENV_COUNT; i++) {
        const contract_env *v = contract_env_get((contract_env_id)i);
        if (!cJSON_GetObjectItemCaseSensitive(env, v->name))
            fail_msg("the Compose file does not set %s", v->name);
        if (v->spec && !at(spec, v->spec))
            fail_msg("the ExoControlPlane has no spec.%s", v->spec);
        if (v->secret) {
            assert_string_equal(str(at(spec, v->spec), "name"), v->secret);
            assert_string_equal(str(at(spec, v->spec), "key"), v->key);
        }
    }
    assert_int_equal(cJSON_GetArraySize(env), CONTRACT_ENV_COUNT);
    cJSON_Delete(compose);
    cJSON_Delete(docs);
}

/* Each Secret the installer writes is the one, under the key, that the
 * resource points the backend at. */
static void test_secrets_are_named_and_keyed_by_the_contract(void **state)
{
    (void)state;
    render_opts o;
    render_opts_init(&o);
    o.include_secrets = true;
    cJSON *docs = render(&o);
    contract_env_id ids[] = {CONTRACT_ENV_DATABASE_DSN, CONTRACT_ENV_ENCRYPTION_KEY,
                             CONTRACT_ENV_BOOTSTRAP_TOKEN};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const contract_env *v = contract_env_get(ids[i]);
        char *value = secret_value(docs, v->secret, v->key);
        assert_true(strlen(value) > 0);
        free(value);
    }
    char *pw = secret_value(docs, contract.postgres_secret, contract.postgres_secret_key);
    free(pw);
    cJSON_Delete(docs);
}

static void test_file_names_keep_apply_order(void **state)
{
    (void)state;
    cJSON *docs = render_default();
    char *first = render_output_file_name(0, cJSON_GetArrayItem(docs, 0));
    char *crd = render_output_file_name(1, cJSON_GetArrayItem(docs, 1));
    assert_string_equal(first, "00-namespace-exo.yaml");
    assert_string_equal(crd, "01-customresourcedefinition-exocontrolplanes.exo.dev.yaml");
    free(first);
    free(crd);
    cJSON_Delete(docs);
}

/* A release of the tool must not restart the bundled PostgreSQL whose spec
 * it did not change: its pod template carries no version label. The
 * controller's does: its image is this release's, and rolls anyway. */
static void test_postgres_pod_template_does_not_change_with_the_release(void **state)
{
    (void)state;
    render_opts o;
    render_opts_init(&o);
    cJSON *docs = render(&o);
    const char *v = "app.kubernetes.io/version";
    const cJSON *sts = find(docs, "StatefulSet", "exo-postgres");
    const cJSON *ctl = find(docs, "Deployment", "exo-controller");
    assert_null(cJSON_GetObjectItemCaseSensitive(at(sts, "spec.template.metadata.labels"), v));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(at(sts, "metadata.labels"), v));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(at(ctl, "spec.template.metadata.labels"), v));
    cJSON_Delete(docs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundled_objects_in_apply_order),
        cmocka_unit_test(test_bundled_with_secrets_adds_the_four_secrets),
        cmocka_unit_test(test_managed_renders_no_postgres_and_keeps_the_dsn_exact),
        cmocka_unit_test(test_same_options_give_the_same_bytes),
        cmocka_unit_test(test_every_object_and_pod_carries_the_standard_labels),
        cmocka_unit_test(test_every_pod_meets_pod_security_restricted),
        cmocka_unit_test(test_options_reach_the_objects),
        cmocka_unit_test(test_renderings_carry_every_variable_of_the_contract),
        cmocka_unit_test(test_secrets_are_named_and_keyed_by_the_contract),
        cmocka_unit_test(test_file_names_keep_apply_order),
        cmocka_unit_test(test_postgres_pod_template_does_not_change_with_the_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

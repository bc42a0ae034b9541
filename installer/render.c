#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "backend_env.h"
#include "base64.h"
#include "buf.h"
#include "dsn.h"
#include "embedded.h"
#include "names.h"
#include "template.h"
#include "validate.h"
#include "version.h"
#include "xalloc.h"
#include "yamljson.h"

#define INSTANCE "exo"

/* What an object needs to be rendered; an object is rendered when the
 * options provide all of it. */
enum {
    BUNDLED = 1 << 0, /* bundled Postgres */
    SECRETS = 1 << 1, /* --include-secrets */
    DSN = 1 << 2,     /* a DSN is known: given, or generated with the secrets */
    CA = 1 << 3,      /* --db-ca-file */
    MONITORS = 1 << 4, /* --service-monitor */
    RULES = 1 << 5,    /* --prometheus-rule */
    DASHBOARD = 1 << 6, /* --grafana-dashboard */
};

/* Apply order, as Helm orders kinds: Namespace, CRD, ServiceAccount, Secret,
 * ConfigMap, PVC, RBAC, Service, StatefulSet, Deployment, custom resource. */
static const struct {
    const char *template;
    unsigned needs;
} objects[] = {
    {"namespace.yaml", 0},
    {"crd-exocontrolplanes.yaml", 0},
    {"controller-serviceaccount.yaml", 0},
    {"secret-postgres.yaml", BUNDLED | SECRETS},
    {"secret-database.yaml", DSN},
    {"secret-encryption.yaml", SECRETS},
    {"secret-bootstrap.yaml", SECRETS},
    {"configmap-database-ca.yaml", CA},
    {"pvc-casts.yaml", 0},
    {"controller-role.yaml", 0},
    {"controller-rolebinding.yaml", 0},
    {"service-postgres.yaml", BUNDLED},
    {"statefulset-postgres.yaml", BUNDLED},
    {"controller-deployment.yaml", 0},
    {"exocontrolplane.yaml", 0},
    /* Opt-in monitoring: custom resources of the Prometheus Operator. */
    {"monitoring-servicemonitor-backend.yaml", MONITORS},
    {"monitoring-podmonitor-controller.yaml", MONITORS},
    {"monitoring-prometheusrule.yaml", RULES},
    {"monitoring-configmap-dashboard.yaml", DASHBOARD},
};

const char *render_default_image(const char *component)
{
    static const char backend[] = EXO_IMAGE_REGISTRY "/exo-backend:" EXO_VERSION;
    static const char controller[] = EXO_IMAGE_REGISTRY "/exo-controller:" EXO_VERSION;
    return strcmp(component, "exo-backend") == 0 ? backend : controller;
}

void render_opts_init(render_opts *o)
{
    memset(o, 0, sizeof *o);
    o->namespace_ = "exo";
    o->bundled_postgres = true;
    o->cast_storage_size = "20Gi";
    o->postgres_storage_size = "10Gi";
    o->cast_access_mode = "ReadWriteOnce";
    o->backend_image = render_default_image("exo-backend");
    o->controller_image = render_default_image("exo-controller");
    o->backend_replicas = 1;
    o->retention_days = (int)contract_env_default_number(CONTRACT_ENV_RETENTION_DAYS);
    o->runbook_url = RENDER_RUNBOOK_URL;
}

/* n random bytes, base64-encoded with the characters a DSN or URL would need
 * quoted or escaped ('+', '/', '=') dropped or swapped. */
char *render_random_token(size_t n, bool url_safe)
{
    unsigned char bytes[64];
    if (n > sizeof bytes || RAND_bytes(bytes, (int)n) != 1) {
        fprintf(stderr, "fatal: OpenSSL's random generator failed\n");
        abort();
    }
    char *s = base64_encode(bytes, n);
    OPENSSL_cleanse(bytes, sizeof bytes);
    if (url_safe) {
        for (char *p = s; *p; p++)
            *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        char *eq = strchr(s, '=');
        if (eq)
            *eq = '\0';
    }
    return s;
}

/* vars.<name> = {key: base64 of value}: a Secret's data, under the key
 * the contract gives it. */
static void add_secret_data(cJSON *vars, const char *name, const char *key, const char *value)
{
    char *b64 = base64_encode(value, strlen(value));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(vars, name), key, b64);
    free(b64);
}

static void add_env_secret(cJSON *vars, contract_env_id id, const char *value)
{
    const contract_env *v = contract_env_get(id);
    buf name = BUF_INIT;
    buf_printf(&name, "%sData", v->var);
    add_secret_data(vars, name.ptr, v->key, value);
    buf_free(&name);
}

/* Secret values, with --include-secrets: generated, and the managed DSN
 * as given. */
static void add_secret_vars(cJSON *vars, const render_opts *o)
{
    char *password = NULL;
    buf conninfo = BUF_INIT;
    if (o->include_secrets) {
        char *token = render_random_token(32, true);
        add_env_secret(vars, CONTRACT_ENV_BOOTSTRAP_TOKEN, token);
        OPENSSL_cleanse(token, strlen(token));
        free(token);
        char *key = render_random_token(32, false);
        add_env_secret(vars, CONTRACT_ENV_ENCRYPTION_KEY, key);
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
    if (o->bundled_postgres && o->include_secrets) {
        password = o->postgres_password ? xstrdup(o->postgres_password)
                                        : render_random_token(24, true);
        add_secret_data(vars, "postgresSecretData", contract.postgres_secret_key, password);
        buf host = BUF_INIT;
        buf_printf(&host, "exo-postgres.%s.svc", o->namespace_);
        char port[16];
        snprintf(port, sizeof port, "%d", contract.postgres_port);
        dsn_append_keyword(&conninfo, "host", host.ptr);
        dsn_append_keyword(&conninfo, "port", port);
        dsn_append_keyword(&conninfo, "user", contract.postgres_user);
        dsn_append_keyword(&conninfo, "password", password);
        dsn_append_keyword(&conninfo, "dbname", contract.postgres_db);
        /* In-cluster traffic to the bundled trial database; managed
         * databases are where TLS verification matters. */
        dsn_append_keyword(&conninfo, "sslmode", "disable");
        buf_free(&host);
        add_env_secret(vars, CONTRACT_ENV_DATABASE_DSN, conninfo.ptr);
        OPENSSL_cleanse(password, strlen(password));
        OPENSSL_cleanse(conninfo.ptr, conninfo.len);
    } else if (!o->bundled_postgres) {
        add_env_secret(vars, CONTRACT_ENV_DATABASE_DSN, o->db_dsn);
    }
    free(password);
    buf_free(&conninfo);
}

cJSON *render_vars(const render_opts *o, bool with_secrets)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "namespace", o->namespace_);
    cJSON_AddStringToObject(v, "instance", INSTANCE);
    contract_names_vars(v);
    contract_env_vars(v);
    /* --retention-days sets the value rendered, not the contract's default
     * (the CRD's, retentionDaysDefault). */
    cJSON_ReplaceItemInObjectCaseSensitive(v, "retentionDays",
                                           cJSON_CreateNumber(o->retention_days));
    cJSON_AddStringToObject(v, "backendImage", o->backend_image);
    cJSON_AddStringToObject(v, "controllerImage", o->controller_image);
    cJSON_AddStringToObject(v, "controllerImagePullPolicy",
                            validate_default_pull_policy(o->controller_image));
    cJSON_AddNumberToObject(v, "backendReplicas", o->backend_replicas);
    cJSON_AddStringToObject(v, "castStorageSize", o->cast_storage_size);
    cJSON_AddStringToObject(v, "postgresStorageSize", o->postgres_storage_size);
    cJSON_AddStringToObject(v, "castAccessMode", o->cast_access_mode);
    if (o->storage_class)
        cJSON_AddStringToObject(v, "storageClass", o->storage_class);
    if (o->db_ca_pem) {
        cJSON_AddStringToObject(v, "databaseCA", o->db_ca_pem);
        cJSON *ref = cJSON_AddObjectToObject(v, "databaseCARef");
        cJSON_AddStringToObject(ref, "name", contract.database_ca_configmap);
        cJSON_AddStringToObject(ref, "key", contract.database_ca_key);
    }
    cJSON_AddStringToObject(v, "runbookURL", o->runbook_url);
    if (o->grafana_dashboard) {
        /* The dashboard goes into the ConfigMap as Grafana reads it: the
         * JSON text, untouched by placeholder expansion (its own $variables). */
        const embedded_file *dash = embedded_find(RENDER_DASHBOARD_FILE);
        if (dash)
            cJSON_AddItemToObject(v, "grafanaDashboard", cJSON_CreateString(dash->data));
    }
    if (with_secrets)
        add_secret_vars(v, o);
    return v;
}

/* Puts the app.kubernetes.io labels on a metadata object, in one fixed
 * order, after the name and component the template chose and before any
 * other labels it had. Selectors are left alone: they use only name and
 * instance, and are immutable. with_version: whether it gets the version
 * label (see label_object). */
static void set_labels(cJSON *metadata, bool with_version)
{
    if (!cJSON_IsObject(metadata))
        return;
    cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(metadata, "labels");
    cJSON *labels = cJSON_AddObjectToObject(metadata, "labels");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(old, "app.kubernetes.io/name");
    const cJSON *component = cJSON_GetObjectItemCaseSensitive(old, "app.kubernetes.io/component");
    cJSON_AddStringToObject(labels, "app.kubernetes.io/name",
                            cJSON_IsString(name) ? name->valuestring : "exo");
    cJSON_AddStringToObject(labels, "app.kubernetes.io/instance", INSTANCE);
    if (with_version)
        cJSON_AddStringToObject(labels, "app.kubernetes.io/version", EXO_VERSION);
    if (cJSON_IsString(component))
        cJSON_AddStringToObject(labels, "app.kubernetes.io/component", component->valuestring);
    cJSON_AddStringToObject(labels, "app.kubernetes.io/part-of", "exo");
    cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by",
                            contract.installer_field_manager);
    for (cJSON *l = old ? old->child : NULL; l; l = l->next)
        if (!cJSON_GetObjectItemCaseSensitive(labels, l->string))
            cJSON_AddItemToObject(labels, l->string, cJSON_Duplicate(l, true));
    cJSON_Delete(old);
}

/* Whether one of the pod's containers runs an image of this release (its
 * tag is EXO_VERSION). */
static bool runs_this_release(const cJSON *pod)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec"), *c;
    size_t vlen = strlen(EXO_VERSION);
    cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive(spec, "containers")) {
        const cJSON *image = cJSON_GetObjectItemCaseSensitive(c, "image");
        size_t n = cJSON_IsString(image) ? strlen(image->valuestring) : 0;
        if (n > vlen && image->valuestring[n - vlen - 1] == ':' &&
            strcmp(image->valuestring + n - vlen, EXO_VERSION) == 0)
            return true;
    }
    return false;
}

/* A pod template's labels are part of it: a version label there restarts
 * the pods on every release. So a pod template carries it only when its
 * code changes with the release anyway (the controller's image); the
 * bundled PostgreSQL's pod keeps running across upgrades of the tool. */
static void label_object(cJSON *doc)
{
    set_labels(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), true);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
    cJSON *pod = cJSON_GetObjectItemCaseSensitive(spec, "template");
    set_labels(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), runs_this_release(pod));
}

int render_template(cJSON **doc, const char *name, const cJSON *vars, exo_err *err)
{
    const embedded_file *f = embedded_find(name);
    if (!f)
        return err_set(err, "template %s is not built into this binary", name);
    if (yamljson_parse_one(doc, f->data, f->len, name, err) < 0)
        return -1;
    if (template_expand(*doc, vars, name, err) < 0) {
        cJSON_Delete(*doc);
        *doc = NULL;
        return -1;
    }
    return 0;
}

static int render_one(cJSON *docs, const char *name, const cJSON *vars, exo_err *err)
{
    cJSON *doc = NULL;
    if (render_template(&doc, name, vars, err) < 0)
        return -1;
    label_object(doc);
    cJSON_AddItemToArray(docs, doc);
    return 0;
}

int render_objects(cJSON **docs, const render_opts *o, exo_err *err)
{
    unsigned have = 0;
    if (o->bundled_postgres)
        have |= BUNDLED;
    if (o->include_secrets)
        have |= SECRETS;
    /* Never a Secret in the output unless asked (--include-secrets; install
     * always asks, and writes a Secret only where none exists): a GitOps
     * repository holds no Secret that Argo CD or Flux would then put back
     * over the one provided out of band (docs/gitops.md). */
    if (o->include_secrets)
        have |= DSN;
    if (o->db_ca_pem)
        have |= CA;
    if (o->service_monitor)
        have |= MONITORS;
    if (o->prometheus_rule)
        have |= RULES;
    if (o->grafana_dashboard)
        have |= DASHBOARD;

    cJSON *vars = render_vars(o, true);
    cJSON *out = cJSON_CreateArray();
    int rc = 0;
    for (size_t i = 0; i < sizeof objects / sizeof objects[0] && rc == 0; i++)
        if ((objects[i].needs & have) == objects[i].needs)
            rc = render_one(out, objects[i].template, vars, err);
    cJSON_Delete(vars);
    if (rc < 0) {
        cJSON_Delete(out);
        return -1;
    }
    *docs = out;
    return 0;
}

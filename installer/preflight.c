#include "preflight.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cluster.h"
#include "xalloc.h"

/* What the install writes, verb by verb. Server-side apply of a missing
 * object needs create as well as patch. */
typedef struct {
    const char *group;
    const char *resource;
    bool namespaced;
    const char *verbs[4];
    bool for_delete; /* list and delete, needed only to prune or uninstall */
} need;

static const need needs[] = {
    {"", "namespaces", false, {"get", "create", "patch"}, false},
    {"apiextensions.k8s.io", "customresourcedefinitions", false, {"get", "create", "patch"}, false},
    {"", "secrets", true, {"get", "create", "patch"}, false},
    {"", "configmaps", true, {"get", "create", "patch"}, false},
    {"", "persistentvolumeclaims", true, {"create", "patch"}, false},
    {"", "serviceaccounts", true, {"create", "patch"}, false},
    {"", "services", true, {"create", "patch"}, false},
    {"apps", "statefulsets", true, {"get", "create", "patch"}, false},
    {"apps", "deployments", true, {"get", "create", "patch"}, false},
    {"rbac.authorization.k8s.io", "roles", true, {"create", "patch"}, false},
    {"rbac.authorization.k8s.io", "rolebindings", true, {"create", "patch"}, false},
    {"exo.dev", "exocontrolplanes", true, {"get", "create", "patch"}, false},
    {"", "configmaps", true, {"list", "delete"}, true},
    {"", "services", true, {"list", "delete"}, true},
    {"", "serviceaccounts", true, {"list", "delete"}, true},
    {"apps", "statefulsets", true, {"list", "delete"}, true},
    {"apps", "deployments", true, {"list", "delete"}, true},
    {"rbac.authorization.k8s.io", "roles", true, {"list", "delete"}, true},
    {"rbac.authorization.k8s.io", "rolebindings", true, {"list", "delete"}, true},
    {"exo.dev", "exocontrolplanes", true, {"list", "delete"}, true},
};

int preflight_reach(kube_client *c, char **version, exo_err *err)
{
    buf resp = BUF_INIT;
    long status = 0;
    int rc = kube_request(c, "GET", "/version", NULL, NULL, 0, &resp, &status, err);
    if (rc < 0 && status == 401) {
        err_set(err, "%s: the server rejected the credentials of context \"%s\" (401 "
                     "Unauthorized): check the token or client certificate in the kubeconfig",
                kube_config_server(kube_client_config(c)), kube_config_context(kube_client_config(c)));
        err->http_status = 401;
    }
    if (rc == 0 && version) {
        cJSON *v = cJSON_ParseWithLength(resp.ptr, resp.len);
        const cJSON *gv = cJSON_GetObjectItemCaseSensitive(v, "gitVersion");
        *version = xstrdup(cJSON_IsString(gv) ? gv->valuestring : "unknown");
        cJSON_Delete(v);
    }
    buf_free(&resp);
    return rc;
}

static bool list_has(const cJSON *arr, const char *want)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (cJSON_IsString(v) && (strcmp(v->valuestring, want) == 0 || strcmp(v->valuestring, "*") == 0))
            return true;
    }
    return false;
}

/* Whether the rules of a SelfSubjectRulesReview allow verb on group/resource.
 * Rules limited to resourceNames are not counted (create cannot be). */
bool preflight_rules_allow(const cJSON *rules, const char *group, const char *resource, const char *verb)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "resourceNames")) > 0)
            continue;
        if (list_has(cJSON_GetObjectItemCaseSensitive(r, "verbs"), verb) &&
            list_has(cJSON_GetObjectItemCaseSensitive(r, "apiGroups"), group) &&
            list_has(cJSON_GetObjectItemCaseSensitive(r, "resources"), resource))
            return true;
    }
    return false;
}

/* One review of what this user may do in ns; *rules NULL when the
 * authorizer cannot list them (incomplete), so every verb is asked alone. */
static int rules_review(kube_client *c, const char *ns, cJSON **rules, exo_err *err)
{
    *rules = NULL;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "apiVersion", "authorization.k8s.io/v1");
    cJSON_AddStringToObject(req, "kind", "SelfSubjectRulesReview");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(req, "spec"), "namespace", ns);
    static const kube_resource r = {"authorization.k8s.io", "v1", "selfsubjectrulesreviews", false};
    cJSON *out = NULL;
    int rc = kube_create(c, &r, NULL, req, KUBE_IDEMPOTENT, &out, err);
    cJSON_Delete(req);
    if (rc < 0)
        return -1;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(out, "status");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "incomplete")))
        *rules = cJSON_DetachItemFromObjectCaseSensitive((cJSON *)st, "resourceRules");
    cJSON_Delete(out);
    return 0;
}

static int access_review(kube_client *c, const need *n, const char *verb, const char *ns,
                         bool *allowed, exo_err *err)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "apiVersion", "authorization.k8s.io/v1");
    cJSON_AddStringToObject(req, "kind", "SelfSubjectAccessReview");
    cJSON *attrs = cJSON_AddObjectToObject(cJSON_AddObjectToObject(req, "spec"), "resourceAttributes");
    cJSON_AddStringToObject(attrs, "verb", verb);
    cJSON_AddStringToObject(attrs, "group", n->group);
    cJSON_AddStringToObject(attrs, "resource", n->resource);
    if (n->namespaced)
        cJSON_AddStringToObject(attrs, "namespace", ns);
    static const kube_resource r = {"authorization.k8s.io", "v1", "selfsubjectaccessreviews", false};
    cJSON *out = NULL;
    int rc = kube_create(c, &r, NULL, req, KUBE_IDEMPOTENT, &out, err);
    cJSON_Delete(req);
    if (rc == 0)
        *allowed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(out, "status"), "allowed"));
    cJSON_Delete(out);
    return rc;
}

static int check_permissions(kube_client *c, const preflight_opts *o, exo_err *err)
{
    cJSON *rules = NULL;
    if (rules_review(c, o->namespace_, &rules, err) < 0)
        return err_prefix(err, "checking permissions");
    int rc = 0;
    for (size_t i = 0; i < sizeof needs / sizeof needs[0] && rc == 0; i++) {
        const need *n = &needs[i];
        if (n->for_delete && !o->need_delete)
            continue;
        for (size_t v = 0; v < 4 && n->verbs[v] && rc == 0; v++) {
            /* Namespaced rules hold only in the namespace; cluster-scoped
             * resources are asked about one by one. */
            if (n->namespaced && rules && preflight_rules_allow(rules, n->group, n->resource, n->verbs[v]))
                continue;
            bool allowed = false;
            if (access_review(c, n, n->verbs[v], o->namespace_, &allowed, err) < 0) {
                rc = err_prefix(err, "checking permissions");
                break;
            }
            if (!allowed) {
                buf what = BUF_INIT;
                buf_printf(&what, "%s%s%s", n->resource, *n->group ? "." : "", n->group);
                if (n->namespaced)
                    rc = err_set(err, "preflight: you may not %s %s in namespace %s (exo-install "
                                      "needs it; ask a cluster admin, or see docs/install.md for "
                                      "the permissions)",
                                 n->verbs[v], what.ptr, o->namespace_);
                else
                    rc = err_set(err, "preflight: you may not %s %s (cluster-wide; exo-install "
                                      "needs it; ask a cluster admin, or see docs/install.md for "
                                      "the permissions)",
                                 n->verbs[v], what.ptr);
                free(err->reason);
                err->reason = xstrdup("Forbidden");
                buf_free(&what);
            }
        }
    }
    cJSON_Delete(rules);
    return rc;
}

static bool is_forbidden(const exo_err *e)
{
    return e->reason && strcmp(e->reason, "Forbidden") == 0;
}

static int check_namespace(kube_client *c, const char *ns, exo_err *err)
{
    cJSON *obj = NULL;
    if (kube_get(c, &KR_NAMESPACES, NULL, ns, &obj, err) < 0) {
        if (kube_is_not_found(err) || is_forbidden(err)) {
            err_clear(err);
            return 0;
        }
        return -1;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    bool deleting = cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp") != NULL;
    cJSON_Delete(obj);
    if (deleting)
        return err_set(err, "preflight: namespace %s is being deleted; wait until it is gone "
                            "(kubectl get namespace %s) and run again",
                       ns, ns);
    return 0;
}

static int check_storage_class(kube_client *c, const char *name, FILE *warn, exo_err *err)
{
    if (name) {
        cJSON *sc = NULL;
        int rc = kube_get(c, &KR_STORAGECLASSES, NULL, name, &sc, err);
        cJSON_Delete(sc);
        if (rc == 0)
            return 0;
        if (is_forbidden(err)) { /* may not read classes: the claim will tell */
            err_clear(err);
            return 0;
        }
        if (kube_is_not_found(err))
            return err_set(err, "--storage-class %s: the cluster has no such StorageClass "
                                "(kubectl get storageclass lists them)",
                           name);
        return -1;
    }
    cJSON *items = NULL;
    if (kube_list(c, &KR_STORAGECLASSES, NULL, NULL, 0, &items, NULL, err) < 0) {
        if (is_forbidden(err)) {
            err_clear(err);
            return 0;
        }
        return -1;
    }
    bool found = false;
    const cJSON *sc;
    cJSON_ArrayForEach(sc, items)
    {
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(sc, "metadata"), "annotations");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(ann, "storageclass.kubernetes.io/is-default-class");
        if (cJSON_IsString(d) && strcmp(d->valuestring, "true") == 0)
            found = true;
    }
    cJSON_Delete(items);
    if (!found)
        fprintf(warn, "warning: the cluster has no default StorageClass: the volumes will wait "
                      "for one made by hand (or give --storage-class)\n");
    return 0;
}

int preflight_run(kube_client *c, const preflight_opts *o, FILE *warn, exo_err *err)
{
    return preflight_reach(c, NULL, err) < 0 ? -1 : preflight_permissions(c, o, warn, err);
}

int preflight_permissions(kube_client *c, const preflight_opts *o, FILE *warn, exo_err *err)
{
    if (check_permissions(c, o, err) < 0 ||
        check_namespace(c, o->namespace_, err) < 0 ||
        check_storage_class(c, o->storage_class, warn, err) < 0)
        return -1;
    return 0;
}

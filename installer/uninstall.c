/* `exo-install uninstall`'s engine: deletes what install applied, found
 * through the ApplySet labels (applyset.h), keeping the data — Secrets (the
 * encryption key, the passwords) and volumes (the database, the
 * recordings) — unless purging. */
#include "uninstall.h"

#include <stdlib.h>
#include <string.h>

#include "applyset.h"
#include "cluster.h"
#include "preflight.h"

/* Deletion order: the resource first, so its controller and the garbage
 * collector take the backend down, then the workloads, then what they used. */
static const struct {
    const char *gk;
    const kube_resource *r;
    bool foreground; /* wait for dependents (pods, the backend) */
    /* Opt-in kinds (the monitoring objects): looked for only when the
     * install record lists them, so that an uninstall needs no right on
     * kinds that were never installed. */
    bool if_recorded;
} order[] = {
    {"ExoControlPlane.exo.dev", &KR_EXOCONTROLPLANES, true, false},
    {"ServiceMonitor.monitoring.coreos.com", &KR_SERVICEMONITORS, false, true},
    {"PodMonitor.monitoring.coreos.com", &KR_PODMONITORS, false, true},
    {"PrometheusRule.monitoring.coreos.com", &KR_PROMETHEUSRULES, false, true},
    {"Deployment.apps", &KR_DEPLOYMENTS, true, false},
    {"StatefulSet.apps", &KR_STATEFULSETS, true, false},
    {"Service", &KR_SERVICES, false, false},
    {"RoleBinding.rbac.authorization.k8s.io", &KR_ROLEBINDINGS, false, false},
    {"Role.rbac.authorization.k8s.io", &KR_ROLES, false, false},
    {"ServiceAccount", &KR_SERVICEACCOUNTS, false, false},
    {"ConfigMap", &KR_CONFIGMAPS, false, false},
    {"Secret", &KR_SECRETS, false, false},
    {"PersistentVolumeClaim", &KR_PVCS, false, false},
};

typedef struct {
    kube_client *c;
    const char *ns;
    bool purge, wait;
    double deadline;
    progress *pg;
    cJSON *deleted; /* [{r index, name}] to wait for */
    buf *kept;
    int n_deleted;
} uninstall;

static const char *name_of(const cJSON *o)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void keep(uninstall *u, const char *what, const char *name)
{
    buf_printf(u->kept, "%s%s %s", u->kept->len ? ", " : "", what, name);
}

static int delete_one(uninstall *u, size_t i, const char *name, exo_err *err)
{
    kube_propagation p = order[i].foreground ? KUBE_PROPAGATE_FOREGROUND : KUBE_PROPAGATE_BACKGROUND;
    if (kube_delete(u->c, order[i].r, u->ns, name, p, 0, err) < 0) {
        if (!kube_is_not_found(err))
            return err_prefix(err, "deleting %s %s", order[i].gk, name);
        err_clear(err);
        return 0;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "i", (double)i);
    cJSON_AddStringToObject(d, "name", name);
    cJSON_AddItemToArray(u->deleted, d);
    u->n_deleted++;
    progress_step(u->pg, "%s %s deleted", order[i].gk, name);
    return 0;
}

/* Whether gk is one of the comma-separated group kinds in list. */
static bool listed(const char *list, const char *gk)
{
    size_t n = strlen(gk);
    for (const char *p = list; (p = strstr(p, gk)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static int delete_kind(uninstall *u, size_t i, const char *selector, exo_err *err)
{
    cJSON *items = NULL;
    if (kube_list(u->c, order[i].r, u->ns, selector, 500, &items, NULL, err) < 0) {
        if (kube_is_not_found(err)) { /* the kind is not served: nothing of it */
            err_clear(err);
            return 0;
        }
        return err_prefix(err, "listing %s", order[i].gk);
    }
    int rc = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const char *name = name_of(it);
        if (!name || (strcmp(order[i].gk, "ConfigMap") == 0 && strcmp(name, APPLYSET_PARENT) == 0))
            continue; /* the record goes last */
        if (applyset_kept_kind(order[i].gk) && !u->purge) {
            keep(u, order[i].gk, name);
            continue;
        }
        if ((rc = delete_one(u, i, name, err)) < 0)
            break;
    }
    cJSON_Delete(items);
    return rc;
}

/* Polls until a deleted object is gone. */
static int wait_gone(uninstall *u, const kube_resource *r, const char *ns, const char *what,
                     const char *name, exo_err *err)
{
    buf label = BUF_INIT;
    buf_printf(&label, "%s %s", what, name);
    int rc = 0;
    for (;;) {
        cJSON *obj = NULL;
        if (kube_get(u->c, r, ns, name, &obj, err) < 0) {
            if (kube_is_not_found(err)) {
                err_clear(err);
                break;
            }
            rc = -1;
            break;
        }
        cJSON_Delete(obj);
        if (progress_elapsed(u->pg) > u->deadline) {
            rc = err_set(err, "timed out waiting for %s to be deleted (finalizers or "
                              "terminating pods: kubectl describe shows which)",
                         label.ptr);
            break;
        }
        progress_waiting(u->pg, label.ptr, "deleting");
        progress_sleep(u->pg, 500);
    }
    buf_free(&label);
    return rc;
}

/* The CRD is shared by every install on the cluster: only when no
 * ExoControlPlane remains anywhere. */
static int purge_crd(uninstall *u, exo_err *err)
{
    cJSON *items = NULL;
    if (kube_list(u->c, &KR_EXOCONTROLPLANES, "", NULL, 1, &items, NULL, err) < 0) {
        if (kube_is_not_found(err)) {
            err_clear(err);
            return 0;
        }
        return err_prefix(err, "listing ExoControlPlanes in all namespaces");
    }
    int left = cJSON_GetArraySize(items);
    cJSON_Delete(items);
    const char *crd = "exocontrolplanes.exo.dev";
    if (left > 0) {
        keep(u, "CustomResourceDefinition", "exocontrolplanes.exo.dev (other namespaces use it)");
        return 0;
    }
    if (kube_delete(u->c, &KR_CRDS, NULL, crd, KUBE_PROPAGATE_BACKGROUND, 0, err) < 0) {
        if (!kube_is_not_found(err))
            return err_prefix(err, "deleting CustomResourceDefinition %s", crd);
        err_clear(err);
        return 0;
    }
    progress_step(u->pg, "CustomResourceDefinition %s deleted", crd);
    return u->wait ? wait_gone(u, &KR_CRDS, NULL, "CustomResourceDefinition", crd, err) : 0;
}

static int run(uninstall *u, exo_err *err)
{
    if (preflight_reach(u->c, NULL, err) < 0)
        return -1;
    char *id = applyset_id(u->ns);
    buf sel = BUF_INIT;
    buf_printf(&sel, "%s=%s", APPLYSET_PART_OF_LABEL, id);
    free(id);
    bool ns_created = false;
    const char *recorded = ""; /* the record's group kinds, comma-separated */
    cJSON *parent = NULL;
    if (kube_get(u->c, &KR_CONFIGMAPS, u->ns, APPLYSET_PARENT, &parent, err) < 0) {
        if (!kube_is_not_found(err)) {
            buf_free(&sel);
            return err_prefix(err, "reading ConfigMap %s/%s", u->ns, APPLYSET_PARENT);
        }
        err_clear(err);
    } else {
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(parent, "metadata"), "annotations");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ann, APPLYSET_NS_CREATED);
        ns_created = cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0;
        const cJSON *gks = cJSON_GetObjectItemCaseSensitive(ann, APPLYSET_GROUP_KINDS);
        if (cJSON_IsString(gks))
            recorded = gks->valuestring;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0] && rc == 0; i++) {
        if (order[i].if_recorded && !listed(recorded, order[i].gk))
            continue;
        rc = delete_kind(u, i, sel.ptr, err);
        /* The resource first and alone: its backend goes before what it uses. */
        if (rc == 0 && i == 0 && u->wait) {
            const cJSON *d;
            cJSON_ArrayForEach(d, u->deleted)
            {
                if (rc == 0)
                    rc = wait_gone(u, order[0].r, u->ns, order[0].gk,
                                   cJSON_GetObjectItemCaseSensitive(d, "name")->valuestring, err);
            }
        }
    }
    /* The bundled Postgres's volumes come from its claim template: not
     * members, found by their labels. */
    if (rc == 0) {
        size_t pvc = sizeof order / sizeof order[0] - 1;
        rc = delete_kind(u, pvc, "app.kubernetes.io/name=exo-postgres,app.kubernetes.io/instance=exo", err);
    }
    /* The record stays while the data it lists does: a later --purge
     * still knows whether install created the namespace. */
    if (rc == 0 && parent && u->purge) {
        if (kube_delete(u->c, &KR_CONFIGMAPS, u->ns, APPLYSET_PARENT, KUBE_PROPAGATE_BACKGROUND, 0, err) < 0 &&
            !kube_is_not_found(err))
            rc = err_prefix(err, "deleting ConfigMap %s", APPLYSET_PARENT);
        err_clear(err);
    }
    if (rc == 0 && u->wait) {
        const cJSON *d;
        cJSON_ArrayForEach(d, u->deleted)
        {
            size_t i = (size_t)cJSON_GetObjectItemCaseSensitive(d, "i")->valueint;
            if (rc == 0 && i > 0)
                rc = wait_gone(u, order[i].r, u->ns, order[i].gk,
                               cJSON_GetObjectItemCaseSensitive(d, "name")->valuestring, err);
        }
    }
    if (rc == 0 && u->purge)
        rc = purge_crd(u, err);
    else if (rc == 0)
        keep(u, "CustomResourceDefinition", "exocontrolplanes.exo.dev");
    if (rc == 0 && u->purge && ns_created) {
        if (kube_delete(u->c, &KR_NAMESPACES, NULL, u->ns, KUBE_PROPAGATE_BACKGROUND, 0, err) < 0 &&
            !kube_is_not_found(err)) {
            rc = err_prefix(err, "deleting Namespace %s", u->ns);
        } else {
            err_clear(err);
            progress_step(u->pg, "Namespace %s deleted (install created it)", u->ns);
            if (u->wait)
                rc = wait_gone(u, &KR_NAMESPACES, NULL, "Namespace", u->ns, err);
        }
    } else if (rc == 0) {
        keep(u, "Namespace", u->ns);
    }
    if (rc == 0 && parent && !u->purge)
        keep(u, "ConfigMap", APPLYSET_PARENT " (the record of what install applied)");
    if (rc == 0 && !parent && u->n_deleted == 0 && !u->purge)
        progress_step(u->pg, "nothing of exo-install's was left in namespace %s", u->ns);
    cJSON_Delete(parent);
    buf_free(&sel);
    return rc;
}

int uninstall_run(kube_client *c, const uninstall_opts *o, progress *pg, uninstall_report *r,
                  exo_err *err)
{
    buf_init(&r->kept);
    uninstall u = {.c = c,
                   .ns = o->ns,
                   .purge = o->purge,
                   .wait = o->wait,
                   .deadline = (double)o->timeout_ms / 1000.0,
                   .pg = pg,
                   .deleted = cJSON_CreateArray(),
                   .kept = &r->kept};
    int rc = run(&u, err);
    r->deleted = u.n_deleted;
    cJSON_Delete(u.deleted);
    return rc;
}

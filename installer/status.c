/* `exo-install status`'s engine: what runs in the namespace, read-only. */
#include "status.h"

#include <string.h>

#include "buf.h"
#include "cluster.h"
#include "readiness.h"

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_at(const cJSON *o, const char *a, const char *b, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* GETs one object; *obj NULL when it does not exist. */
static int get_opt(kube_client *c, const kube_resource *r, const char *ns, const char *name,
                   cJSON **obj, exo_err *err)
{
    *obj = NULL;
    if (kube_get(c, r, ns, name, obj, err) == 0)
        return 0;
    if (kube_is_not_found(err)) {
        err_clear(err);
        return 0;
    }
    return -1;
}

/* One row: a workload's ready count and whether it is ready. */
static int add_workload(kube_client *c, cJSON *rows, const char *component, const kube_resource *r,
                        const char *kind, const char *ns, const char *name, const char *absent,
                        bool *all_ready, exo_err *err)
{
    cJSON *obj = NULL;
    if (get_opt(c, r, ns, name, &obj, err) < 0)
        return -1;
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "component", component);
    cJSON_AddStringToObject(row, "kind", kind);
    cJSON_AddStringToObject(row, "name", name);
    if (!obj) {
        cJSON_AddNullToObject(row, "ready");
        cJSON_AddNullToObject(row, "desired");
        cJSON_AddStringToObject(row, "status", absent);
        *all_ready = false;
    } else {
        bool ready = false;
        buf why = BUF_INIT;
        readiness_of(obj, &ready, &why);
        cJSON_AddNumberToObject(row, "ready", num_at(obj, "status", "readyReplicas", 0));
        cJSON_AddNumberToObject(row, "desired", num_at(obj, "spec", "replicas", 1));
        cJSON_AddStringToObject(row, "status", ready ? "Ready" : why.ptr);
        if (!ready)
            *all_ready = false;
        buf_free(&why);
    }
    cJSON_AddItemToArray(rows, row);
    cJSON_Delete(obj);
    return 0;
}

int status_collect(kube_client *c, const char *ns, cJSON *out, bool *ready, exo_err *err)
{
    *ready = true;
    cJSON *nsobj = NULL, *cp = NULL, *pg = NULL, *pvcs = NULL;
    int rc = -1;
    if (get_opt(c, &KR_NAMESPACES, NULL, ns, &nsobj, err) < 0)
        goto out;
    cJSON_AddStringToObject(out, "namespace", ns);
    if (!nsobj) {
        cJSON_AddBoolToObject(out, "installed", false);
        *ready = false;
        rc = 0;
        goto out;
    }
    /* A missing CRD answers 404 NotFound as well: not installed. */
    if (get_opt(c, &KR_EXOCONTROLPLANES, ns, "exo", &cp, err) < 0)
        goto out;
    if (get_opt(c, &KR_STATEFULSETS, ns, "exo-postgres", &pg, err) < 0)
        goto out;
    cJSON_AddBoolToObject(out, "installed", cp != NULL);
    cJSON *rows = cJSON_AddArrayToObject(out, "components");
    if (pg) {
        if (add_workload(c, rows, "postgres", &KR_STATEFULSETS, "StatefulSet", ns, "exo-postgres",
                         "missing", ready, err) < 0)
            goto out;
    } else {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "component", "postgres");
        cJSON_AddStringToObject(row, "kind", "Secret");
        cJSON_AddStringToObject(row, "name", "exo-database");
        cJSON_AddNullToObject(row, "ready");
        cJSON_AddNullToObject(row, "desired");
        cJSON_AddStringToObject(row, "status", "managed (the DSN in Secret exo-database)");
        cJSON_AddItemToArray(rows, row);
    }
    if (add_workload(c, rows, "controller", &KR_DEPLOYMENTS, "Deployment", ns, "exo-controller",
                     "missing", ready, err) < 0 ||
        add_workload(c, rows, "backend", &KR_DEPLOYMENTS, "Deployment", ns, "exo-backend",
                     "not made yet (exo-controller makes it)", ready, err) < 0)
        goto out;

    cJSON *vols = cJSON_AddArrayToObject(out, "volumes");
    if (kube_list(c, &KR_PVCS, ns, "app.kubernetes.io/instance=exo", 0, &pvcs, NULL, err) < 0)
        goto out;
    const cJSON *pvc;
    cJSON_ArrayForEach(pvc, pvcs)
    {
        cJSON *v = cJSON_CreateObject();
        const cJSON *capacity = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(pvc, "status"), "capacity");
        const char *cap = str_at(capacity, "storage", NULL);
        cJSON_AddStringToObject(v, "name", str_at(pvc, "metadata", "name"));
        cJSON_AddStringToObject(v, "phase", str_at(pvc, "status", "phase") ? str_at(pvc, "status", "phase") : "Unknown");
        if (cap)
            cJSON_AddStringToObject(v, "capacity", cap);
        else
            cJSON_AddNullToObject(v, "capacity");
        cJSON_AddItemToArray(vols, v);
    }
    cJSON *conds = cJSON_AddArrayToObject(out, "conditions");
    if (!cp) {
        *ready = false;
    } else {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(cp, "status");
        bool cp_ready = false;
        const cJSON *cond;
        cJSON_ArrayForEach(cond, cJSON_GetObjectItemCaseSensitive(st, "conditions"))
        {
            cJSON *c2 = cJSON_CreateObject();
            static const char *const keys[] = {"type", "status", "reason", "message",
                                               "lastTransitionTime"};
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                cJSON_AddStringToObject(c2, keys[i], str_at(cond, keys[i], NULL) ? str_at(cond, keys[i], NULL) : "");
            const char *type = str_at(cond, "type", NULL), *s = str_at(cond, "status", NULL);
            if (type && s && strcmp(type, "Ready") == 0 && strcmp(s, "True") == 0)
                cp_ready = true;
            cJSON_AddItemToArray(conds, c2);
        }
        if (num_at(st, "observedGeneration", NULL, -1) < num_at(cp, "metadata", "generation", 0))
            cp_ready = false;
        if (!cp_ready)
            *ready = false;
    }
    rc = 0;
out:
    cJSON_AddBoolToObject(out, "ready", rc == 0 && *ready);
    cJSON_Delete(nsobj);
    cJSON_Delete(cp);
    cJSON_Delete(pg);
    cJSON_Delete(pvcs);
    return rc;
}

void status_print_table(FILE *out, const cJSON *s)
{
    const char *ns = str_at(s, "namespace", NULL);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "installed"))) {
        fprintf(out, "Exo is not installed in namespace %s (no ExoControlPlane exo).\n", ns);
        return;
    }
    fprintf(out, "%-12s %-28s %-7s %s\n", "COMPONENT", "OBJECT", "READY", "STATUS");
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(s, "components"))
    {
        char obj[160], ready[32] = "-";
        snprintf(obj, sizeof obj, "%s/%s", str_at(row, "kind", NULL), str_at(row, "name", NULL));
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(row, "ready");
        if (cJSON_IsNumber(r))
            snprintf(ready, sizeof ready, "%d/%d", r->valueint,
                     (int)num_at(row, "desired", NULL, 0));
        fprintf(out, "%-12s %-28s %-7s %s\n", str_at(row, "component", NULL), obj, ready,
               str_at(row, "status", NULL));
    }
    const cJSON *vols = cJSON_GetObjectItemCaseSensitive(s, "volumes");
    if (cJSON_GetArraySize(vols) > 0) {
        fprintf(out, "\n%-28s %-8s %s\n", "VOLUME", "PHASE", "CAPACITY");
        const cJSON *v;
        cJSON_ArrayForEach(v, vols)
        {
            const char *cap = str_at(v, "capacity", NULL);
            fprintf(out, "%-28s %-8s %s\n", str_at(v, "name", NULL), str_at(v, "phase", NULL), cap ? cap : "-");
        }
    }
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(s, "conditions");
    fprintf(out, "\nExoControlPlane %s/exo:", ns);
    if (cJSON_GetArraySize(conds) == 0) {
        fprintf(out, " no conditions yet (is exo-controller running?)\n");
        return;
    }
    fprintf(out, "\n%-20s %-8s %-24s %s\n", "CONDITION", "STATUS", "REASON", "MESSAGE");
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    fprintf(out, "%-20s %-8s %-24s %s\n", str_at(c, "type", NULL), str_at(c, "status", NULL),
           str_at(c, "reason", NULL), str_at(c, "message", NULL));
}

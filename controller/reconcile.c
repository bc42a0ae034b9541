#include "reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_objects.h"
#include "buf.h"
#include "jpath.h"
#include "log.h"
#include "refs.h"
#include "status.h"
#include "xalloc.h"

const kube_resource RES_ECP = {"exo.dev", "v1alpha1", "exocontrolplanes", true};
const kube_resource RES_DEPLOYMENTS = {"apps", "v1", "deployments", true};
const kube_resource RES_SERVICES = {"", "v1", "services", true};
const kube_resource RES_SECRETS = {"", "v1", "secrets", true};
const kube_resource RES_CONFIGMAPS = {"", "v1", "configmaps", true};
const kube_resource RES_PVCS = {"", "v1", "persistentvolumeclaims", true};
const kube_resource RES_EVENTS = {"", "v1", "events", true};
const kube_resource RES_LEASES = {"coordination.k8s.io", "v1", "leases", true};

unsigned long reconcile_writes(const reconciler *r)
{
    return r->counts.applies + r->counts.status_writes + r->counts.events;
}

static void now_rfc3339(const reconciler *r, char out[32])
{
    if (r->fixed_now) {
        snprintf(out, 32, "%s", r->fixed_now);
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The server's answer to a write replaces the cached object (unless the
 * watch already brought a newer one). */
static void remember(store *s, cJSON *obj)
{
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                            "managedFields");
    cJSON_Delete(store_put_newer(s, obj, NULL));
}

/* Applies want unless have already holds every field of it. Returns 1 when
 * it applied, 0 when nothing was sent. */
static int ensure(reconciler *r, const kube_resource *res, store *s, const cJSON *have,
                  const cJSON *want, exo_err *err)
{
    /* metadata and spec only: objects from a list carry no apiVersion or
     * kind, and status is the server's. */
    if (have && jpath_covers(jpath_get(have, "metadata"), jpath_get(want, "metadata")) &&
        jpath_covers(jpath_get(have, "spec"), jpath_get(want, "spec")))
        return 0;
    const char *ns = jpath_str(want, "metadata.namespace", NULL);
    cJSON *got = NULL;
    if (kube_apply(r->c, res, ns, want, FIELD_MANAGER, KUBE_FORCE, &got, err) < 0)
        return err_prefix(err, "apply %s %s", jpath_str(want, "kind", ""),
                          jpath_str(want, "metadata.name", ""));
    r->counts.applies++;
    log_msg(LOG_INFO, have ? "corrected drift" : "created", "kind", jpath_str(want, "kind", ""),
            "name", jpath_str(want, "metadata.name", ""), "namespace", ns, NULL);
    if (got)
        remember(s, got);
    return 1;
}

static int post_event(reconciler *r, const cJSON *ecp, bool warning, const char *reason,
                      const char *message, const char *now, exo_err *err)
{
    const char *ns = jpath_str(ecp, "metadata.namespace", "");
    const char *name = jpath_str(ecp, "metadata.name", "");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    buf ename = BUF_INIT;
    /* client-go's naming: the object's name and a unique hex suffix. */
    buf_printf(&ename, "%s.%llx", name,
               (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "apiVersion", "v1");
    cJSON_AddStringToObject(ev, "kind", "Event");
    cJSON *md = cJSON_AddObjectToObject(ev, "metadata");
    cJSON_AddStringToObject(md, "name", ename.ptr);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON *io = cJSON_AddObjectToObject(ev, "involvedObject");
    cJSON_AddStringToObject(io, "apiVersion", jpath_str(ecp, "apiVersion", "exo.dev/v1alpha1"));
    cJSON_AddStringToObject(io, "kind", "ExoControlPlane");
    cJSON_AddStringToObject(io, "name", name);
    cJSON_AddStringToObject(io, "namespace", ns);
    cJSON_AddStringToObject(io, "uid", jpath_str(ecp, "metadata.uid", ""));
    cJSON_AddStringToObject(io, "resourceVersion", jpath_str(ecp, "metadata.resourceVersion", ""));
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "message", message);
    cJSON_AddStringToObject(ev, "type", warning ? "Warning" : "Normal");
    cJSON *src = cJSON_AddObjectToObject(ev, "source");
    cJSON_AddStringToObject(src, "component", FIELD_MANAGER);
    cJSON_AddStringToObject(ev, "reportingComponent", FIELD_MANAGER);
    cJSON_AddStringToObject(ev, "reportingInstance", r->identity ? r->identity : FIELD_MANAGER);
    cJSON_AddStringToObject(ev, "firstTimestamp", now);
    cJSON_AddStringToObject(ev, "lastTimestamp", now);
    cJSON_AddNumberToObject(ev, "count", 1);
    int rc = kube_create(r->c, &RES_EVENTS, ns, ev, 0, NULL, err);
    if (rc < 0 && kube_is_already_exists(err)) {
        /* The name is this call's own (a nanosecond suffix): a retried
         * create whose first answer was lost made it. */
        err_clear(err);
        rc = 0;
    }
    cJSON_Delete(ev);
    buf_free(&ename);
    if (rc < 0)
        return err_prefix(err, "create Event for ExoControlPlane %s", name);
    r->counts.events++;
    return 0;
}

static int write_status(reconciler *r, const cJSON *ecp, const cJSON *status, exo_err *err)
{
    buf path = BUF_INIT;
    kube_resource_path(&path, &RES_ECP, jpath_str(ecp, "metadata.namespace", ""),
                       jpath_str(ecp, "metadata.name", ""));
    buf_puts(&path, "/status");
    kube_query_add(&path, "fieldManager", FIELD_MANAGER); /* who wrote it, in managedFields */
    /* A merge patch replaces the conditions list whole, which is what we
     * mean: the controller owns every condition. */
    cJSON *patch = cJSON_CreateObject();
    cJSON_AddItemToObject(patch, "status", cJSON_Duplicate(status, true));
    char *body = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);
    buf resp = BUF_INIT;
    int rc = kube_request(r->c, "PATCH", path.ptr, "application/merge-patch+json", body,
                          strlen(body), &resp, NULL, err);
    free(body);
    buf_free(&path);
    if (rc < 0) {
        buf_free(&resp);
        return err_prefix(err, "update status of ExoControlPlane %s",
                          jpath_str(ecp, "metadata.name", ""));
    }
    r->counts.status_writes++;
    cJSON *got = cJSON_ParseWithLength(resp.ptr, resp.len);
    buf_free(&resp);
    if (cJSON_IsObject(got) && jpath_get(got, "metadata.name"))
        remember(r->ecps, got); /* ecp (borrowed from this store) is not used after this */
    else
        cJSON_Delete(got);
    return 0;
}

int reconcile_one(reconciler *r, const char *key, exo_err *err)
{
    const cJSON *ecp = store_get(r->ecps, key);
    if (!ecp || jpath_get(ecp, "metadata.deletionTimestamp"))
        return 0; /* gone or going: the garbage collector removes what it owned */
    const char *ns = jpath_str(ecp, "metadata.namespace", "");
    int rc = -1;
    cJSON *status = NULL, *dep_want = NULL, *svc_want = NULL, *ecp_copy = NULL;
    ecp_status st = {0};
    refs_result refs;
    refs_check(&refs, ecp, r->secrets, r->configmaps, r->pvcs);

    char *name = backend_name(ecp);
    const cJSON *dep = store_get_ns(r->deployments, ns, name);
    const cJSON *svc = store_get_ns(r->services, ns, name);
    /* Refused: leave whatever runs alone, and say why in the status. */
    if (!refs.database.reason && !refs.blocking.reason) {
        backend_inputs in = {refs.checksum, refs.recreate};
        dep_want = backend_deployment(ecp, &in);
        svc_want = backend_service(ecp);
        if (ensure(r, &RES_DEPLOYMENTS, r->deployments, dep, dep_want, err) < 0 ||
            ensure(r, &RES_SERVICES, r->services, svc, svc_want, err) < 0)
            goto out;
        dep = store_get_ns(r->deployments, ns, name);
    }

    status_inputs si = {
        .generation = jpath_int(ecp, "metadata.generation", 0),
        .replicas = jpath_int(ecp, "spec.backend.replicas", 1),
        .database = refs.database.reason ? &refs.database : NULL,
        .blocking = refs.blocking.reason ? &refs.blocking : NULL,
        .deployment = dep,
        .database_ok_msg = refs.database_ok,
    };
    status_derive(&st, &si);
    char now[32];
    now_rfc3339(r, now);
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(ecp, "status");
    status = status_json(&st, old, now);
    if (old && cJSON_Compare(old, status, true)) {
        rc = 0;
        goto out;
    }
    /* Writing status replaces the cached resource; events still need it. */
    ecp_copy = cJSON_Duplicate(ecp, true);
    ecp = ecp_copy;
    ns = jpath_str(ecp, "metadata.namespace", "");
    old = cJSON_GetObjectItemCaseSensitive(ecp, "status");
    if (write_status(r, ecp, status, err) < 0)
        goto out;
    for (int i = 0; i < COND_N; i++) {
        if (!status_eventful(&st, old, (cond_id)i))
            continue;
        const cond *c = &st.c[i];
        buf msg = BUF_INIT;
        buf_printf(&msg, "%s=%s: %s", status_cond_types[i], c->value ? "True" : "False",
                   c->message);
        log_msg(LOG_INFO, "condition changed", "namespace", ns, "name",
                jpath_str(ecp, "metadata.name", ""), "type", status_cond_types[i], "status",
                c->value ? "True" : "False", "reason", c->reason, "message", c->message, NULL);
        /* Best effort, as client-go's recorder: the status holds the truth. */
        exo_err e = EXO_ERR_INIT;
        if (post_event(r, ecp, status_is_warning(&st, (cond_id)i), c->reason, msg.ptr, now, &e) < 0)
            log_msg(LOG_WARN, "event not recorded", "error", err_msg(&e), NULL);
        err_clear(&e);
        buf_free(&msg);
    }
    rc = 0;
out:
    free(name);
    refs_free(&refs);
    status_free(&st);
    cJSON_Delete(status);
    cJSON_Delete(dep_want);
    cJSON_Delete(svc_want);
    cJSON_Delete(ecp_copy);
    return rc;
}

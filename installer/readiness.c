#include "readiness.h"

#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define MAX_EVENTS 5

static const cJSON *at(const cJSON *o, const char *a)
{
    return cJSON_GetObjectItemCaseSensitive(o, a);
}

static const char *str(const cJSON *o, const char *a)
{
    const cJSON *v = at(o, a);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *a, double dflt)
{
    const cJSON *v = at(o, a);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *kind_of(const cJSON *doc)
{
    const char *k = str(doc, "kind");
    return k ? k : "";
}

bool readiness_awaited(const cJSON *doc)
{
    const char *k = kind_of(doc);
    return strcmp(k, "StatefulSet") == 0 || strcmp(k, "Deployment") == 0 ||
           strcmp(k, "CustomResourceDefinition") == 0 || strcmp(k, "ExoControlPlane") == 0;
}

/* The condition of type t, or NULL. */
static const cJSON *condition(const cJSON *status, const char *t)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, at(status, "conditions"))
    {
        const char *type = str(c, "type");
        if (type && strcmp(type, t) == 0)
            return c;
    }
    return NULL;
}

static bool condition_true(const cJSON *status, const char *t)
{
    const cJSON *c = condition(status, t);
    const char *s = c ? str(c, "status") : NULL;
    return s && strcmp(s, "True") == 0;
}

/* The controller has seen the latest spec. */
static bool observed(const cJSON *obj)
{
    const cJSON *md = at(obj, "metadata"), *st = at(obj, "status");
    return num(st, "observedGeneration", -1) >= num(md, "generation", 0);
}

static bool workload_ready(const cJSON *obj, bool deployment, buf *why)
{
    const cJSON *spec = at(obj, "spec"), *st = at(obj, "status");
    int want = (int)num(spec, "replicas", 1);
    int ready = (int)num(st, "readyReplicas", 0);
    int updated = (int)num(st, "updatedReplicas", 0);
    int available = (int)num(st, "availableReplicas", 0);
    buf_printf(why, "%d/%d ready", ready, want);
    if (!observed(obj)) {
        buf_puts(why, ", change not yet observed");
        return false;
    }
    if (deployment) {
        const cJSON *p = condition(st, "Progressing");
        const char *reason = p ? str(p, "reason") : NULL;
        if (reason && strcmp(reason, "ProgressDeadlineExceeded") == 0)
            buf_puts(why, ", progress deadline exceeded");
        if (updated < want)
            buf_printf(why, ", %d/%d updated", updated, want);
        return updated >= want && available >= want && ready >= want &&
               (int)num(st, "replicas", 0) == want;
    }
    const char *cur = str(st, "currentRevision"), *upd = str(st, "updateRevision");
    bool rolled = !cur || !upd || strcmp(cur, upd) == 0;
    if (!rolled)
        buf_puts(why, ", rolling out");
    return ready >= want && rolled;
}

void readiness_of(const cJSON *live, bool *ready, buf *why)
{
    *ready = false;
    const char *k = kind_of(live);
    const cJSON *st = at(live, "status");
    if (strcmp(k, "CustomResourceDefinition") == 0) {
        *ready = condition_true(st, "Established");
        buf_puts(why, *ready ? "established" : "not established yet");
    } else if (strcmp(k, "StatefulSet") == 0 || strcmp(k, "Deployment") == 0) {
        *ready = workload_ready(live, strcmp(k, "Deployment") == 0, why);
    } else if (strcmp(k, "ExoControlPlane") == 0) {
        const cJSON *cond = condition(st, "Ready");
        if (!cond) {
            buf_puts(why, "no status yet (is exo-controller running?)");
            return;
        }
        const char *reason = str(cond, "reason"), *msg = str(cond, "message");
        *ready = condition_true(st, "Ready") && observed(live);
        buf_printf(why, "Ready=%s", str(cond, "status") ? str(cond, "status") : "?");
        if (reason)
            buf_printf(why, " %s", reason);
        if (msg && *msg && !*ready)
            buf_printf(why, ": %s", msg);
        if (condition_true(st, "Ready") && !observed(live))
            buf_puts(why, " (for an older generation)");
    } else {
        *ready = true;
        buf_puts(why, "exists");
    }
}

int readiness_check(kube_client *c, const cJSON *doc, bool *ready, buf *why, exo_err *err)
{
    *ready = false;
    const cJSON *md = at(doc, "metadata");
    const kube_resource *r = cluster_resource_of(str(doc, "apiVersion"), kind_of(doc));
    if (!r) {
        *ready = true;
        return 0;
    }
    cJSON *live = NULL;
    if (kube_get(c, r, str(md, "namespace"), str(md, "name"), &live, err) < 0) {
        if (kube_is_not_found(err)) {
            err_clear(err);
            buf_puts(why, "not found");
            return 0;
        }
        return -1;
    }
    readiness_of(live, ready, why);
    cJSON_Delete(live);
    return 0;
}

/* "key=value,key=value" from a matchLabels object. */
static void selector_of(const cJSON *match_labels, buf *out)
{
    const cJSON *l;
    cJSON_ArrayForEach(l, match_labels)
    {
        if (cJSON_IsString(l))
            buf_printf(out, "%s%s=%s", out->len ? "," : "", l->string, l->valuestring);
    }
}

static int by_time(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x, y);
}

/* The last events about one object, oldest first. */
static void events_of(kube_client *c, const char *ns, const char *kind, const char *name, buf *out)
{
    buf path = BUF_INIT;
    kube_resource_path(&path, &KR_EVENTS, ns, NULL);
    buf fs = BUF_INIT;
    buf_printf(&fs, "involvedObject.kind=%s,involvedObject.name=%s", kind, name);
    kube_query_add(&path, "fieldSelector", fs.ptr);
    buf resp = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    if (kube_request(c, "GET", path.ptr, NULL, NULL, 0, &resp, NULL, &err) == 0) {
        cJSON *list = cJSON_ParseWithLength(resp.ptr, resp.len);
        const cJSON *items = at(list, "items");
        int n = cJSON_GetArraySize(items);
        char **lines = n > 0 ? calloc((size_t)n, sizeof *lines) : NULL;
        int k = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, items)
        {
            const char *when = str(e, "lastTimestamp");
            if (!when)
                when = str(e, "eventTime");
            buf line = BUF_INIT;
            /* Sorts by time: the line starts with it, cut off when printed. */
            buf_printf(&line, "%-30s  event %s %s: %s %s%s", when ? when : "", kind, name,
                       str(e, "reason") ? str(e, "reason") : "",
                       str(e, "message") ? str(e, "message") : "",
                       num(e, "count", 1) > 1 ? " (repeated)" : "");
            if (lines)
                lines[k++] = buf_detach(&line);
            buf_free(&line);
        }
        if (k)
            qsort(lines, (size_t)k, sizeof *lines, by_time);
        for (int i = 0; i < k; i++) {
            /* The same event twice (two Event objects) is shown once. */
            bool repeat = i + 1 < k && strcmp(lines[i] + 32, lines[i + 1] + 32) == 0;
            if (i >= k - MAX_EVENTS && !repeat)
                buf_printf(out, "  %s\n", lines[i] + 32);
            free(lines[i]);
        }
        free(lines);
        cJSON_Delete(list);
    }
    err_clear(&err);
    buf_free(&resp);
    buf_free(&fs);
    buf_free(&path);
}

static void container_states(const cJSON *pod, buf *out)
{
    const char *pname = str(at(pod, "metadata"), "name");
    const cJSON *cs;
    cJSON_ArrayForEach(cs, at(at(pod, "status"), "containerStatuses"))
    {
        const cJSON *state = at(cs, "state");
        const cJSON *w = at(state, "waiting"), *t = at(state, "terminated");
        buf_printf(out, "  pod %s container %s: ", pname, str(cs, "name") ? str(cs, "name") : "?");
        if (w)
            buf_printf(out, "waiting (%s%s%s)", str(w, "reason") ? str(w, "reason") : "",
                       str(w, "message") ? ": " : "", str(w, "message") ? str(w, "message") : "");
        else if (t)
            buf_printf(out, "terminated (exit code %d, %s)", (int)num(t, "exitCode", -1),
                       str(t, "reason") ? str(t, "reason") : "");
        else
            buf_printf(out, "running, %s", cJSON_IsTrue(at(cs, "ready")) ? "ready" : "not ready");
        int restarts = (int)num(cs, "restartCount", 0);
        if (restarts)
            buf_printf(out, ", %d restarts", restarts);
        const cJSON *last = at(at(cs, "lastState"), "terminated");
        if (last)
            buf_printf(out, "; last exit code %d (%s)", (int)num(last, "exitCode", -1),
                       str(last, "reason") ? str(last, "reason") : "");
        buf_putc(out, '\n');
    }
}

void readiness_diagnose(kube_client *c, const cJSON *doc, buf *out)
{
    const cJSON *md = at(doc, "metadata");
    const char *ns = str(md, "namespace"), *name = str(md, "name");
    const char *k = kind_of(doc);
    if (!ns || !name)
        return;
    events_of(c, ns, k, name, out);
    if (strcmp(k, "StatefulSet") != 0 && strcmp(k, "Deployment") != 0)
        return;
    buf sel = BUF_INIT;
    selector_of(at(at(at(doc, "spec"), "selector"), "matchLabels"), &sel);
    cJSON *pods = NULL;
    exo_err err = EXO_ERR_INIT;
    if (kube_list(c, &KR_PODS, ns, sel.ptr, 0, &pods, NULL, &err) == 0) {
        if (cJSON_GetArraySize(pods) == 0)
            buf_printf(out, "  no pods match %s\n", sel.ptr);
        const cJSON *pod;
        cJSON_ArrayForEach(pod, pods)
        {
            const char *pname = str(at(pod, "metadata"), "name");
            const cJSON *pst = at(pod, "status");
            buf_printf(out, "  pod %s: %s", pname, str(pst, "phase") ? str(pst, "phase") : "?");
            const cJSON *sched = condition(pst, "PodScheduled");
            if (sched && !condition_true(pst, "PodScheduled"))
                buf_printf(out, ", not scheduled: %s",
                           str(sched, "message") ? str(sched, "message") : "");
            buf_putc(out, '\n');
            container_states(pod, out);
            events_of(c, ns, "Pod", pname, out);
        }
    }
    err_clear(&err);
    cJSON_Delete(pods);
    buf_free(&sel);
}

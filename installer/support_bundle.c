#include "support_bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cluster.h"
#include "status.h"
#include "support_bundle_redact.h"
#include "support_bundle_tar.h"
#include "version.h"
#include "xalloc.h"

/* Exo's pods carry this label (the installer's and the controller's). */
#define EXO_PODS "app.kubernetes.io/part-of=exo"
/* A container's log beyond this is cut from its start: the tail matters. */
#define LOG_MAX (8 * 1024 * 1024)

static const kube_resource replicasets = {"apps", "v1", "replicasets", true};

/* What goes into resources/, in this order; Secrets are read first of all,
 * for their values to hide everywhere else. */
static const struct {
    const char *file;
    const kube_resource *r;
} lists[] = {
    {"exocontrolplanes", &KR_EXOCONTROLPLANES},
    {"deployments", &KR_DEPLOYMENTS},
    {"replicasets", &replicasets},
    {"statefulsets", &KR_STATEFULSETS},
    {"pods", &KR_PODS},
    {"services", &KR_SERVICES},
    {"persistentvolumeclaims", &KR_PVCS},
    {"configmaps", &KR_CONFIGMAPS},
    {"events", &KR_EVENTS},
    {"servicemonitors", &KR_SERVICEMONITORS},
    {"podmonitors", &KR_PODMONITORS},
    {"prometheusrules", &KR_PROMETHEUSRULES},
};

typedef struct {
    kube_client *c;
    const support_bundle_opts *o;
    support_bundle_redactor *red;
    buf tar;
    buf errors; /* one line per thing that could not be read */
    int files;
    int rc;
    exo_err *err;
} bundle;

/* Adds a member under SUPPORT_BUNDLE_DIR, as it is. */
static void add_member(bundle *b, const char *name, const char *data)
{
    if (b->rc < 0)
        return;
    buf path = BUF_INIT;
    buf_printf(&path, "%s/%s", SUPPORT_BUNDLE_DIR, name);
    if (support_bundle_tar_add(&b->tar, path.ptr, data, strlen(data), b->o->now, b->err) < 0)
        b->rc = -1;
    else
        b->files++;
    buf_free(&path);
}

/* Text (logs, tables): redacted line by line. */
static void add_text(bundle *b, const char *name, const char *text)
{
    char *safe = support_bundle_redact_text(b->red, text);
    add_member(b, name, safe);
    free(safe);
}

/* JSON: redacted as a tree, string by string, before it is printed (the
 * printed text is not redacted again: a DSN redaction there could eat the
 * quotes that close a string). */
static void add_json(bundle *b, const char *name, cJSON *doc)
{
    support_bundle_redact_object(b->red, doc);
    char *text = cJSON_Print(doc);
    buf t = BUF_INIT;
    buf_printf(&t, "%s\n", text);
    add_member(b, name, t.ptr);
    buf_free(&t);
    free(text);
}

/* Notes what could not be read; the error's text is redacted like the rest. */
static void note(bundle *b, const char *what, exo_err *e)
{
    buf_printf(&b->errors, "%s: %s\n", what, err_msg(e));
    err_clear(e);
}

static void add_version(bundle *b)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "exoInstall", EXO_VERSION);
    cJSON_AddStringToObject(v, "namespace", b->o->ns);
    buf resp = BUF_INIT;
    exo_err e = EXO_ERR_INIT;
    long status = 0;
    if (kube_request(b->c, "GET", "/version", NULL, NULL, 0, &resp, &status, &e) == 0) {
        cJSON *k = cJSON_ParseWithLength(resp.ptr, resp.len);
        if (k)
            cJSON_AddItemToObject(v, "kubernetes", k);
    } else {
        note(b, "GET /version", &e);
    }
    buf_free(&resp);
    add_json(b, "version.json", v);
    cJSON_Delete(v);
}

static void add_status(bundle *b)
{
    cJSON *s = cJSON_CreateObject();
    bool ready = false;
    exo_err e = EXO_ERR_INIT;
    if (status_collect(b->c, b->o->ns, s, &ready, &e) < 0) {
        note(b, "exo-install status", &e);
        cJSON_Delete(s);
        return;
    }
    char *table = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&table, &len);
    if (f) {
        status_print_table(f, s);
        fclose(f);
        add_text(b, "status.txt", table);
        free(table);
    }
    add_json(b, "status.json", s);
    cJSON_Delete(s);
}

static void add_log(bundle *b, const char *pod, const char *container, bool previous)
{
    char *p = curl_easy_escape(NULL, pod, 0), *ct = curl_easy_escape(NULL, container, 0);
    buf path = BUF_INIT, resp = BUF_INIT;
    buf_init_max(&resp, LOG_MAX);
    buf_printf(&path, "/api/v1/namespaces/%s/pods/%s/log?container=%s&tailLines=%d%s", b->o->ns,
               p, ct, b->o->tail, previous ? "&previous=true" : "");
    exo_err e = EXO_ERR_INIT;
    long status = 0;
    buf name = BUF_INIT;
    buf_printf(&name, "logs/%s/%s%s.log", pod, container, previous ? ".previous" : "");
    if (kube_request(b->c, "GET", path.ptr, NULL, NULL, 0, &resp, &status, &e) == 0) {
        buf_putc(&resp, '\0');
        add_text(b, name.ptr, resp.ptr ? resp.ptr : "");
    } else {
        note(b, name.ptr, &e);
    }
    buf_free(&name);
    buf_free(&resp);
    buf_free(&path);
    curl_free(p);
    curl_free(ct);
}

/* The logs of every container of the Exo pods; the previous run's too for a
 * container that restarted (a boot that failed is there). */
static void add_logs(bundle *b, const cJSON *pods)
{
    const cJSON *pod;
    cJSON_ArrayForEach (pod, pods) {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
        const cJSON *part = cJSON_GetObjectItemCaseSensitive(labels, "app.kubernetes.io/part-of");
        if (!cJSON_IsString(name) || !cJSON_IsString(part) || strcmp(part->valuestring, "exo"))
            continue;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(pod, "status"), *cs;
        cJSON_ArrayForEach (cs, cJSON_GetObjectItemCaseSensitive(st, "containerStatuses")) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(cs, "name");
            const cJSON *restarts = cJSON_GetObjectItemCaseSensitive(cs, "restartCount");
            if (!cJSON_IsString(c))
                continue;
            add_log(b, name->valuestring, c->valuestring, false);
            if (cJSON_IsNumber(restarts) && restarts->valuedouble > 0)
                add_log(b, name->valuestring, c->valuestring, true);
        }
    }
}

static const char readme[] =
    "exo-install support-bundle: what a maintainer needs to debug an Exo install.\n"
    "\n"
    "version.json        exo-install's and the Kubernetes API server's versions\n"
    "status.txt, .json   what `exo-install status` shows\n"
    "resources/*.json    the namespace's objects: the ExoControlPlane (its spec is the\n"
    "                    install's values, its status the controller's view), workloads,\n"
    "                    pods, Services, volumes, ConfigMaps (the install record\n"
    "                    exo-applyset among them), Events, Secrets (keys only),\n"
    "                    monitoring objects\n"
    "logs/POD/C.log      the last lines of each container of the Exo pods\n"
    "                    (C.previous.log: the run before its last restart)\n"
    "errors.txt          what could not be read, and why\n"
    "\n"
    "Redacted: every Secret value, wherever it appears (as is, base64, the password\n"
    "of a DSN), every DSN password, and environment values named like secrets.\n";

int support_bundle_collect(kube_client *c, const support_bundle_opts *o, buf *tgz, int *n_files,
                           exo_err *err)
{
    bundle b = {.c = c, .o = o, .red = support_bundle_redactor_new(), .err = err};
    buf_init(&b.tar);
    buf_init(&b.errors);
    cJSON *pods = NULL;

    /* First: can the cluster be read at all? A refusal (403: no right to
     * read Secrets) is noted; no answer at all ends the command. */
    cJSON *secrets = NULL;
    if (kube_list(c, &KR_SECRETS, o->ns, NULL, 500, &secrets, NULL, err) < 0) {
        if (err->http_status == 0 || err->http_status >= 500) {
            b.rc = -1;
            goto out;
        }
        note(&b, "listing secrets", err);
    } else {
        support_bundle_redactor_add_secrets(b.red, secrets);
    }
    add_text(&b, "README.txt", readme);
    add_version(&b);
    add_status(&b);
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        cJSON *items = NULL;
        exo_err e = EXO_ERR_INIT;
        buf name = BUF_INIT;
        buf_printf(&name, "resources/%s.json", lists[i].file);
        if (kube_list(c, lists[i].r, o->ns, NULL, 500, &items, NULL, &e) < 0) {
            /* A kind that is not served (no Prometheus Operator) is no error. */
            if (kube_is_not_found(&e))
                err_clear(&e);
            else
                note(&b, name.ptr, &e);
        } else {
            if (lists[i].r == &KR_PODS)
                pods = cJSON_Duplicate(items, true);
            add_json(&b, name.ptr, items);
        }
        cJSON_Delete(items);
        buf_free(&name);
    }
    if (secrets)
        add_json(&b, "resources/secrets.json", secrets);
    add_logs(&b, pods);
    add_text(&b, "errors.txt", b.errors.len ? b.errors.ptr : "(none)\n");
    if (b.rc == 0) {
        support_bundle_tar_finish(&b.tar);
        b.rc = support_bundle_gzip(tgz, b.tar.ptr, b.tar.len, err);
    }
    if (n_files)
        *n_files = b.files;
out:
    cJSON_Delete(secrets);
    cJSON_Delete(pods);
    buf_free(&b.tar);
    buf_free(&b.errors);
    support_bundle_redactor_free(b.red);
    return b.rc;
}

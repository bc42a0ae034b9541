#include "applyset.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "base64.h"
#include "buf.h"
#include "cluster.h"
#include "version.h"
#include "xalloc.h"

char *applyset_id(const char *ns)
{
    buf key = BUF_INIT;
    /* name.namespace.kind.group; the core group is "". */
    buf_printf(&key, "%s.%s.ConfigMap.", APPLYSET_PARENT, ns);
    unsigned char sum[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key.ptr, key.len, sum);
    buf_free(&key);
    char *b64 = base64_encode(sum, sizeof sum);
    for (char *p = b64; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    char *eq = strchr(b64, '=');
    if (eq)
        *eq = '\0';
    buf id = BUF_INIT;
    buf_printf(&id, "applyset-%s-v1", b64);
    free(b64);
    return buf_detach(&id);
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool applyset_member(const cJSON *doc)
{
    return str_at(doc, "metadata", "namespace") != NULL;
}

void applyset_label(cJSON *doc, const char *id)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
    if (!labels)
        labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_DeleteItemFromObjectCaseSensitive(labels, APPLYSET_PART_OF_LABEL);
    cJSON_AddStringToObject(labels, APPLYSET_PART_OF_LABEL, id);
}

char *applyset_group_kind(const cJSON *doc)
{
    const char *av = str_at(doc, "apiVersion", NULL);
    const char *kind = str_at(doc, "kind", NULL);
    buf gk = BUF_INIT;
    const char *slash = av ? strchr(av, '/') : NULL;
    if (slash)
        buf_printf(&gk, "%s.%.*s", kind ? kind : "", (int)(slash - av), av);
    else
        buf_puts(&gk, kind ? kind : "");
    return buf_detach(&gk);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds s to the set unless present. */
static void add_unique(char ***set, size_t *n, const char *s, size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen((*set)[i]) == len && strncmp((*set)[i], s, len) == 0)
            return;
    *set = xrealloc(*set, (*n + 1) * sizeof **set);
    (*set)[(*n)++] = xstrndup(s, len);
}

char *applyset_group_kinds(const cJSON *docs, const char *also)
{
    char **set = NULL;
    size_t n = 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        if (!applyset_member(doc))
            continue;
        char *gk = applyset_group_kind(doc);
        add_unique(&set, &n, gk, strlen(gk));
        free(gk);
    }
    for (const char *p = also; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len)
            add_unique(&set, &n, p, len);
        p += len + (p[len] == ',');
    }
    if (n)
        qsort(set, n, sizeof *set, cmp_str);
    buf out = BUF_INIT;
    buf_puts(&out, "");
    for (size_t i = 0; i < n; i++) {
        buf_printf(&out, "%s%s", i ? "," : "", set[i]);
        free(set[i]);
    }
    free(set);
    return buf_detach(&out);
}

cJSON *applyset_parent(const char *ns, const char *id, const char *group_kinds)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
    cJSON_AddStringToObject(md, "name", APPLYSET_PARENT);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, APPLYSET_ID_LABEL, id);
    cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "exo-install");
    cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
    cJSON_AddStringToObject(ann, APPLYSET_GROUP_KINDS, group_kinds);
    cJSON_AddStringToObject(ann, APPLYSET_TOOLING, "exo-install/v" EXO_VERSION);
    return cm;
}

int applyset_read(kube_client *c, const char *ns, char **group_kinds, exo_err *err)
{
    *group_kinds = NULL;
    cJSON *cm = NULL;
    if (kube_get(c, &KR_CONFIGMAPS, ns, APPLYSET_PARENT, &cm, err) < 0) {
        if (kube_is_not_found(err)) {
            err_clear(err);
            return 0;
        }
        return -1;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(cm, "metadata");
    const char *gk = str_at(md, "annotations", APPLYSET_GROUP_KINDS);
    *group_kinds = xstrdup(gk ? gk : "");
    cJSON_Delete(cm);
    return 0;
}

const kube_resource *applyset_resource(const char *group_kind)
{
    /* The set records no version: try the ones the installer renders. */
    static const char *const versions[] = {"v1", "v1alpha1"};
    const char *dot = strchr(group_kind, '.');
    char *kind = dot ? xstrndup(group_kind, (size_t)(dot - group_kind)) : xstrdup(group_kind);
    const kube_resource *r = NULL;
    for (size_t i = 0; i < sizeof versions / sizeof versions[0] && !r; i++) {
        buf av = BUF_INIT;
        if (dot)
            buf_printf(&av, "%s/%s", dot + 1, versions[i]);
        else
            buf_puts(&av, versions[i]);
        r = cluster_resource_of(av.ptr, kind);
        buf_free(&av);
    }
    free(kind);
    return r;
}

int applyset_list(kube_client *c, const char *ns, const char *id, const char *group_kind,
                  cJSON **items, exo_err *err)
{
    const kube_resource *r = applyset_resource(group_kind);
    if (!r)
        return err_set(err, "ApplySet %s lists %s, a kind exo-install does not know", APPLYSET_PARENT,
                       group_kind);
    buf sel = BUF_INIT;
    buf_printf(&sel, "%s=%s", APPLYSET_PART_OF_LABEL, id);
    int rc = kube_list(c, r, ns, sel.ptr, 500, items, NULL, err);
    buf_free(&sel);
    return rc;
}

bool applyset_kept_kind(const char *group_kind)
{
    return strcmp(group_kind, "Secret") == 0 || strcmp(group_kind, "PersistentVolumeClaim") == 0;
}

#include "fixtures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "buf.h"
#include "jpath.h"
#include "xalloc.h"

cJSON *fx_json(const char *text)
{
    char *t = xstrdup(text);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(t);
    if (!j)
        fail_msg("bad fixture JSON: %s", t);
    free(t);
    return j;
}

cJSON *fx_ecp(void)
{
    return fx_json(
        "{'apiVersion':'exo.dev/v1alpha1','kind':'ExoControlPlane',"
        "'metadata':{'name':'exo','namespace':'exo','uid':'u-1','generation':1,'resourceVersion':'"
        "10'},"
        "'spec':{'backend':{'image':'ghcr.io/exo-dev/exo-backend:0.1.0','replicas':1,"
        "  "
        "'resources':{'requests':{'cpu':'100m','memory':'128Mi'},'limits':{'cpu':'1','memory':'"
        "512Mi'}}},"
        " 'database':{'dsnSecretRef':{'name':'exo-database','key':'dsn'},'maxOpenConns':100,'"
        "maxIdleConns':10},"
        " 'encryption':{'keySecretRef':{'name':'exo-encryption','key':'key'}},"
        " 'api':{'bootstrapTokenSecretRef':{'name':'exo-bootstrap','key':'token'}},"
        " 'casts':{'claimName':'exo-casts','maxBytes':67108864},"
        " 'retention':{'defaultDays':90,'premakeMonths':3,'maintenanceInterval':'24h'}}}");
}

cJSON *fx_secret(const char *name, const char *key, const char *value)
{
    cJSON *s = fx_json("{'apiVersion':'v1','kind':'Secret','metadata':{'namespace':'exo',"
                       "'resourceVersion':'5'},'data':{}}");
    cJSON_AddStringToObject(cJSON_GetObjectItem(s, "metadata"), "name", name);
    char *b = base64_encode(value, strlen(value));
    cJSON_AddStringToObject(cJSON_GetObjectItem(s, "data"), key, b);
    free(b);
    return s;
}

cJSON *fx_pvc(const char *name, const char *mode)
{
    cJSON *p =
        fx_json("{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'namespace':'exo'},"
                "'spec':{'accessModes':[]}}");
    cJSON_AddStringToObject(cJSON_GetObjectItem(p, "metadata"), "name", name);
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "accessModes"),
                         cJSON_CreateString(mode));
    return p;
}

cJSON *fx_configmap(const char *name, const char *key, const char *value)
{
    cJSON *c =
        fx_json("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'namespace':'exo'},'data':{}}");
    cJSON_AddStringToObject(cJSON_GetObjectItem(c, "metadata"), "name", name);
    cJSON_AddStringToObject(cJSON_GetObjectItem(c, "data"), key, value);
    return c;
}

static cJSON *parent_of(cJSON *root, const char *path, const char **last)
{
    const char *dot = strrchr(path, '.');
    *last = dot ? dot + 1 : path;
    if (!dot)
        return root;
    char *p = xstrndup(path, (size_t)(dot - path));
    cJSON *parent = (cJSON *)jpath_get(root, p);
    free(p);
    assert_non_null(parent);
    return parent;
}

void fx_set_num(cJSON *root, const char *path, double v)
{
    const char *last;
    cJSON *parent = parent_of(root, path, &last);
    cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
    cJSON_AddNumberToObject(parent, last, v);
}

void fx_set_str(cJSON *root, const char *path, const char *v)
{
    const char *last;
    cJSON *parent = parent_of(root, path, &last);
    cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
    cJSON_AddStringToObject(parent, last, v);
}

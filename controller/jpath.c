#include "jpath.h"

#include <math.h>
#include <string.h>

const cJSON *jpath_get(const cJSON *root, const char *path)
{
    const cJSON *cur = root;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!cJSON_IsObject(cur))
            return NULL;
        const cJSON *next = NULL, *child;
        cJSON_ArrayForEach (child, cur) {
            if (child->string && strlen(child->string) == n && memcmp(child->string, p, n) == 0) {
                next = child;
                break;
            }
        }
        cur = next;
        p += n + (dot ? 1 : 0);
    }
    return cur;
}

const char *jpath_str(const cJSON *root, const char *path, const char *def)
{
    const cJSON *v = jpath_get(root, path);
    return cJSON_IsString(v) ? v->valuestring : def;
}

long long jpath_int(const cJSON *root, const char *path, long long def)
{
    const cJSON *v = jpath_get(root, path);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : def;
}

bool jpath_covers(const cJSON *have, const cJSON *want)
{
    if (!want || cJSON_IsNull(want))
        return true;
    if (!have)
        return false;
    if (cJSON_IsObject(want)) {
        if (!cJSON_IsObject(have))
            return false;
        const cJSON *w;
        cJSON_ArrayForEach (w, want) {
            if (!jpath_covers(cJSON_GetObjectItemCaseSensitive(have, w->string), w))
                return false;
        }
        return true;
    }
    if (cJSON_IsArray(want)) {
        if (!cJSON_IsArray(have) || cJSON_GetArraySize(have) != cJSON_GetArraySize(want))
            return false;
        const cJSON *h = have->child, *w = want->child;
        for (; w; w = w->next, h = h->next)
            if (!jpath_covers(h, w))
                return false;
        return true;
    }
    if (cJSON_IsString(want))
        return cJSON_IsString(have) && strcmp(have->valuestring, want->valuestring) == 0;
    if (cJSON_IsNumber(want))
        return cJSON_IsNumber(have) && fabs(have->valuedouble - want->valuedouble) < 0.5e-9;
    if (cJSON_IsBool(want))
        return cJSON_IsBool(have) && cJSON_IsTrue(have) == cJSON_IsTrue(want);
    return cJSON_Compare(have, want, true);
}

#include "template.h"

#include <stdbool.h>
#include <string.h>

#include "buf.h"

/* One placeholder found in a string: [start, end) spans "${name?}". */
typedef struct {
    const char *start;
    const char *end;
    char name[128];
    bool optional;
} placeholder;

/* Finds the next placeholder at or after s. Returns 1 when found, 0 when
 * none, -1 on a malformed one. */
static int next_placeholder(const char *s, placeholder *p, const char *where, exo_err *err)
{
    const char *open = strstr(s, "${");
    if (!open)
        return 0;
    const char *close = strchr(open + 2, '}');
    if (!close)
        return err_set(err, "%s: unterminated placeholder in \"%s\"", where, s);
    const char *name = open + 2;
    size_t len = (size_t)(close - name);
    p->optional = len > 0 && name[len - 1] == '?';
    if (p->optional)
        len--;
    if (len == 0 || len >= sizeof p->name)
        return err_set(err, "%s: bad placeholder in \"%s\"", where, s);
    memcpy(p->name, name, len);
    p->name[len] = '\0';
    p->start = open;
    p->end = close + 1;
    return 1;
}

static int interpolate(cJSON *node, const cJSON *vars, const char *where, exo_err *err)
{
    buf out = BUF_INIT;
    const char *s = node->valuestring;
    placeholder p;
    int rc, found;
    while ((found = next_placeholder(s, &p, where, err)) == 1) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, p.name);
        buf_append(&out, s, (size_t)(p.start - s));
        if (cJSON_IsString(v)) {
            buf_puts(&out, v->valuestring);
        } else if (cJSON_IsNumber(v)) {
            buf_printf(&out, "%.0f", v->valuedouble);
        } else {
            rc = err_set(err, "%s: placeholder ${%s} in \"%s\" needs a string or number value",
                         where, p.name, node->valuestring);
            goto out;
        }
        s = p.end;
    }
    if (found < 0) {
        rc = -1;
        goto out;
    }
    buf_puts(&out, s);
    rc = cJSON_SetValuestring(node, out.ptr) ? 0 : err_set(err, "%s: out of memory", where);
out:
    buf_free(&out);
    return rc;
}

/* What to do with a node once expanded. */
enum outcome { KEEP, REMOVE, REPLACE };

static int expand(cJSON *node, const cJSON *vars, const char *where, cJSON **replacement,
                  exo_err *err);

static int expand_children(cJSON *parent, const cJSON *vars, const char *where, exo_err *err)
{
    cJSON *child = parent->child;
    while (child) {
        cJSON *next = child->next;
        if (cJSON_IsObject(parent) && strstr(child->string, "${"))
            return err_set(err, "%s: placeholders are not allowed in keys (\"%s\")", where,
                           child->string);
        cJSON *replacement = NULL;
        int what = expand(child, vars, where, &replacement, err);
        if (what < 0)
            return -1;
        if (what == REMOVE)
            cJSON_Delete(cJSON_DetachItemViaPointer(parent, child));
        else if (what == REPLACE && cJSON_IsObject(parent))
            cJSON_ReplaceItemInObjectCaseSensitive(parent, child->string, replacement);
        else if (what == REPLACE)
            cJSON_ReplaceItemViaPointer(parent, child, replacement);
        child = next;
    }
    return 0;
}

static int expand(cJSON *node, const cJSON *vars, const char *where, cJSON **replacement,
                  exo_err *err)
{
    if (cJSON_IsObject(node) || cJSON_IsArray(node))
        return expand_children(node, vars, where, err) < 0 ? -1 : KEEP;
    if (!cJSON_IsString(node))
        return KEEP;

    placeholder p;
    int found = next_placeholder(node->valuestring, &p, where, err);
    if (found <= 0)
        return found < 0 ? -1 : KEEP;
    bool whole = p.start == node->valuestring && *p.end == '\0';
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, p.name);
    if (!v || cJSON_IsNull(v)) {
        if (p.optional && whole)
            return REMOVE;
        return err_set(err, "%s: no value for placeholder ${%s}", where, p.name);
    }
    if (!whole)
        return interpolate(node, vars, where, err) < 0 ? -1 : KEEP;
    *replacement = cJSON_Duplicate(v, true);
    if (!*replacement)
        return err_set(err, "%s: out of memory", where);
    /* The copy carries the variable's own key; the caller gives it the
     * template's. */
    cJSON_free((*replacement)->string);
    (*replacement)->string = NULL;
    return REPLACE;
}

int template_expand(cJSON *doc, const cJSON *vars, const char *where, exo_err *err)
{
    cJSON *replacement = NULL;
    int what = expand(doc, vars, where, &replacement, err);
    if (what < 0)
        return -1;
    if (what != KEEP) {
        cJSON_Delete(replacement);
        return err_set(err, "%s: a document cannot be a placeholder", where);
    }
    return 0;
}

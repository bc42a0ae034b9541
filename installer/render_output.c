#include "render_output.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "yamljson.h"

#define KUSTOMIZATION "kustomization.yaml"
/* The first line of every kustomization.yaml we write: how a later run knows
 * the directory is ours to update. */
#define MARKER "# Written by exo-install render; re-render rather than edit.\n"

int render_output_stream(FILE *f, const cJSON *docs, exo_err *err)
{
    buf out = BUF_INIT;
    int rc = yamljson_emit_stream(&out, docs, err);
    if (rc == 0 && (fwrite(out.ptr, 1, out.len, f) != out.len || fflush(f) != 0))
        rc = err_set(err, "writing the manifests: %s", strerror(errno));
    buf_free(&out);
    return rc;
}

int render_output_doc(FILE *f, const cJSON *doc, exo_err *err)
{
    buf out = BUF_INIT;
    int rc = yamljson_emit(&out, doc, err);
    if (rc == 0 && (fwrite(out.ptr, 1, out.len, f) != out.len || fflush(f) != 0))
        rc = err_set(err, "writing the output: %s", strerror(errno));
    buf_free(&out);
    return rc;
}

static const char *str_at(const cJSON *doc, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : "";
}

char *render_output_file_name(size_t index, const cJSON *doc)
{
    buf name = BUF_INIT;
    buf_printf(&name, "%02zu-", index);
    for (const char *k = str_at(doc, "kind", NULL); *k; k++)
        buf_putc(&name, (char)tolower((unsigned char)*k));
    buf_printf(&name, "-%s.yaml", str_at(doc, "metadata", "name"));
    return buf_detach(&name);
}

int render_output_write_file(const char *dir, const char *name, const buf *content, mode_t mode,
                             bool no_replace, exo_err *err)
{
    buf path = BUF_INIT, tmp = BUF_INIT;
    buf_printf(&path, "%s/%s", dir, name);
    buf_printf(&tmp, "%s/.%s.tmp", dir, name);
    int rc = -1;
    int fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        err_set(err, "%s: %s", tmp.ptr, strerror(errno));
        goto out;
    }
    /* open() honours the umask; Secrets must not be readable by others
     * whatever it is. */
    if (fchmod(fd, mode) < 0 || write(fd, content->ptr, content->len) != (ssize_t)content->len ||
        fsync(fd) < 0) {
        err_set(err, "%s: %s", tmp.ptr, strerror(errno));
        close(fd);
        goto out;
    }
    /* link() never replaces: with no_replace, a file that exists (or
     * appeared meanwhile) wins. */
    if (close(fd) < 0 ||
        (no_replace ? link(tmp.ptr, path.ptr) : rename(tmp.ptr, path.ptr)) < 0) {
        err_set(err, "%s: %s", path.ptr, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    unlink(tmp.ptr);
    buf_free(&path);
    buf_free(&tmp);
    return rc;
}

static int read_file(const char *path, buf *out, exo_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, "%s: %s", path, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(out, chunk, n);
    bool failed = ferror(f);
    fclose(f);
    return failed ? err_set(err, "%s: read error", path) : 0;
}

static bool dir_is_empty(DIR *d)
{
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            return false;
    return true;
}

/* The resources an earlier run listed in dir, or an error when dir holds
 * files that are not ours. *old is NULL for an empty or new directory. */
static int previous_resources(const char *dir, cJSON **old, exo_err *err)
{
    *old = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : err_set(err, "-o %s: %s", dir, strerror(errno));
    bool empty = dir_is_empty(d);
    closedir(d);
    if (empty)
        return 0;

    buf path = BUF_INIT, text = BUF_INIT;
    buf_printf(&path, "%s/" KUSTOMIZATION, dir);
    cJSON *k = NULL;
    int rc = -1;
    if (read_file(path.ptr, &text, err) < 0 || strncmp(text.ptr, MARKER, strlen(MARKER)) != 0) {
        err_set(err, "-o %s: the directory is not empty and was not written by exo-install "
                     "render; give an empty or new directory", dir);
        goto out;
    }
    if (yamljson_parse_one(&k, text.ptr, text.len, path.ptr, err) < 0)
        goto out;
    *old = cJSON_DetachItemFromObjectCaseSensitive(k, "resources");
    rc = 0;
out:
    cJSON_Delete(k);
    buf_free(&path);
    buf_free(&text);
    return rc;
}

static bool listed(const cJSON *names, const char *name)
{
    const cJSON *n;
    cJSON_ArrayForEach(n, names)
    {
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return true;
    }
    return false;
}

/* Removes what the previous rendering wrote and this one does not: a
 * switch from bundled to managed must not leave a StatefulSet file behind
 * for `kubectl apply -f DIR` to pick up. Only plain file names are touched. */
static int remove_stale(const char *dir, const cJSON *old, const cJSON *now, exo_err *err)
{
    const cJSON *n;
    cJSON_ArrayForEach(n, old)
    {
        if (!cJSON_IsString(n) || listed(now, n->valuestring) || strchr(n->valuestring, '/') ||
            n->valuestring[0] == '.')
            continue;
        buf path = BUF_INIT;
        buf_printf(&path, "%s/%s", dir, n->valuestring);
        int rc = unlink(path.ptr) < 0 && errno != ENOENT ? err_set(err, "%s: %s", path.ptr, strerror(errno)) : 0;
        buf_free(&path);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int render_output_dir_check(const char *dir, exo_err *err)
{
    cJSON *old = NULL;
    int rc = previous_resources(dir, &old, err);
    cJSON_Delete(old);
    return rc;
}

int render_output_dir(const char *dir, const cJSON *docs, exo_err *err)
{
    cJSON *old = NULL;
    if (previous_resources(dir, &old, err) < 0)
        return -1;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        cJSON_Delete(old);
        return err_set(err, "-o %s: %s", dir, strerror(errno));
    }

    cJSON *kust = cJSON_CreateObject();
    cJSON_AddStringToObject(kust, "apiVersion", "kustomize.config.k8s.io/v1beta1");
    cJSON_AddStringToObject(kust, "kind", "Kustomization");
    cJSON *resources = cJSON_AddArrayToObject(kust, "resources");
    /* Keep our apply order; kustomize would otherwise sort by its own. */
    cJSON *sort = cJSON_AddObjectToObject(kust, "sortOptions");
    cJSON_AddStringToObject(sort, "order", "fifo");

    buf text = BUF_INIT;
    int rc = 0;
    size_t i = 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        char *name = render_output_file_name(i++, doc);
        bool secret = strcmp(str_at(doc, "kind", NULL), "Secret") == 0;
        buf_clear(&text);
        rc = yamljson_emit(&text, doc, err);
        if (rc == 0)
            rc = render_output_write_file(dir, name, &text, secret ? 0600 : 0644, false, err);
        cJSON_AddItemToArray(resources, cJSON_CreateString(name));
        free(name);
        if (rc < 0)
            goto out;
    }
    buf_clear(&text);
    buf_puts(&text, MARKER);
    if ((rc = yamljson_emit(&text, kust, err)) < 0 ||
        (rc = render_output_write_file(dir, KUSTOMIZATION, &text, 0644, false, err)) < 0)
        goto out;
    rc = remove_stale(dir, old, resources, err);
out:
    buf_free(&text);
    cJSON_Delete(kust);
    cJSON_Delete(old);
    return rc;
}

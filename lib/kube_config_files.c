#include "kube_config_files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

int kube_config_read_file(const char *path, buf *out, exo_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, "%s: %s", path, strerror(errno));
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return err_set(err, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    return 0;
}

void kube_config_trim(buf *b)
{
    while (b->len && strchr(" \t\r\n", b->ptr[b->len - 1]))
        b->ptr[--b->len] = '\0';
}

char *kube_config_resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir)
        return xstrdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    buf b = BUF_INIT;
    buf_printf(&b, "%s/%s", dir, path);
    return buf_detach(&b);
}

const char *kube_config_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}


/* sync_file_range(), Linux's way to start writeback of a range early. */
#define _GNU_SOURCE
#include "casts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cast_validate.h"
#include "xalloc.h"

struct casts_writer {
    int fd;                /* the temporary file, -1 once closed */
    int have_tmp;          /* the temporary file exists and is ours to remove */
    int failed;            /* a write or check failed: only abort is left */
    cast_validator *check; /* judges the body as it arrives */
    int64_t id;
    char *dir;
    buf tmp_path;
    buf final_path;
    int64_t max_bytes;
    int64_t written;
    int64_t flushed; /* bytes whose writeback has been started */
};

/* Writeback of the temporary file is started every this many bytes. */
#define CASTS_FLUSH_STEP (4 * 1024 * 1024)

static atomic_uint_fast64_t bytes_written;

uint64_t casts_bytes_written(void)
{
    return atomic_load(&bytes_written);
}

static int check_names(const char *dir, int64_t id, exo_err *err)
{
    /* A relative directory would depend on the working directory; the id is
     * the only other part of a name, so a positive one keeps us inside. */
    if (!dir || dir[0] != '/')
        return err_set(err, "cast storage directory \"%s\" is not an absolute path",
                       dir ? dir : "");
    if (id <= 0)
        return err_set(err, "session id %" PRId64 " is not positive", id);
    return 0;
}

static void put_dir(buf *out, const char *dir)
{
    buf_clear(out);
    buf_puts(out, dir);
    if (out->ptr[out->len - 1] != '/')
        buf_putc(out, '/');
}

int casts_path(buf *out, const char *dir, int64_t session_id, exo_err *err)
{
    if (check_names(dir, session_id, err) < 0)
        return -1;
    put_dir(out, dir);
    buf_printf(out, "%" PRId64 ".cast", session_id);
    return 0;
}

/* ---- the writer ---- */

static void writer_free(casts_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    free(w->dir);
    buf_free(&w->tmp_path);
    buf_free(&w->final_path);
    cast_validate_free(w->check);
    free(w);
}

void casts_abort(casts_writer *w)
{
    if (!w)
        return;
    if (w->have_tmp)
        unlink(w->tmp_path.ptr);
    writer_free(w);
}

int casts_open_writer(casts_writer **out, const char *dir, int64_t session_id, int64_t max_bytes,
                      exo_err *err)
{
    *out = NULL;
    if (check_names(dir, session_id, err) < 0)
        return -1;
    if (max_bytes <= 0)
        return err_set(err, "the size limit of a recording must be positive");
    casts_writer *w = xcalloc(1, sizeof *w);
    w->fd = -1;
    w->id = session_id;
    w->dir = xstrdup(dir);
    w->max_bytes = max_bytes;
    w->check = cast_validate_new();
    buf_init(&w->tmp_path);
    buf_init(&w->final_path);
    casts_path(&w->final_path, dir, session_id, err);
    /* O_EXCL makes the name ours; the random part only avoids collisions
     * between concurrent uploads of one session, so a few retries do. */
    for (int tries = 0; w->fd < 0; tries++) {
        uint64_t r;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
            err_set(err, "choosing a temporary name in %s: %s", dir, strerror(errno));
            goto fail;
        }
        put_dir(&w->tmp_path, dir);
        buf_printf(&w->tmp_path, ".%" PRId64 ".cast.%016" PRIx64 ".tmp", session_id, r);
        w->fd = open(w->tmp_path.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd < 0 && (errno != EEXIST || tries == 9)) {
            err_set(err, "creating %s: %s", w->tmp_path.ptr, strerror(errno));
            goto fail;
        }
    }
    w->have_tmp = 1;
    *out = w;
    return 0;
fail:
    writer_free(w);
    return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Starts writing what has arrived to disk while the rest is still coming,
 * so that the fsync at commit waits for the last few MiB and not for the
 * whole recording. Only a head start: durability is still the fsync's job,
 * which also reports any error this would have met. */
static void start_writeback(casts_writer *w)
{
    if (w->written - w->flushed < CASTS_FLUSH_STEP)
        return;
#ifdef SYNC_FILE_RANGE_WRITE
    (void)sync_file_range(w->fd, w->flushed, w->written - w->flushed, SYNC_FILE_RANGE_WRITE);
#endif
    w->flushed = w->written;
}

int casts_write(casts_writer *w, const void *data, size_t len, exo_err *err)
{
    if (w->failed)
        return err_set(err, "the upload of session %" PRId64 " already failed", w->id);
    if (len == 0)
        return 0;
    if ((uint64_t)len > (uint64_t)(w->max_bytes - w->written)) {
        w->failed = 1;
        err_set(err, "the recording is larger than %" PRId64 " bytes", w->max_bytes);
        return CASTS_TOO_LARGE;
    }
    /* The chunk is judged before any of it is written. */
    if (cast_validate_feed(w->check, data, len, err) < 0) {
        w->failed = 1;
        return -1;
    }
    if (write_all(w->fd, data, len) < 0) {
        w->failed = 1;
        return err_set(err, "writing %s: %s", w->tmp_path.ptr, strerror(errno));
    }
    w->written += (int64_t)len;
    atomic_fetch_add(&bytes_written, (uint64_t)len);
    start_writeback(w);
    return 0;
}

static int fsync_dir(const char *dir, exo_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, "opening %s: %s", dir, strerror(errno));
    int rc = 0;
    if (fsync(fd) < 0)
        rc = err_set(err, "syncing %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

int casts_commit(casts_writer *w, exo_err *err)
{
    int rc = -1;
    if (w->failed) {
        err_set(err, "the upload of session %" PRId64 " already failed", w->id);
        goto out;
    }
    if (cast_validate_finish(w->check, err) < 0)
        goto out;
    /* The data must be on disk before the name points at it, or a crash
     * could leave `<id>.cast` empty or partial. */
    if (fsync(w->fd) < 0) {
        err_set(err, "syncing %s: %s", w->tmp_path.ptr, strerror(errno));
        goto out;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) < 0) {
        err_set(err, "closing %s: %s", w->tmp_path.ptr, strerror(errno));
        goto out;
    }
    if (rename(w->tmp_path.ptr, w->final_path.ptr) < 0) {
        err_set(err, "renaming %s to %s: %s", w->tmp_path.ptr, w->final_path.ptr, strerror(errno));
        goto out;
    }
    w->have_tmp = 0;
    /* Makes the rename itself durable. */
    if (fsync_dir(w->dir, err) < 0)
        goto out;
    rc = 0;
out:
    casts_abort(w);
    return rc;
}

/* ---- reading, retention, crash leftovers ---- */

int casts_open_read(int *fd, int64_t *size, const char *dir, int64_t session_id, exo_err *err)
{
    *fd = -1;
    *size = 0;
    buf path = BUF_INIT;
    int rc = -1;
    if (casts_path(&path, dir, session_id, err) < 0)
        goto out;
    int f = open(path.ptr, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) {
        int e = errno;
        rc = e == ENOENT ? CASTS_NOT_FOUND : -1;
        err_set(err, "opening the recording of session %" PRId64 ": %s", session_id, strerror(e));
        goto out;
    }
    struct stat st;
    if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
        err_set(err, "%s is not a readable regular file", path.ptr);
        close(f);
        goto out;
    }
    *fd = f;
    *size = (int64_t)st.st_size;
    rc = 0;
out:
    buf_free(&path);
    return rc;
}

int casts_remove(const char *dir, int64_t session_id, exo_err *err)
{
    buf path = BUF_INIT;
    int rc = casts_path(&path, dir, session_id, err);
    if (rc == 0 && unlink(path.ptr) < 0 && errno != ENOENT)
        rc = err_set(err, "removing %s: %s", path.ptr, strerror(errno));
    buf_free(&path);
    return rc;
}

/* `.<digits>.cast.<anything>.tmp`, the names casts_open_writer() makes. */
static int is_temporary(const char *name)
{
    if (name[0] != '.' || name[1] < '0' || name[1] > '9')
        return 0;
    const char *p = name + 1;
    while (*p >= '0' && *p <= '9')
        p++;
    size_t n = strlen(p);
    return n >= 10 && strncmp(p, ".cast.", 6) == 0 && strcmp(p + n - 4, ".tmp") == 0;
}

int casts_sweep_temporaries(int *removed, const char *dir, int64_t min_age_seconds, exo_err *err)
{
    *removed = 0;
    if (check_names(dir, 1, err) < 0)
        return -1;
    DIR *d = opendir(dir);
    if (!d)
        return err_set(err, "reading %s: %s", dir, strerror(errno));
    time_t now = time(NULL);
    int rc = 0;
    struct dirent *e;
    for (errno = 0; (e = readdir(d)); errno = 0) {
        struct stat st;
        if (!is_temporary(e->d_name) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (min_age_seconds > 0 && (int64_t)(now - st.st_mtime) < min_age_seconds)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            (*removed)++;
        else if (errno != ENOENT) {
            rc = err_set(err, "removing %s/%s: %s", dir, e->d_name, strerror(errno));
            break;
        }
    }
    if (rc == 0 && errno != 0)
        rc = err_set(err, "reading %s: %s", dir, strerror(errno));
    closedir(d);
    return rc;
}

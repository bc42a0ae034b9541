/* The recording store (casts.h): uploads streamed to a temporary file and
 * renamed into place, size limits, reading, retention and crash leftovers.
 * What the validator says of each line is tested on its own in
 * test_cast_validate.c; here, only that an upload goes through it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cast_samples.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "buf.h"
#include "casts.h"
#include "err.h"

#define MIB (1024 * 1024)

/* ---- fixtures: one fresh storage directory per test ---- */

static int make_dir(void **state)
{
    char tmpl[] = "/tmp/test_casts.XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    *state = strdup(tmpl);
    return *state ? 0 : -1;
}

static int remove_dir(void **state)
{
    char *dir = *state;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
    free(dir);
    return 0;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int exists(const char *dir, const char *name)
{
    buf p = BUF_INIT;
    buf_printf(&p, "%s/%s", dir, name);
    struct stat st;
    int r = stat(p.ptr, &st) == 0;
    buf_free(&p);
    return r;
}

static void touch(const char *dir, const char *name)
{
    buf p = BUF_INIT;
    buf_printf(&p, "%s/%s", dir, name);
    int fd = open(p.ptr, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"vers", 6), 6);
    close(fd);
    buf_free(&p);
}

/* The recording of a session as stored, read back through casts_open_read. */
static void read_cast(buf *out, const char *dir, int64_t id)
{
    exo_err err = EXO_ERR_INIT;
    int fd;
    int64_t size;
    assert_int_equal(casts_open_read(&fd, &size, dir, id, &err), 0);
    buf_clear(out);
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        buf_append(out, tmp, (size_t)n);
    close(fd);
    assert_int_equal(out->len, size);
}

/* Uploads body in chunks of `chunk` bytes and commits, aborting on the
 * first refusal as the HTTP layer does. Returns the first non-zero code. */
static int upload(const char *dir, int64_t id, int64_t max, const char *body, size_t len,
                  size_t chunk, exo_err *err)
{
    casts_writer *w;
    err_clear(err);
    if (casts_open_writer(&w, dir, id, max, err) < 0)
        return -1;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        int rc = casts_write(w, body + off, n, err);
        if (rc != 0) {
            casts_abort(w);
            return rc;
        }
    }
    return casts_commit(w, err);
}

static const size_t chunks[] = {1, 7, 4096};

static void expect_accepted(const char *dir, const char *body)
{
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        exo_err err = EXO_ERR_INIT;
        int rc = upload(dir, 42, MIB, body, strlen(body), chunks[i], &err);
        if (rc != 0)
            fail_msg("chunks of %zu: %s", chunks[i], err_msg(&err));
        buf got = BUF_INIT;
        read_cast(&got, dir, 42);
        assert_string_equal(got.ptr, body);
        assert_int_equal(count_files(dir), 1); /* no temporary left beside it */
        buf_free(&got);
        err_clear(&err);
    }
}

/* Refused with exactly `want` in every chunking, leaving no file. */
static void expect_refused(const char *dir, const char *body, size_t len, const char *want)
{
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        exo_err err = EXO_ERR_INIT;
        assert_int_equal(upload(dir, 7, 4 * MIB, body, len, chunks[i], &err), -1);
        if (strcmp(err_msg(&err), want) != 0)
            fail_msg("chunks of %zu: got \"%s\", want \"%s\"", chunks[i], err_msg(&err), want);
        assert_int_equal(count_files(dir), 0);
        err_clear(&err);
    }
}

#define REFUSED(dir, body, want) expect_refused(dir, body, sizeof(body) - 1, want)

/* ---- a generator of valid v2 recordings of an exact size, so that large
 * uploads need not be held in memory by the test either ---- */

typedef struct {
    uint64_t total, sent;
    buf line;
    size_t off;
    unsigned n;
} gen;

static void gen_init(gen *g, uint64_t total)
{
    memset(g, 0, sizeof *g);
    g->total = total;
    buf_init(&g->line);
}

static void gen_next_line(gen *g)
{
    uint64_t left = g->total - g->sent;
    buf_clear(&g->line);
    g->off = 0;
    if (g->n++ == 0) {
        buf_puts(&g->line, "{\"version\": 2, \"width\": 80, \"height\": 24, \"title\": \"big\"}\n");
        return;
    }
    buf_printf(&g->line, "[%u.5, \"o\", \"", g->n);
    size_t overhead = g->line.len + 3; /* `"]\n` */
    /* Lines of about 1000 bytes; the last one takes up the exact remainder. */
    size_t pad = left >= overhead + 2000 ? 1000 : (size_t)left - overhead;
    if (pad >= 3) {
        buf_puts(&g->line, "\xE2\x82\xAC"); /* € */
        pad -= 3;
    }
    for (size_t i = 0; i < pad; i++)
        buf_putc(&g->line, 'a');
    buf_puts(&g->line, "\"]\n");
}

static size_t gen_fill(gen *g, char *dst, size_t n)
{
    size_t filled = 0;
    while (filled < n && g->sent < g->total) {
        if (g->off == g->line.len)
            gen_next_line(g);
        size_t k = g->line.len - g->off;
        if (k > n - filled)
            k = n - filled;
        memcpy(dst + filled, g->line.ptr + g->off, k);
        g->off += k;
        filled += k;
        g->sent += k;
    }
    return filled;
}

/* Streams a generated recording of `total` bytes in chunks; commits when all
 * writes pass, aborts otherwise. Returns the first non-zero code. */
static int upload_generated(const char *dir, int64_t id, int64_t max, uint64_t total, size_t chunk,
                            exo_err *err)
{
    casts_writer *w;
    if (casts_open_writer(&w, dir, id, max, err) < 0)
        return -1;
    gen g;
    gen_init(&g, total);
    char *c = malloc(chunk);
    assert_non_null(c);
    int rc = 0;
    size_t n;
    while (rc == 0 && (n = gen_fill(&g, c, chunk)) > 0)
        rc = casts_write(w, c, n, err);
    free(c);
    buf_free(&g.line);
    if (rc != 0) {
        casts_abort(w);
        return rc;
    }
    return casts_commit(w, err);
}

static long max_rss_kib(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

/* ---- tests ---- */

/* Valgrind and ASan hold freed blocks back on purpose (valgrind's
 * --freelist-vol, 20 MB by default; ASan's quarantine, 256 MB), so under them
 * RSS grows with everything ever allocated and freed, not with what is live. */
static int rss_measures_the_tool(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
#ifdef RUNNING_ON_VALGRIND
    return RUNNING_ON_VALGRIND;
#else
    return 0;
#endif
}

/* Under valgrind every byte is emulated: the 64 MiB runs take minutes there,
 * so they run at 4 MiB (the same boundary logic); natively and under ASan at
 * full size. */
static int64_t big_upload(void)
{
#ifdef RUNNING_ON_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return 4 * MIB;
#endif
    return 64 * MIB;
}

/* First in the run: ru_maxrss is a high-water mark, so an earlier test with
 * a higher peak would hide any growth here. */
static void test_64_mib_upload_keeps_peak_rss_growth_under_16_mib(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    if (big_upload() != 64 * MIB)
        skip(); /* under valgrind: RSS would count its own freed-block store anyway */
    long before = max_rss_kib();
    int rc = upload_generated(dir, 1, 64 * MIB, 64 * MIB, 64 * 1024, &err);
    long after = max_rss_kib();
    if (rc != 0)
        fail_msg("%s", err_msg(&err));
    print_message("peak RSS before %ld KiB, after a 64 MiB upload %ld KiB (growth %ld KiB)\n",
                  before, after, after - before);
    if (rss_measures_the_tool()) {
        print_message("not asserted under valgrind or ASan: RSS counts their freed-block "
                      "quarantine\n");
        skip();
    }
    assert_true(after - before < 16 * 1024);
}

static void test_exactly_max_bytes_accepted(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(upload_generated(dir, 5, 1000, 1000, 7, &err), 0);
    assert_int_equal(upload_generated(dir, 5, 1000, 1000, 1000, &err), 0);
    buf got = BUF_INIT;
    read_cast(&got, dir, 5);
    assert_int_equal(got.len, 1000);
    buf_free(&got);
}

static void test_max_plus_one_refused_as_too_large_leaving_no_file(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(upload_generated(dir, 5, 1000, 1001, 7, &err), CASTS_TOO_LARGE);
    assert_string_equal(err_msg(&err), "the recording is larger than 1000 bytes");
    assert_int_equal(upload_generated(dir, 5, 1000, 1001, 1001, &err), CASTS_TOO_LARGE);
    assert_int_equal(count_files(dir), 0);

    /* An existing recording survives a refused replacement. */
    assert_int_equal(upload_generated(dir, 5, 1000, 900, 7, &err), 0);
    assert_int_equal(upload_generated(dir, 5, 1000, 1001, 64, &err), CASTS_TOO_LARGE);
    buf got = BUF_INIT;
    read_cast(&got, dir, 5);
    assert_int_equal(got.len, 900);
    assert_int_equal(count_files(dir), 1);
    buf_free(&got);
    err_clear(&err);
}

static void test_64_mib_accepted_and_64_mib_plus_one_refused(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    int64_t max = big_upload();
    int rc = upload_generated(dir, 8, max, max, 64 * 1024, &err);
    if (rc != 0)
        fail_msg("%s", err_msg(&err));
    int fd;
    int64_t size;
    assert_int_equal(casts_open_read(&fd, &size, dir, 8, &err), 0);
    close(fd);
    assert_int_equal(size, max);
    assert_int_equal(casts_remove(dir, 8, &err), 0);

    assert_int_equal(upload_generated(dir, 9, max, max + 1, 64 * 1024, &err), CASTS_TOO_LARGE);
    assert_int_equal(count_files(dir), 0);
    err_clear(&err);
}

#define V2_HEADER "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
#define V3_HEADER "{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24}}\n"

/* What the validator accepts is stored byte for byte, however it was cut. */
static void test_accepted_recordings_stored_as_sent_in_chunks_of_1_7_and_4096_bytes(void **state)
{
    const char *dir = *state;
    expect_accepted(dir, v2_body);
    expect_accepted(dir, v3_body);
    expect_accepted(dir, V2_HEADER "[0.5, \"o\", \"no newline after me \xE2\x82\xAC\"]");
    expect_accepted(dir, "{\"version\": 2, \"width\": 80, \"height\": 24}\r\n"
                         "[0.5, \"o\", \"a\"]\r\n\r\n  \n[0.6, \"o\", \"b\"]\r\n");
}

/* A refusal by the validator, as the body streams in or at its end, refuses
 * the upload with its words and leaves no file. */
static void test_refused_recordings_leave_no_file_in_chunks_of_1_7_and_4096_bytes(void **state)
{
    const char *dir = *state;
    REFUSED(dir, "not json\n", "line 1: the header is not valid JSON");
    REFUSED(dir, V2_HEADER "[1, \"o\", \"ab\x01\"]\n", "line 2: control character 0x01 at byte 13");
    REFUSED(dir, V2_HEADER "[1, \"o\", \"x\"]\n[2, \"o\", \"unterminated",
            "line 3: the event is not valid JSON");

    buf b = BUF_INIT;
    buf_puts(&b, V2_HEADER "[1, \"o\", \"x\"]\n[2, \"o\", \"");
    while (b.len < 2 * MIB)
        buf_putc(&b, 'a');
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(upload(dir, 4, 4 * MIB, b.ptr, b.len, 4096, &err), -1);
    assert_string_equal(err_msg(&err), "line 3 is longer than 1 MiB");
    assert_int_equal(count_files(dir), 0);
    buf_free(&b);
    err_clear(&err);
}

static void test_empty_body_refused_at_commit(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(upload(dir, 4, 100, "", 0, 1, &err), -1);
    assert_string_equal(err_msg(&err),
                        "line 1: the recording is empty; it needs at least the header");
    assert_int_equal(count_files(dir), 0);
    err_clear(&err);
}

static void test_write_after_a_refusal_is_refused(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    casts_writer *w;
    assert_int_equal(casts_open_writer(&w, dir, 4, 100, &err), 0);
    assert_int_equal(casts_write(w, "nope\n", 5, &err), -1);
    assert_int_equal(casts_write(w, V2_HEADER, strlen(V2_HEADER), &err), -1);
    assert_string_equal(err_msg(&err), "the upload of session 4 already failed");
    assert_int_equal(casts_commit(w, &err), -1);
    assert_int_equal(count_files(dir), 0);
    err_clear(&err);
}

static void test_abort_leaves_no_file(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    casts_writer *w;
    assert_int_equal(casts_open_writer(&w, dir, 11, 1000, &err), 0);
    assert_int_equal(casts_write(w, V2_HEADER "[1, \"o\"", strlen(V2_HEADER) + 7, &err), 0);

    /* Meanwhile only the temporary exists, private to us. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int tmps = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, ".11.cast.", 9) != 0)
            continue;
        assert_string_equal(e->d_name + strlen(e->d_name) - 4, ".tmp");
        struct stat st;
        assert_int_equal(fstatat(dirfd(d), e->d_name, &st, 0), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        tmps++;
    }
    closedir(d);
    assert_int_equal(tmps, 1);
    assert_int_equal(count_files(dir), 1);

    casts_abort(w);
    assert_int_equal(count_files(dir), 0);
    casts_abort(NULL);
}

static void test_commit_replaces_existing_recording_atomically(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(upload(dir, 12, MIB, v2_body, strlen(v2_body), 4096, &err), 0);
    int old_fd;
    int64_t old_size;
    assert_int_equal(casts_open_read(&old_fd, &old_size, dir, 12, &err), 0);

    casts_writer *w;
    assert_int_equal(casts_open_writer(&w, dir, 12, MIB, &err), 0);
    assert_int_equal(casts_write(w, v3_body, strlen(v3_body), &err), 0);
    buf got = BUF_INIT;
    read_cast(&got, dir, 12);
    assert_string_equal(got.ptr, v2_body); /* until the commit, the old one */
    assert_int_equal(casts_commit(w, &err), 0);
    read_cast(&got, dir, 12);
    assert_string_equal(got.ptr, v3_body);
    assert_int_equal(count_files(dir), 1);

    /* A reader that opened the old recording still sees all of it. */
    buf old = BUF_INIT;
    char tmp[4096];
    ssize_t n;
    while ((n = read(old_fd, tmp, sizeof tmp)) > 0)
        buf_append(&old, tmp, (size_t)n);
    close(old_fd);
    assert_int_equal(old.len, old_size);
    assert_string_equal(old.ptr, v2_body);

    /* A replacement refused at commit keeps the current one. */
    assert_int_equal(upload(dir, 12, MIB, V2_HEADER "[1, \"o\"", strlen(V2_HEADER) + 7, 5, &err),
                     -1);
    read_cast(&got, dir, 12);
    assert_string_equal(got.ptr, v3_body);
    assert_int_equal(count_files(dir), 1);
    buf_free(&got);
    buf_free(&old);
    err_clear(&err);
}

static void
test_process_killed_mid_upload_leaves_old_recording_and_a_temporary_sweep_removes(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(upload(dir, 13, MIB, v2_body, strlen(v2_body), 4096, &err), 0);

    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        casts_writer *w;
        if (casts_open_writer(&w, dir, 13, MIB, &err) < 0 ||
            casts_write(w, v3_body, strlen(v3_body) / 2, &err) < 0)
            _exit(1);
        (void)!write(p[1], "w", 1);
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    buf got = BUF_INIT;
    read_cast(&got, dir, 13);
    assert_string_equal(got.ptr, v2_body);
    assert_int_equal(count_files(dir), 2);

    int removed = -1;
    assert_int_equal(casts_sweep_temporaries(&removed, dir, 0, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(count_files(dir), 1);
    read_cast(&got, dir, 13);
    assert_string_equal(got.ptr, v2_body);
    buf_free(&got);
}

static void test_sweep_removes_hand_made_leftovers_and_spares_other_files(void **state)
{
    const char *dir = *state;
    touch(dir, ".5.cast.0123456789abcdef.tmp");
    touch(dir, ".6.cast.x.tmp");
    touch(dir, "5.cast");
    touch(dir, ".notes.tmp");
    touch(dir, "6.cast.tmp");
    touch(dir, "README");
    exo_err err = EXO_ERR_INIT;
    int removed = -1;
    assert_int_equal(casts_sweep_temporaries(&removed, dir, 0, &err), 0);
    assert_int_equal(removed, 2);
    assert_false(exists(dir, ".5.cast.0123456789abcdef.tmp"));
    assert_false(exists(dir, ".6.cast.x.tmp"));
    assert_int_equal(count_files(dir), 4);
    assert_int_equal(casts_sweep_temporaries(&removed, dir, 0, &err), 0);
    assert_int_equal(removed, 0);
}

static void test_sweep_spares_temporaries_younger_than_min_age(void **state)
{
    const char *dir = *state;
    touch(dir, ".5.cast.old.tmp");
    touch(dir, ".5.cast.live.tmp");
    buf p = BUF_INIT;
    buf_printf(&p, "%s/.5.cast.old.tmp", dir);
    struct timespec two_hours_ago[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p.ptr, two_hours_ago, 0), 0);
    exo_err err = EXO_ERR_INIT;
    int removed = -1;
    assert_int_equal(casts_sweep_temporaries(&removed, dir, 3600, &err), 0);
    assert_int_equal(removed, 1);
    assert_false(exists(dir, ".5.cast.old.tmp"));
    assert_true(exists(dir, ".5.cast.live.tmp"));
    buf_free(&p);
}

static void test_ids_not_positive_and_relative_dirs_refused(void **state)
{
    const char *dir = *state;
    static const int64_t ids[] = {0, -1, -42, INT64_MIN};
    exo_err err = EXO_ERR_INIT;
    buf path = BUF_INIT;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_int_equal(casts_path(&path, dir, ids[i], &err), -1);
        assert_int_equal(path.len, 0);
        casts_writer *w = (casts_writer *)(uintptr_t)1;
        assert_int_equal(casts_open_writer(&w, dir, ids[i], 1000, &err), -1);
        assert_null(w);
        int fd;
        int64_t size;
        assert_int_equal(casts_open_read(&fd, &size, dir, ids[i], &err), -1);
        assert_int_equal(casts_remove(dir, ids[i], &err), -1);
    }
    assert_int_equal(casts_path(&path, dir, 0, &err), -1);
    assert_string_equal(err_msg(&err), "session id 0 is not positive");
    assert_int_equal(count_files(dir), 0);

    assert_int_equal(casts_path(&path, "casts", 1, &err), -1);
    assert_string_equal(err_msg(&err), "cast storage directory \"casts\" is not an absolute path");
    assert_int_equal(casts_path(&path, "", 1, &err), -1);
    assert_int_equal(casts_path(&path, "../etc", 1, &err), -1);
    int removed;
    assert_int_equal(casts_sweep_temporaries(&removed, ".", 0, &err), -1);
    casts_writer *w;
    assert_int_equal(casts_open_writer(&w, dir, 1, 0, &err), -1);

    assert_int_equal(casts_path(&path, "/var/lib/exo/casts/", INT64_MAX, &err), 0);
    assert_string_equal(path.ptr, "/var/lib/exo/casts/9223372036854775807.cast");
    assert_int_equal(casts_path(&path, "/srv", 1, &err), 0);
    assert_string_equal(path.ptr, "/srv/1.cast");
    buf_free(&path);
    err_clear(&err);
}

static void test_open_read_gives_size_or_not_found(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    int fd;
    int64_t size;
    assert_int_equal(casts_open_read(&fd, &size, dir, 14, &err), CASTS_NOT_FOUND);
    assert_int_equal(fd, -1);
    assert_int_equal(upload(dir, 14, MIB, v3_body, strlen(v3_body), 4096, &err), 0);
    assert_int_equal(casts_open_read(&fd, &size, dir, 14, &err), 0);
    assert_int_equal(size, strlen(v3_body));
    close(fd);
    err_clear(&err);
}

static void test_remove_deletes_and_missing_recording_is_not_an_error(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(upload(dir, 15, MIB, v3_body, strlen(v3_body), 4096, &err), 0);
    assert_int_equal(casts_remove(dir, 15, &err), 0);
    assert_int_equal(count_files(dir), 0);
    assert_int_equal(casts_remove(dir, 15, &err), 0);
    assert_int_equal(casts_remove(dir, 16, &err), 0);
}

static void test_bytes_written_counter_counts_body_bytes(void **state)
{
    const char *dir = *state;
    exo_err err = EXO_ERR_INIT;
    uint64_t before = casts_bytes_written();
    assert_int_equal(upload(dir, 17, MIB, v2_body, strlen(v2_body), 7, &err), 0);
    assert_int_equal(casts_bytes_written() - before, strlen(v2_body));
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_dir, remove_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_64_mib_upload_keeps_peak_rss_growth_under_16_mib),
        T(test_exactly_max_bytes_accepted),
        T(test_max_plus_one_refused_as_too_large_leaving_no_file),
        T(test_64_mib_accepted_and_64_mib_plus_one_refused),
        T(test_accepted_recordings_stored_as_sent_in_chunks_of_1_7_and_4096_bytes),
        T(test_refused_recordings_leave_no_file_in_chunks_of_1_7_and_4096_bytes),
        T(test_empty_body_refused_at_commit),
        T(test_write_after_a_refusal_is_refused),
        T(test_abort_leaves_no_file),
        T(test_commit_replaces_existing_recording_atomically),
        T(test_process_killed_mid_upload_leaves_old_recording_and_a_temporary_sweep_removes),
        T(test_sweep_removes_hand_made_leftovers_and_spares_other_files),
        T(test_sweep_spares_temporaries_younger_than_min_age),
        T(test_ids_not_positive_and_relative_dirs_refused),
        T(test_open_read_gives_size_or_not_found),
        T(test_remove_deletes_and_missing_recording_is_not_an_error),
        T(test_bytes_written_counter_counts_body_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
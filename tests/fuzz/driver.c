/* Replays inputs through a fuzz harness without libFuzzer, so that the
 * normal build (gcc), valgrind and the sanitizer build run every checked-in
 * corpus file and regression as a plain test. Arguments are files or
 * folders (every regular file in them, not recursive). A harness reports a
 * finding by aborting, so the first bad input ends the run and its name is
 * the last line printed. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    fprintf(stderr, "%s\n", path);
    /* A copy of exactly the input's size, so that ASan and valgrind see a
     * read past its end as libFuzzer would. */
    uint8_t *copy = malloc(b.len ? b.len : 1);
    memcpy(copy, b.ptr, b.len);
    LLVMFuzzerTestOneInput(copy, b.len);
    free(copy);
    buf_free(&b);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        buf path = BUF_INIT;
        buf_printf(&path, "%s/%s", dir, names[i]);
        struct stat st;
        if (rc == 0 && stat(path.ptr, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(path.ptr);
            (*count)++;
        }
        buf_free(&path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : (count++, run_file(argv[i]));
        if (rc < 0)
            return 1;
    }
    fprintf(stderr, "replayed %d inputs\n", count);
    return 0;
}

#include "support_bundle_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "flags.h"
#include "support_bundle.h"

static const char about[] =
    "Writes one .tar.gz with what a maintainer needs to debug the Exo install in a\n"
    "namespace: versions, `exo-install status`, the ExoControlPlane, workloads, pods,\n"
    "Events, ConfigMaps, Secrets (keys only) and the last lines of each Exo pod's\n"
    "log. Every Secret value, DSN password, token and key is replaced by REDACTED\n"
    "wherever it appears. Reads only.\n";

static const char exit_status[] =
    "Exit status: 0 written (errors.txt in it lists what could not be read), 1 the\n"
    "cluster could not be read or FILE not written, 2 bad flags.\n";

/* Written to FILE.tmp, then renamed: never half an archive under FILE. The
 * bundle holds no secret, but it is still the cluster's inventory: 0600. */
static int write_file(const char *path, const buf *data, exo_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return err_set(err, "-o %s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(err, "-o %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < data->len) {
        ssize_t n = write(fd, data->ptr + off, data->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return err_set(err, "-o %s: %s", path, strerror(e));
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return err_set(err, "-o %s: %s", path, strerror(e));
    }
    return 0;
}

int support_bundle_cmd(int argc, char **argv)
{
    flags f;
    flags_init(&f, FLAGS_SUPPORT_BUNDLE);
    int status = flags_read(&f, argc, argv, about, exit_status);
    if (status >= 0) {
        flags_free(&f);
        return status;
    }
    cluster cl = {.kubeconfig = f.kubeconfig, .context = f.context};
    exo_err err = EXO_ERR_INIT;
    buf tgz = BUF_INIT;
    int files = 0;
    status = 1;
    support_bundle_opts o = {.ns = f.opts.namespace_, .tail = f.tail, .now = time(NULL)};
    if (cluster_connect(&cl, &err) < 0 ||
        support_bundle_collect(cl.client, &o, &tgz, &files, &err) < 0 ||
        write_file(f.bundle_file, &tgz, &err) < 0) {
        fprintf(stderr, "exo-install support-bundle: %s\n", err_msg(&err));
        goto out;
    }
    fprintf(stderr, "exo-install support-bundle: wrote %s (%d files, %zu bytes; secrets "
                    "redacted)\n",
            f.bundle_file, files, tgz.len);
    status = 0;
out:
    buf_free(&tgz);
    err_clear(&err);
    cluster_close(&cl);
    flags_free(&f);
    return status;
}

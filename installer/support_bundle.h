/* `exo-install support-bundle`'s engine: what a maintainer needs to debug an
 * install, read from the cluster, redacted (support_bundle_redact.h) and
 * packed as a .tar.gz (support_bundle_tar.h). */
#ifndef EXO_SUPPORT_BUNDLE_H
#define EXO_SUPPORT_BUNDLE_H

#include <time.h>

#include "buf.h"
#include "err.h"
#include "kube_client.h"

/* The directory every member of the archive is under. */
#define SUPPORT_BUNDLE_DIR "exo-support-bundle"

typedef struct {
    const char *ns;
    int tail;        /* log lines per container */
    time_t now;      /* the members' mtime */
} support_bundle_opts;

/* Reads the install in o->ns into *tgz (gzip of a ustar stream): version,
 * status, the ExoControlPlane, workloads, pods, Services, volumes,
 * ConfigMaps, Events, Secrets (keys only), monitoring objects, and the last
 * o->tail lines of each container of the Exo pods (and of its previous run
 * when it restarted). What cannot be read is listed in errors.txt instead;
 * -1 only when the cluster cannot be reached at all. *n_files (may be NULL)
 * gets the number of members. */
int support_bundle_collect(kube_client *c, const support_bundle_opts *o, buf *tgz, int *n_files,
                           exo_err *err);

#endif

/* `exo-install uninstall`'s engine: deletes what install applied in a
 * namespace (its ApplySet's members) in dependency order: the
 * ExoControlPlane first, so that its backend goes before what it uses.
 * Secrets, volumes, the namespace and the CRD are kept unless purging. */
#ifndef EXO_UNINSTALL_H
#define EXO_UNINSTALL_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"
#include "kube_client.h"
#include "progress.h"

typedef struct {
    const char *ns;
    bool purge; /* also the Secrets and volumes, the namespace if install
                 * created it, the CRD if no other install uses it */
    bool wait;  /* until everything deleted is gone */
    long timeout_ms;
} uninstall_opts;

typedef struct {
    int deleted; /* objects deleted */
    buf kept;    /* what was kept, "Kind name, Kind name"; caller frees */
} uninstall_report;

/* Each deletion is a progress step. r->kept is initialised here and the
 * caller frees it with buf_free, also after a failure. */
int uninstall_run(kube_client *c, const uninstall_opts *o, progress *pg, uninstall_report *r,
                  exo_err *err);

#endif

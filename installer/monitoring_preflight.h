/* Before install applies anything: the monitoring objects asked for
 * (--service-monitor, --prometheus-rule) need the Prometheus Operator's
 * CRDs; without them the API server would refuse the first one after the
 * rest of the install was applied. */
#ifndef EXO_MONITORING_PREFLIGHT_H
#define EXO_MONITORING_PREFLIGHT_H

#include "err.h"
#include "kube_client.h"
#include "render.h"

/* 0 when the cluster serves every monitoring kind o asks for; -1 with one
 * line naming the flag and the missing kind otherwise. */
int monitoring_preflight(kube_client *c, const render_opts *o, exo_err *err);

#endif

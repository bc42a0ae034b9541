#include "monitoring_preflight.h"

#include <stdbool.h>

static int need(kube_client *c, bool asked, const char *flag, const char *kind, exo_err *err)
{
    if (!asked)
        return 0;
    kube_resource r;
    if (kube_discover(c, "monitoring.coreos.com/v1", kind, &r, err) == 0)
        return 0;
    if (!kube_is_not_found(err))
        return err_prefix(err, "%s: looking for the %s kind", flag, kind);
    err_clear(err);
    return err_set(err, "%s needs the Prometheus Operator's CRDs: the cluster serves no "
                        "monitoring.coreos.com/v1 %s (install the operator, or leave out %s)",
                   flag, kind, flag);
}

int monitoring_preflight(kube_client *c, const render_opts *o, exo_err *err)
{
    if (need(c, o->service_monitor, "--service-monitor", "ServiceMonitor", err) < 0 ||
        need(c, o->service_monitor, "--service-monitor", "PodMonitor", err) < 0 ||
        need(c, o->prometheus_rule, "--prometheus-rule", "PrometheusRule", err) < 0)
        return -1;
    return 0;
}

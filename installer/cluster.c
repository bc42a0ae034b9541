#include "cluster.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "version.h"

const kube_resource KR_NAMESPACES = {"", "v1", "namespaces", false};
const kube_resource KR_CRDS = {"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
const kube_resource KR_SECRETS = {"", "v1", "secrets", true};
const kube_resource KR_CONFIGMAPS = {"", "v1", "configmaps", true};
const kube_resource KR_PVCS = {"", "v1", "persistentvolumeclaims", true};
const kube_resource KR_PODS = {"", "v1", "pods", true};
const kube_resource KR_EVENTS = {"", "v1", "events", true};
const kube_resource KR_SERVICES = {"", "v1", "services", true};
const kube_resource KR_SERVICEACCOUNTS = {"", "v1", "serviceaccounts", true};
const kube_resource KR_STATEFULSETS = {"apps", "v1", "statefulsets", true};
const kube_resource KR_DEPLOYMENTS = {"apps", "v1", "deployments", true};
const kube_resource KR_ROLES = {"rbac.authorization.k8s.io", "v1", "roles", true};
const kube_resource KR_ROLEBINDINGS = {"rbac.authorization.k8s.io", "v1", "rolebindings", true};
const kube_resource KR_EXOCONTROLPLANES = {"exo.dev", "v1alpha1", "exocontrolplanes", true};
const kube_resource KR_SERVICEMONITORS = {"monitoring.coreos.com", "v1", "servicemonitors", true};
const kube_resource KR_PODMONITORS = {"monitoring.coreos.com", "v1", "podmonitors", true};
const kube_resource KR_PROMETHEUSRULES = {"monitoring.coreos.com", "v1", "prometheusrules", true};
const kube_resource KR_STORAGECLASSES = {"storage.k8s.io", "v1", "storageclasses", false};

static const struct {
    const char *api_version;
    const char *kind;
    const kube_resource *r;
} kinds[] = {
    {"v1", "Namespace", &KR_NAMESPACES},
    {"apiextensions.k8s.io/v1", "CustomResourceDefinition", &KR_CRDS},
    {"v1", "Secret", &KR_SECRETS},
    {"v1", "ConfigMap", &KR_CONFIGMAPS},
    {"v1", "PersistentVolumeClaim", &KR_PVCS},
    {"v1", "Service", &KR_SERVICES},
    {"v1", "ServiceAccount", &KR_SERVICEACCOUNTS},
    {"apps/v1", "StatefulSet", &KR_STATEFULSETS},
    {"apps/v1", "Deployment", &KR_DEPLOYMENTS},
    {"rbac.authorization.k8s.io/v1", "Role", &KR_ROLES},
    {"rbac.authorization.k8s.io/v1", "RoleBinding", &KR_ROLEBINDINGS},
    {"exo.dev/v1alpha1", "ExoControlPlane", &KR_EXOCONTROLPLANES},
    {"monitoring.coreos.com/v1", "ServiceMonitor", &KR_SERVICEMONITORS},
    {"monitoring.coreos.com/v1", "PodMonitor", &KR_PODMONITORS},
    {"monitoring.coreos.com/v1", "PrometheusRule", &KR_PROMETHEUSRULES},
};

const kube_resource *cluster_resource_of(const char *api_version, const char *kind)
{
    if (!api_version || !kind)
        return NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].api_version, api_version) == 0 && strcmp(kinds[i].kind, kind) == 0)
            return kinds[i].r;
    return NULL;
}

int cluster_connect(cluster *c, exo_err *err)
{
    kube_config_opts o = {.kubeconfig = c->kubeconfig, .context = c->context};
    if (kube_config_load(&c->cfg, &o, err) < 0)
        return -1;
    /* Short connect retries: an unreachable server fails in seconds. */
    kube_client_opts co = {.user_agent = "exo-install/" EXO_VERSION, .timeout_ms = 30000};
    if (kube_client_new(&c->client, c->cfg, &co, err) < 0) {
        kube_config_free(c->cfg);
        c->cfg = NULL;
        return -1;
    }
    return 0;
}

void cluster_close(cluster *c)
{
    kube_client_free(c->client);
    kube_config_free(c->cfg);
    c->client = NULL;
    c->cfg = NULL;
}

int cluster_parse_duration(const char *s, long *ms)
{
    /* A week at most: a wait longer than that is a typo (10000m), not a
     * plan. */
    const int64_t week = INT64_C(7) * 24 * 3600 * DURATION_S;
    int64_t ns;
    if (duration_parse(s, &ns) < 0 || ns < DURATION_MS || ns > week)
        return -1;
    *ms = (long)(ns / DURATION_MS);
    return 0;
}

/* What every command that talks to a cluster shares: the client made from
 * the --kubeconfig and --context flags (flags.h), and --timeout durations. */
#ifndef EXO_CLUSTER_H
#define EXO_CLUSTER_H

#include <stdbool.h>

#include "err.h"
#include "kube_client.h"
#include "kube_config.h"
#include "names.h"

/* The field manager of everything exo-install applies (contract/names.c). */
#define CLUSTER_FIELD_MANAGER (contract.installer_field_manager)

typedef struct {
    const char *kubeconfig;
    const char *context;
    kube_config *cfg;
    kube_client *client;
} cluster;

/* Loads the kubeconfig and makes the client. Errors name the server or the
 * file; they never hold a credential. */
int cluster_connect(cluster *c, exo_err *err);
void cluster_close(cluster *c);

/* A duration as lib/duration.h reads it ("10m", "90s", "1h30m", "500ms"),
 * in milliseconds. Fails on anything else, under 1 ms and over a week. */
int cluster_parse_duration(const char *s, long *ms);

/* The resources the installer touches. */
extern const kube_resource KR_NAMESPACES, KR_CRDS, KR_SECRETS, KR_CONFIGMAPS, KR_PVCS, KR_PODS,
    KR_EVENTS, KR_SERVICES, KR_STATEFULSETS, KR_DEPLOYMENTS, KR_EXOCONTROLPLANES,
    KR_STORAGECLASSES, KR_SERVICEACCOUNTS, KR_ROLES, KR_ROLEBINDINGS, KR_SERVICEMONITORS,
    KR_PODMONITORS, KR_PROMETHEUSRULES;

/* The resource of a rendered object's apiVersion and kind, from the table
 * above (no discovery request); NULL for a kind the installer never renders. */
const kube_resource *cluster_resource_of(const char *api_version, const char *kind);

#endif

/* Before anything is written: the API answers, the credentials are
 * accepted, the user may do every verb the install needs (a forbidden verb
 * is named now, not discovered halfway), the namespace is not being deleted,
 * and the storage class exists. */
#ifndef EXO_PREFLIGHT_H
#define EXO_PREFLIGHT_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "kube_client.h"

typedef struct {
    const char *namespace_;
    const char *storage_class; /* NULL: the cluster's default */
    bool need_delete;          /* uninstall or prune: list and delete too */
} preflight_opts;

/* err names the first thing missing. Warnings (no default StorageClass) are
 * written to warn. */
int preflight_run(kube_client *c, const preflight_opts *o, FILE *warn, exo_err *err);

/* Whether the resourceRules of a SelfSubjectRulesReview allow verb on
 * group/resource; rules limited to resourceNames do not count. */
bool preflight_rules_allow(const cJSON *rules, const char *group, const char *resource,
                           const char *verb);

/* preflight_run less the reachability check, for a caller that made it. */
int preflight_permissions(kube_client *c, const preflight_opts *o, FILE *warn, exo_err *err);

/* GET /version: reachability and credentials; *version (caller frees, may
 * be NULL) gets the server's gitVersion. The message says which. */
int preflight_reach(kube_client *c, char **version, exo_err *err);

#endif

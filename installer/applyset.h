/* What install applied, as kubectl's ApplySet (KEP-3659) records it, so that
 * an upgrade can prune what the new rendering dropped and uninstall can
 * find everything:
 *   - a parent ConfigMap `exo-install` in the install namespace, labelled
 *     applyset.kubernetes.io/id=<id> and annotated with the group-kinds of
 *     its members (applyset.kubernetes.io/contains-group-kinds) and the
 *     tooling (exo-install/VERSION);
 *   - each namespaced member labelled applyset.kubernetes.io/part-of=<id>.
 * The id is kubectl's: "applyset-" + base64url(sha256(name.namespace.kind.group))
 * + "-v1", so tools that read ApplySets recognise it (and kubectl, as the
 * KEP asks, refuses to prune a set whose tooling annotation is not its own).
 * The Namespace and the CRD are not members: one is the
 * set's home, the other is shared by every install on the cluster; neither
 * may ever be pruned. */
#ifndef EXO_APPLYSET_H
#define EXO_APPLYSET_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "kube_client.h"

#define APPLYSET_PARENT "exo-install"
#define APPLYSET_ID_LABEL "applyset.kubernetes.io/id"
#define APPLYSET_PART_OF_LABEL "applyset.kubernetes.io/part-of"
#define APPLYSET_GROUP_KINDS "applyset.kubernetes.io/contains-group-kinds"
#define APPLYSET_TOOLING "applyset.kubernetes.io/tooling"

/* The id of the set whose parent is ConfigMap exo-install in ns; caller frees. */
char *applyset_id(const char *ns);

/* True for objects that belong to the set (namespaced ones). */
bool applyset_member(const cJSON *doc);

/* Adds the part-of label to a member. */
void applyset_label(cJSON *doc, const char *id);

/* "Kind.group" of an object ("Deployment.apps", "Secret"); caller frees. */
char *applyset_group_kind(const cJSON *doc);

/* The sorted, comma-separated group-kinds of the members of docs, merged
 * with those of also (a previous annotation, may be NULL). Caller frees. */
char *applyset_group_kinds(const cJSON *docs, const char *also);

/* The parent ConfigMap, for server-side apply (caller frees). */
cJSON *applyset_parent(const char *ns, const char *id, const char *group_kinds);

/* Reads the parent: *group_kinds (caller frees) is its annotation, NULL
 * when the parent does not exist. */
int applyset_read(kube_client *c, const char *ns, char **group_kinds, exo_err *err);

/* The resource of a group-kind ("Deployment.apps") among the kinds the
 * installer renders; NULL for any other. */
const kube_resource *applyset_resource(const char *group_kind);

/* Lists the members of kind group_kind ("Deployment.apps") in ns; *items
 * is the caller's. Fails with reason "NotFound" when the cluster does not
 * serve the kind. */
int applyset_list(kube_client *c, const char *ns, const char *id, const char *group_kind,
                  cJSON **items, exo_err *err);

/* On the parent: install created the namespace, so --purge may delete it. */
#define APPLYSET_NS_CREATED "exo.dev/namespace-created-by-install"

/* Never pruned, never removed by uninstall without --purge. */
bool applyset_kept_kind(const char *group_kind);

#endif

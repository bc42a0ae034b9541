/* Where the Kubernetes API is and how to authenticate to it, loaded the way
 * kubectl and client-go do:
 *
 *   - a kubeconfig: the explicit path (--kubeconfig), else every file named
 *     in $KUBECONFIG (colon-separated; missing ones skipped; merged so that
 *     the first file to define a cluster, user or context name wins, and
 *     current-context comes from the first file that sets it), else
 *     ~/.kube/config; --context overrides current-context;
 *   - in-cluster: the service-account token, CA and namespace files plus
 *     KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT.
 *
 * Relative paths (certificate-authority, client-certificate, client-key,
 * tokenFile, and an exec command that contains a '/') resolve against the
 * folder of the file that named them. Certificates and keys stay in memory;
 * nothing is written to temporary files. No message this module makes holds
 * a token or key material.
 *
 * Credentials can change while a program runs: a tokenFile (a bound
 * service-account token rotates) is re-read when older than a minute and
 * after a 401; an exec plugin's credential is cached until its
 * expirationTimestamp and fetched again after a 401 (lib/kube_auth.c keeps
 * them). Not thread-safe: a kube_config is used by one thread (one client
 * per thread). */
#ifndef EXO_KUBE_CONFIG_H
#define EXO_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef struct kube_config kube_config;

typedef struct {
    const char *kubeconfig; /* --kubeconfig; NULL: $KUBECONFIG, then ~/.kube/config */
    const char *context;    /* --context; NULL: current-context */
} kube_config_opts;

/* The service-account folder of a pod. */
#define KUBE_SERVICE_ACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Loads a kubeconfig as described above (opts may be NULL). On success *out
 * is owned by the caller (kube_config_free). Errors are one line naming the
 * file and the field, e.g. `/home/u/.kube/config: context "foo" not found`,
 * `/tmp/k: user "u": client-key-data is not base64`. */
int kube_config_load(kube_config **out, const kube_config_opts *opts, exo_err *err);

/* Loads the in-cluster configuration from `dir` (NULL: the service-account
 * folder above) and the KUBERNETES_SERVICE_HOST/PORT variables. The token is
 * read now and re-read as it rotates; a missing namespace file means
 * "default". *out is owned by the caller (kube_config_free). */
int kube_config_in_cluster(kube_config **out, const char *dir, exo_err *err);

void kube_config_free(kube_config *cfg);

/* Borrowed from cfg. The server URL has no trailing '/'. */
const char *kube_config_server(const kube_config *cfg);
/* The context's namespace, "default" when it sets none. */
const char *kube_config_namespace(const kube_config *cfg);
/* The context's name, or "in-cluster". */
const char *kube_config_context(const kube_config *cfg);
/* True only when the cluster entry says insecure-skip-tls-verify: true. */
bool kube_config_insecure(const kube_config *cfg);
/* The CA bundle (PEM) to verify the server with, or NULL (use the system's). */
const unsigned char *kube_config_ca(const kube_config *cfg, size_t *len);

/* What to present to the server now. Every pointer is NULL when unused and
 * is borrowed from the kube_config: valid until the next call to
 * kube_config_credentials, kube_config_invalidate or kube_config_free. */
typedef struct {
    const char *token;         /* bearer token */
    const unsigned char *cert; /* client certificate, PEM */
    size_t cert_len;
    const unsigned char *key; /* its private key, PEM */
    size_t key_len;
} kube_credentials;

/* Fills *out, first re-reading a tokenFile read more than a minute ago and
 * running the exec plugin when it has no unexpired credential. Errors name
 * the file and user, or the plugin and how it failed. */
int kube_config_credentials(kube_config *cfg, kube_credentials *out, exo_err *err);

/* Call after a 401: forgets the cached exec credential and token-file
 * contents so that the next kube_config_credentials fetches fresh ones.
 * Returns true when there was anything to refresh (a retry may succeed),
 * false for static credentials. */
bool kube_config_invalidate(kube_config *cfg);

#endif

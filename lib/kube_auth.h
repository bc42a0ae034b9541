/* How a kubeconfig user authenticates, and keeping that current: a static
 * bearer token or client certificate, a tokenFile re-read as it rotates (a
 * bound service-account token), and an exec credential plugin
 * (client.authentication.k8s.io/v1 or v1beta1) run when it has no unexpired
 * credential. kube_config.c builds one of these from a kubeconfig user or
 * the in-cluster token; the rest of the program reaches it through
 * kube_config_credentials() and kube_config_invalidate().
 *
 * No message made here holds a token or key material. Not thread-safe: used
 * by the thread that uses its kube_config. */
#ifndef EXO_KUBE_AUTH_H
#define EXO_KUBE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "kube_config.h"

typedef struct kube_auth kube_auth;

/* No credentials yet. who names the user in every error, e.g.
 * `/home/u/.kube/config: user "u"` (copied). Owned by the caller, freed with
 * kube_auth_free(). */
kube_auth *kube_auth_new(const char *who);

/* NULL is accepted. */
void kube_auth_free(kube_auth *a);

/* A static bearer token (copied). */
void kube_auth_set_token(kube_auth *a, const char *token);

/* A client certificate and its private key, both PEM; a takes ownership. */
void kube_auth_set_client_cert(kube_auth *a, unsigned char *cert, size_t cert_len,
                               unsigned char *key, size_t key_len);

/* A file holding the token (path copied, already resolved): read by the next
 * kube_auth_get(), then again when a minute old and after an invalidate. */
void kube_auth_set_token_file(kube_auth *a, const char *path);

/* Whether a token file was set. */
bool kube_auth_has_token_file(const kube_auth *a);

/* The exec plugin of a kubeconfig user's `exec` mapping (apiVersion,
 * command, args, env, provideClusterInfo). As client-go, a command that
 * contains a '/' is relative to dir (the kubeconfig's folder), any other is
 * looked up in PATH. Errors name who and the field. */
int kube_auth_set_exec(kube_auth *a, const cJSON *exec, const char *dir, exo_err *err);

/* The cluster an exec plugin is told about when it asks for it
 * (provideClusterInfo). Borrowed: server and ca must outlive a. */
void kube_auth_set_cluster(kube_auth *a, const char *server, const unsigned char *ca, size_t ca_len,
                           bool insecure);

/* What kube_config_credentials() promises (see kube_config.h), for this
 * user: fills *out with pointers borrowed from a. */
int kube_auth_get(kube_auth *a, kube_credentials *out, exo_err *err);

/* What kube_config_invalidate() promises, for this user. */
bool kube_auth_invalidate(kube_auth *a);

#endif

/* Checks on user input that Kubernetes would otherwise refuse later, at
 * apply time, far from the flag that caused it. */
#ifndef EXO_VALIDATE_H
#define EXO_VALIDATE_H

#include <stdbool.h>

/* An RFC 1123 label: what a namespace name must be. */
bool validate_dns_label(const char *s);

/* An RFC 1123 subdomain: what a StorageClass name must be. */
bool validate_dns_subdomain(const char *s);

/* A container image reference: [registry[:port]/]path[:tag][@digest]. */
bool validate_image(const char *s);

/* A storage size: a positive whole number with an optional unit (Ki … Ei,
 * k … E). Returns its canonical form (the one the API server stores, e.g.
 * "2048Mi" -> "2Gi"), which the caller frees, or NULL when s is not one. */
char *validate_size(const char *s);

/* The pull policy the API server would default for this image: Always for
 * ":latest" or no tag, IfNotPresent otherwise. Written out so GitOps tools
 * see no drift. */
const char *validate_default_pull_policy(const char *image);

#endif

/* What lib/kube_config.c shares with lib/kube_auth.c, and nothing else
 * includes: reading the files a kubeconfig names and its fields. */
#ifndef EXO_KUBE_CONFIG_INTERNAL_H
#define EXO_KUBE_CONFIG_INTERNAL_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"

/* Appends the whole file to *out; fails with "path: strerror" so that every
 * caller's message names the file. */
int kube_config_read_file(const char *path, buf *out, exo_err *err);

/* Drops trailing spaces, tabs and line ends (token and namespace files). */
void kube_config_trim(buf *b);

/* path, relative to dir unless absolute (or dir is NULL); owned by the
 * caller. */
char *kube_config_resolve(const char *dir, const char *path);

/* obj[key] when it is a non-empty string, else NULL; borrowed from obj. */
const char *kube_config_str(const cJSON *obj, const char *key);

#endif

/* Reading the files a kubeconfig names and its fields: what both
 * lib/kube_config.c (the kubeconfig) and lib/kube_auth.c (the credentials it
 * names) use, in a file of its own so that neither calls the other back.
 * Nothing outside those two includes it. */
#ifndef EXO_KUBE_CONFIG_FILES_H
#define EXO_KUBE_CONFIG_FILES_H

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

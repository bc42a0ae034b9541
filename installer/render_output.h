/* Where rendered objects go: one YAML stream, or one file per object in a
 * directory with a kustomization.yaml listing them in apply order. */
#ifndef EXO_RENDER_OUTPUT_H
#define EXO_RENDER_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"

/* Writes one document (no "---") to f. */
int render_output_doc(FILE *f, const cJSON *doc, exo_err *err);

/* Writes docs as a multi-document YAML stream to f. */
int render_output_stream(FILE *f, const cJSON *docs, exo_err *err);

/* Writes dir/name whole or not at all (temporary file, fsync, rename) with
 * the given mode whatever the umask. no_replace keeps an existing file and
 * fails with EEXIST instead. */
int render_output_write_file(const char *dir, const char *name, const buf *content, mode_t mode,
                             bool no_replace, exo_err *err);

/* The file name an object gets in a directory: "NN-kind-name.yaml", NN its
 * position in apply order, so `kubectl apply -f DIR` keeps the order too.
 * Caller frees. */
char *render_output_file_name(size_t index, const cJSON *doc);

/* Fails, without touching anything, when dir exists, is not empty, and was
 * not written by this command. */
int render_output_dir_check(const char *dir, exo_err *err);

/* Writes docs into dir (created when missing). A non-empty dir must be one
 * this command wrote before (its kustomization.yaml says so); files listed
 * there that the new rendering no longer has are removed. Each file is
 * written whole or not at all (temporary file, then rename); Secrets are
 * mode 0600. */
int render_output_dir(const char *dir, const cJSON *docs, exo_err *err);

#endif

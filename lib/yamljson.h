/* YAML <-> JSON bridge: libyaml events in, cJSON trees out, and back.
 *
 * Types follow the YAML 1.2 core schema for plain scalars only: null
 * (`~`, `null`, empty), booleans (`true`/`false` in any of the three cases
 * YAML allows), integers (decimal, 0x, 0o) and floats (incl. .inf, .nan).
 * Everything else is a string: quoted scalars, block scalars, `yes`, `on`,
 * `"80"`. Explicit tags !!str, !!int, !!float, !!bool, !!null are honoured.
 * Integers that a double cannot hold exactly are kept as cJSON Raw nodes
 * holding their digits, so nothing is lost on a round trip.
 *
 * The emitter quotes any string that a YAML 1.1 or 1.2 reader would
 * otherwise take for another type (`"80"`, `"yes"`, `"on"`, `"null"`, `""`),
 * writes multi-line strings as literal blocks, keeps key order, never wraps
 * long lines, and is deterministic: the same tree gives the same bytes. */
#ifndef EXO_YAMLJSON_H
#define EXO_YAMLJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"

/* Parses a stream of zero or more documents into *out, a cJSON array with
 * one item per document (caller frees with cJSON_Delete). `name` names the
 * input (a file name) in error messages, which also give line and column.
 * Aliases are expanded; a mapping key must be a scalar. */
int yamljson_parse(cJSON **out, const char *text, size_t len, const char *name, exo_err *err);

/* Parses a stream that must hold exactly one document; *out is that
 * document (caller frees with cJSON_Delete). */
int yamljson_parse_one(cJSON **out, const char *text, size_t len, const char *name, exo_err *err);

/* Appends one document as YAML to out (no "---" marker, ends in "\n"). */
int yamljson_emit(buf *out, const cJSON *doc, exo_err *err);

/* Appends a stream: each item of the array `docs`, each preceded by "---\n". */
int yamljson_emit_stream(buf *out, const cJSON *docs, exo_err *err);

#endif

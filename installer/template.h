/* Placeholders in parsed templates. Values go into the tree, never into the
 * text, so no value (a DSN with ": " or a newline) can change a manifest's
 * structure. */
#ifndef EXO_TEMPLATE_H
#define EXO_TEMPLATE_H

#include <cjson/cJSON.h>

#include "err.h"

/* Expands ${name} placeholders in doc, in place, from the object vars:
 *  - a string that is exactly "${name}" becomes a copy of vars.name, of
 *    whatever type it is (a number, an object, …);
 *  - "${name?}" is optional: when vars has no name (or it is null) the
 *    mapping entry or sequence item holding it is removed;
 *  - "${name}" inside a longer string is replaced by the value's text
 *    (strings and numbers only).
 * An unknown name, an unterminated "${", or a placeholder in a mapping key
 * fails with a message naming `where` (the template's file name). */
int template_expand(cJSON *doc, const cJSON *vars, const char *where, exo_err *err);

#endif

/* `exo-install status`'s engine: the components of an install with their
 * ready counts, its volumes and the ExoControlPlane's conditions, read from
 * the cluster into JSON (what --output json prints) and shown as tables. */
#ifndef EXO_STATUS_H
#define EXO_STATUS_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "kube_client.h"

/* Fills out (an object the caller made) with namespace, installed,
 * components, volumes, conditions and ready; *ready says whether every
 * component is ready and the ExoControlPlane reports Ready for its latest
 * generation. An install that is absent is not an error. */
int status_collect(kube_client *c, const char *ns, cJSON *out, bool *ready, exo_err *err);

/* Prints what status_collect filled as tables for people. */
void status_print_table(FILE *out, const cJSON *s);

#endif

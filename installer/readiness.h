/* Is an applied object ready, and if not, why: the rules kstatus and
 * `helm --wait` use, for the kinds the installer renders. */
#ifndef EXO_READINESS_H
#define EXO_READINESS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "kube_client.h"

/* Whether rendered object doc must be waited for (workloads, the CRD, the
 * ExoControlPlane). */
bool readiness_awaited(const cJSON *doc);

/* Reads doc's live object: *ready, and in why a short state ("1/1 ready",
 * "0/1 ready", "Ready=False ReconcileError: ..."). Fails only when the API
 * cannot be read; a missing object is "not found", not ready. */
int readiness_check(kube_client *c, const cJSON *doc, bool *ready, buf *why, exo_err *err);

/* The rules themselves, on a live object (kind set). */
void readiness_of(const cJSON *live, bool *ready, buf *why);

/* Why a workload or the ExoControlPlane is not ready, for a timeout message:
 * its pods' phase and container states and the last events of the object
 * and its pods, one per line, each starting with "  ". */
void readiness_diagnose(kube_client *c, const cJSON *doc, buf *out);

#endif

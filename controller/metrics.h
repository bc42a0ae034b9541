/* The controller's Prometheus metrics. Updated by the controller's loop,
 * read by the health server's thread: every value is an atomic. */
#ifndef EXO_CTL_METRICS_H
#define EXO_CTL_METRICS_H

#include <stdbool.h>

#include "buf.h"
#include "kube_client.h"

/* One reconcile that took `seconds`; failed: it returned an error. */
void metrics_reconcile(double seconds, bool failed);
void metrics_queue_depth(long n);
void metrics_leader(bool leading);
/* API writes by kind: "apply", "status", "event". */
void metrics_writes(unsigned long applies, unsigned long status, unsigned long events);

/* The API client's counters: retries by cause, watch restarts and relists. */
void metrics_api(const kube_stats *s);

/* Appends the text exposition format (version 0.0.4). */
void metrics_render(buf *out);

#endif

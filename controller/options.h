/* exo-controller's command line. */
#ifndef EXO_CTL_OPTIONS_H
#define EXO_CTL_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

typedef struct {
    const char *kubeconfig; /* NULL: $KUBECONFIG, in-cluster, ~/.kube/config */
    const char *context;
    const char *ns;          /* NULL: $POD_NAMESPACE, then the config's namespace */
    const char *health_addr; /* ":8081" */
    const char *identity;    /* NULL: $POD_NAME, then hostname_pid */
    const char *log_level;   /* "info" */
    bool leader_elect;
    long lease_ms, renew_deadline_ms, retry_ms;
    long resync_ms;
    bool help, version;
} options;

/* Parses argv (borrowed: the strings in *o point into it). Returns 0, or
 * -1 with a one-line message naming the flag. */
int options_parse(options *o, int argc, char **argv, exo_err *err);
void options_usage(FILE *f);

/* A duration as lib/duration.h reads it ("15s", "500ms", "1h30m") in
 * milliseconds; -1 when malformed or negative. */
long options_duration_ms(const char *s);

#endif

/* The one rendering path: options in, Kubernetes objects out, in apply
 * order. `exo-install render` prints them; `install` (later) applies the
 * same objects. */
#ifndef EXO_RENDER_H
#define EXO_RENDER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "err.h"

typedef struct {
    const char *namespace_;
    bool bundled_postgres;
    const char *db_dsn;         /* managed mode only; validated */
    const char *db_ca_pem;      /* contents of --db-ca-file, or NULL */
    const char *storage_class;  /* NULL: the cluster's default class */
    const char *cast_storage_size;     /* canonical quantity */
    const char *postgres_storage_size; /* canonical quantity */
    const char *cast_access_mode;
    const char *backend_image;
    const char *controller_image;
    int backend_replicas;
    int retention_days;
    bool include_secrets;
    /* Monitoring objects, off by default (render_monitoring.c): they need
     * the Prometheus Operator's CRDs, or Grafana's dashboard sidecar. */
    bool service_monitor;     /* ServiceMonitor (backend), PodMonitor (controller) */
    bool prometheus_rule;     /* PrometheusRule: the alerts */
    bool grafana_dashboard;   /* the dashboard as a ConfigMap */
    const char *runbook_url;  /* what the alerts' runbook_url start with */
    /* The bundled Postgres password to put in the Secrets instead of a
     * fresh one: install passes the one a Secret already holds, so that the
     * DSN matches the database it initialised. */
    const char *postgres_password;
} render_opts;

/* Where the alerts' runbook_url point by default: docs/runbooks.md of the
 * project, one anchor per alert. */
#define RENDER_RUNBOOK_URL "https://github.com/exo-dev/exo/blob/main/docs/runbooks.md"
/* The Grafana dashboard, embedded from templates/. */
#define RENDER_DASHBOARD_FILE "grafana-dashboard.json"

/* Defaults, as --help lists them. Strings are static. */
void render_opts_init(render_opts *o);

/* The default image of a component ("exo-backend", "exo-controller") at
 * this build's version; static storage. */
const char *render_default_image(const char *component);

/* The placeholder values both renderings fill their templates with: the
 * contract's (contract/: names, the backend's environment) and the
 * options' (caller frees with cJSON_Delete). With_secrets adds the Secret data of
 * the Kubernetes rendering (generated with include_secrets). */
cJSON *render_vars(const render_opts *o, bool with_secrets);

/* n random bytes from OpenSSL's RNG, base64; url_safe swaps '+' '/' for
 * '-' '_' and drops padding (for passwords that go into DSNs). Caller frees. */
char *render_random_token(size_t n, bool url_safe);

/* Parses an embedded template and fills it from vars; *doc is the caller's. */
int render_template(cJSON **doc, const char *name, const cJSON *vars, exo_err *err);

/* Renders every object for o into *docs, a cJSON array in apply order
 * (caller frees with cJSON_Delete). Options must have been validated; with
 * include_secrets, fresh values come from OpenSSL's RNG. */
int render_objects(cJSON **docs, const render_opts *o, exo_err *err);

#endif

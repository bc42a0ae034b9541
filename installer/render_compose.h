/* `exo-install render --format compose`: the same stack as the bundled
 * Kubernetes install, as a Docker Compose file, from the same options and
 * the same contract (contract/). Secrets are not in the file: it
 * interpolates them from a .env file beside it, which --include-secrets
 * writes once and never overwrites. */
#ifndef EXO_RENDER_COMPOSE_H
#define EXO_RENDER_COMPOSE_H

#include <cjson/cJSON.h>

#include "err.h"
#include "render.h"

#define COMPOSE_FILE "compose.yaml"
#define COMPOSE_ENV_FILE ".env"
#define COMPOSE_CA_FILE "database-ca.crt"

/* Renders the Compose file for o into *doc (caller frees). `publish` is
 * where the HTTP port is published ("127.0.0.1:8080"). */
int render_compose(cJSON **doc, const render_opts *o, const char *publish, exo_err *err);

/* Writes dir/compose.yaml (and, with a CA, dir/database-ca.crt); with
 * include_secrets also dir/.env unless it exists, which it keeps (and says
 * so on stderr). Each file is written whole or not at all. */
int render_compose_write(const char *dir, const cJSON *doc, const render_opts *o, exo_err *err);

#endif

/* The backend's environment: every variable exo-backend reads, as one
 * table (pgbouncer's config table is the model): name, type, default,
 * bounds, where its value comes from (the ExoControlPlane field, the
 * Secret and key) and one line of help.
 *
 * Everything that crosses into the backend's process reads it here: the
 * backend loads its configuration by walking it (backend/config.c) and
 * prints its --help from it, the controller writes the backend
 * container's env from it (controller/backend_objects.c), and the
 * installer fills its templates' placeholders from it (installer/render.c,
 * templates/exocontrolplane.yaml, crd-exocontrolplanes.yaml, compose.yaml).
 * Change a default here and all of them follow (contract/tests). */
#ifndef EXO_CONTRACT_BACKEND_ENV_H
#define EXO_CONTRACT_BACKEND_ENV_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "err.h"

typedef enum {
    CONTRACT_STRING,   /* text as given; read into a const char * */
    CONTRACT_INT,      /* a whole number from min to max; read into an int */
    CONTRACT_BYTES,    /* a whole number of bytes from min to max; an int64_t */
    CONTRACT_DURATION, /* lib/duration.h ("24h", "1h30m"), at least min
                        * seconds; read into an int64_t of whole seconds */
    /* Secrets: never printed, never in a message. The backend reads them
     * on its own (config.c: the DSN and the key; the API: the token). */
    CONTRACT_DSN,   /* a libpq connection string, keyword or URL form */
    CONTRACT_KEY,   /* 32 random bytes, base64 */
    CONTRACT_TOKEN, /* an API token */
} contract_type;

/* Where the controller takes a variable's value from. */
typedef enum {
    CONTRACT_FROM_DEFAULT, /* always the default: no ExoControlPlane field */
    CONTRACT_FROM_SPEC,    /* the field at `spec`, the default when absent */
    CONTRACT_FROM_SECRET,  /* the Secret key the secretKeyRef at `spec` names */
    CONTRACT_WHEN_SPEC,    /* the default, only when the field at `spec` is set */
} contract_source;

typedef enum {
    CONTRACT_ENV_DATABASE_DSN,
    CONTRACT_ENV_ENCRYPTION_KEY,
    CONTRACT_ENV_BOOTSTRAP_TOKEN,
    CONTRACT_ENV_HTTP_ADDR,
    CONTRACT_ENV_CAST_STORAGE_DIR,
    CONTRACT_ENV_CAST_MAX_BYTES,
    CONTRACT_ENV_DB_MAX_OPEN_CONNS,
    CONTRACT_ENV_DB_MAX_IDLE_CONNS,
    CONTRACT_ENV_RETENTION_DAYS,
    CONTRACT_ENV_PARTITION_PREMAKE,
    CONTRACT_ENV_MAINTENANCE_INTERVAL,
    CONTRACT_ENV_PGSSLROOTCERT,
    CONTRACT_ENV_DB_STARTUP_WAIT,
    CONTRACT_ENV_COUNT
} contract_env_id;

typedef struct {
    const char *name;     /* the environment variable */
    contract_type type;
    const char *def;      /* the default, as text; NULL: none */
    long long min, max;   /* INT, BYTES: bounds; DURATION: min in seconds */
    bool required;        /* FROM_SECRET: written even without the field */
    contract_source from;
    const char *spec;     /* ExoControlPlane path under .spec, or NULL */
    const char *secret;   /* FROM_SECRET: the Secret the installer writes */
    const char *key;      /*   and its key */
    const char *var;      /* the templates' placeholder; NULL: none */
    const char *help;     /* one line, for --help and docs/database.md */
} contract_env;

/* In the order the controller writes them into the container (changing
 * the order changes the pod template, which rolls the pods). */
extern const contract_env contract_env_table[CONTRACT_ENV_COUNT];

/* Shorthand for &contract_env_table[id]. */
const contract_env *contract_env_get(contract_env_id id);

/* The default of an INT or BYTES variable, as a number. */
long long contract_env_default_number(contract_env_id id);

/* Reads v (STRING, INT, BYTES or DURATION) from the environment, the
 * default when unset or empty, into *out, whose C type the type says.
 * A bad value fails with a message naming the variable and what it wants. */
int contract_env_read(const contract_env *v, void *out, exo_err *err);

/* The port of EXO_HTTP_ADDR's default: where the backend listens, the
 * port its Service and the Compose file publish. */
int contract_backend_port(void);

/* Adds the templates' placeholders to vars: for each variable with a
 * `var`, <var> (the value to render: its default), <var>Default, and for
 * INT and BYTES <var>Min and <var>Max (INT and BYTES as numbers, the rest
 * as strings); for a variable from a Secret, <var>Secret and
 * <var>SecretKey, the Secret's name and key; and backendPort. */
void contract_env_vars(cJSON *vars);

/* The "Environment" paragraph of exo-backend --help. */
void contract_env_usage(FILE *f);

#endif

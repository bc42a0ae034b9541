/* exo-backend's configuration, from the environment: the variables, their
 * types, defaults and bounds are contract/backend_env.c's table. */
#ifndef EXO_CONFIG_H
#define EXO_CONFIG_H

#include <stdint.h>

#include "crypto.h"
#include "dsn.h"
#include "err.h"

typedef struct {
    dsn *dsn;                        /* EXO_DATABASE_DSN, parsed once here; owned */
    unsigned char key[CRYPTO_KEY_LEN]; /* EXO_ENCRYPTION_KEY, decoded */
    const char *cast_dir;            /* EXO_CAST_STORAGE_DIR */
    int64_t cast_max_bytes;          /* EXO_CAST_MAX_BYTES */
    const char *http_addr;           /* EXO_HTTP_ADDR */
    int max_open;                    /* EXO_DB_MAX_OPEN_CONNS */
    int max_idle;                    /* EXO_DB_MAX_IDLE_CONNS */
    int retention_days;              /* EXO_RETENTION_DAYS */
    int premake_months;              /* EXO_PARTITION_PREMAKE */
    int64_t maintenance_interval_s;  /* EXO_MAINTENANCE_INTERVAL */
    int64_t startup_wait_s;          /* EXO_DB_STARTUP_WAIT */
} backend_config;

/* Reads and checks every variable, walking the contract's table.
 * `need_key`: whether EXO_ENCRYPTION_KEY is required (every command but
 * `maintain` needs it). Messages name the variable and never hold the
 * DSN's password or the key. */
int config_load(backend_config *c, int need_key, exo_err *err);
void config_free(backend_config *c);

/* Parses a duration (lib/duration.h: "24h", "90m", "1h30m", "45s") into
 * whole seconds; -1 when s is not one or is under one second. */
int64_t config_parse_duration(const char *s);

#endif

#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend_env.h"
#include "dsn.h"
#include "duration.h"
#include "xalloc.h"

/* Where config_load puts each variable it reads: the contract's type of
 * the variable says the field's C type (contract/backend_env.h). The secrets,
 * which no message may echo, are read apart: load_dsn, load_key. */
static const struct {
    contract_env_id id;
    size_t offset;
} fields[] = {
    {CONTRACT_ENV_HTTP_ADDR, offsetof(backend_config, http_addr)},
    {CONTRACT_ENV_CAST_STORAGE_DIR, offsetof(backend_config, cast_dir)},
    {CONTRACT_ENV_CAST_MAX_BYTES, offsetof(backend_config, cast_max_bytes)},
    {CONTRACT_ENV_DB_MAX_OPEN_CONNS, offsetof(backend_config, max_open)},
    {CONTRACT_ENV_DB_MAX_IDLE_CONNS, offsetof(backend_config, max_idle)},
    {CONTRACT_ENV_RETENTION_DAYS, offsetof(backend_config, retention_days)},
    {CONTRACT_ENV_PARTITION_PREMAKE, offsetof(backend_config, premake_months)},
    {CONTRACT_ENV_MAINTENANCE_INTERVAL, offsetof(backend_config, maintenance_interval_s)},
    {CONTRACT_ENV_DB_STARTUP_WAIT, offsetof(backend_config, startup_wait_s)},
};

int64_t config_parse_duration(const char *s)
{
    int64_t ns;
    if (duration_parse(s, &ns) < 0 || ns < DURATION_S)
        return -1;
    return ns / DURATION_S;
}

/* EXO_DATABASE_DSN, required. */
static int load_dsn(backend_config *c, exo_err *err)
{
    const char *dsn_text = getenv("EXO_DATABASE_DSN");
    if (!dsn_text || !*dsn_text)
        return err_set(err, "EXO_DATABASE_DSN is not set (libpq keyword form or a postgres:// URL)");
    /* Parsed once, here where it enters: everything after connects from
     * the parsed value (config_free frees it, also after a later error). */
    if (dsn_parse(&c->dsn, dsn_text, err) < 0)
        return err_prefix(err, "EXO_DATABASE_DSN");
    return 0;
}

static int load_key(backend_config *c, exo_err *err)
{
    const char *key = getenv("EXO_ENCRYPTION_KEY");
    if (!key || !*key)
        return err_set(err, "EXO_ENCRYPTION_KEY is not set (32 random bytes, base64: "
                            "openssl rand -base64 32)");
    return crypto_parse_master_key(c->key, key, err);
}

int config_load(backend_config *c, int need_key, exo_err *err)
{
    memset(c, 0, sizeof *c);
    if (load_dsn(c, err) < 0 || (need_key && load_key(c, err) < 0))
        return -1;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (contract_env_read(contract_env_get(fields[i].id), (char *)c + fields[i].offset, err) <
            0)
            return -1;
    if (c->max_idle > c->max_open)
        return err_set(err, "EXO_DB_MAX_IDLE_CONNS=%d is more than EXO_DB_MAX_OPEN_CONNS=%d",
                       c->max_idle, c->max_open);
    return 0;
}

void config_free(backend_config *c)
{
    dsn_free(c->dsn); /* which overwrites the password */
    crypto_wipe(c->key, sizeof c->key);
    c->dsn = NULL;
}

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "duration.h"
#include "xalloc.h"

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int env_int(const char *name, long fallback, long lo, long hi, long *out, exo_err *err)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = fallback;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return err_set(err, "%s=\"%s\": want a whole number from %ld to %ld", name, v, lo, hi);
    *out = n;
    return 0;
}

int64_t config_parse_duration(const char *s)
{
    int64_t ns;
    if (duration_parse(s, &ns) < 0 || ns < DURATION_S)
        return -1;
    return ns / DURATION_S;
}

int config_load(backend_config *c, int need_key, exo_err *err)
{
    memset(c, 0, sizeof *c);
    const char *dsn_text = getenv("EXO_DATABASE_DSN");
    if (!dsn_text || !*dsn_text)
        return err_set(err, "EXO_DATABASE_DSN is not set (libpq keyword form or a postgres:// URL)");
    /* Parsed once, here where it enters: everything after connects from
     * the parsed value (config_free frees it, also after a later error). */
    if (dsn_parse(&c->dsn, dsn_text, err) < 0)
        return err_prefix(err, "EXO_DATABASE_DSN");
    if (need_key) {
        const char *key = getenv("EXO_ENCRYPTION_KEY");
        if (!key || !*key)
            return err_set(err, "EXO_ENCRYPTION_KEY is not set (32 random bytes, base64: "
                                "openssl rand -base64 32)");
        if (crypto_parse_master_key(c->key, key, err) < 0)
            return -1;
    }
    long open, idle, days, premake, max_bytes;
    if (env_int("EXO_DB_MAX_OPEN_CONNS", 100, 1, 10000, &open, err) < 0 ||
        env_int("EXO_DB_MAX_IDLE_CONNS", 10, 0, 10000, &idle, err) < 0 ||
        env_int("EXO_RETENTION_DAYS", 90, 1, 36500, &days, err) < 0 ||
        env_int("EXO_PARTITION_PREMAKE", 3, 0, 24, &premake, err) < 0 ||
        env_int("EXO_CAST_MAX_BYTES", 64L * 1024 * 1024, 1, LONG_MAX, &max_bytes, err) < 0)
        return -1;
    if (idle > open)
        return err_set(err, "EXO_DB_MAX_IDLE_CONNS=%ld is more than EXO_DB_MAX_OPEN_CONNS=%ld",
                       idle, open);
    const char *interval = env_or("EXO_MAINTENANCE_INTERVAL", "24h");
    c->maintenance_interval_s = config_parse_duration(interval);
    if (c->maintenance_interval_s < 0)
        return err_set(err, "EXO_MAINTENANCE_INTERVAL=\"%s\": want a duration such as 24h, 90m "
                            "or 1h30m",
                       interval);
    c->max_open = (int)open;
    c->max_idle = (int)idle;
    c->retention_days = (int)days;
    c->premake_months = (int)premake;
    c->cast_max_bytes = max_bytes;
    c->cast_dir = env_or("EXO_CAST_STORAGE_DIR", "/var/lib/exo/casts");
    c->http_addr = env_or("EXO_HTTP_ADDR", ":8080");
    return 0;
}

void config_free(backend_config *c)
{
    dsn_free(c->dsn); /* which overwrites the password */
    crypto_wipe(c->key, sizeof c->key);
    c->dsn = NULL;
}

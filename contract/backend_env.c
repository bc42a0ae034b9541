#include "backend_env.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "duration.h"

/* One entry per line of docs/database.md's environment table (a test
 * holds the two together). A test builds this file again with one default
 * changed and checks that the backend, the controller and both renderings
 * follow: keep each entry's `.def = "…"` on the line of its name. */
const contract_env contract_env_table[CONTRACT_ENV_COUNT] = {
    [CONTRACT_ENV_DATABASE_DSN] =
        {.name = "EXO_DATABASE_DSN", .type = CONTRACT_DSN, .required = true,
         .from = CONTRACT_FROM_SECRET, .spec = "database.dsnSecretRef", .secret = "exo-database",
         .key = "dsn", .var = "databaseDSN",
         .help = "required; libpq keyword form or a postgres:// URL"},
    [CONTRACT_ENV_ENCRYPTION_KEY] =
        {.name = "EXO_ENCRYPTION_KEY", .type = CONTRACT_KEY, .required = true,
         .from = CONTRACT_FROM_SECRET, .spec = "encryption.keySecretRef",
         .secret = "exo-encryption", .key = "key", .var = "encryptionKey",
         .help = "required but for maintain; 32 random bytes, base64"},
    [CONTRACT_ENV_BOOTSTRAP_TOKEN] =
        {.name = "EXO_BOOTSTRAP_TOKEN", .type = CONTRACT_TOKEN, .from = CONTRACT_FROM_SECRET,
         .spec = "api.bootstrapTokenSecretRef", .secret = "exo-bootstrap", .key = "token",
         .var = "bootstrapToken",
         .help = "the first admin's API token, 32 characters or more"},
    [CONTRACT_ENV_HTTP_ADDR] =
        {.name = "EXO_HTTP_ADDR", .type = CONTRACT_STRING, .def = ":8080",
         .from = CONTRACT_FROM_DEFAULT, .var = "httpAddr",
         .help = "[host]:port to listen on"},
    [CONTRACT_ENV_CAST_STORAGE_DIR] =
        {.name = "EXO_CAST_STORAGE_DIR", .type = CONTRACT_STRING, .def = "/var/lib/exo/casts",
         .from = CONTRACT_FROM_DEFAULT, .var = "castDir",
         .help = "the directory of session recordings"},
    [CONTRACT_ENV_CAST_MAX_BYTES] =
        {.name = "EXO_CAST_MAX_BYTES", .type = CONTRACT_BYTES, .def = "67108864", .min = 1,
         .max = LLONG_MAX, .from = CONTRACT_FROM_SPEC, .spec = "casts.maxBytes",
         .var = "castMaxBytes", .help = "the largest recording, in bytes"},
    [CONTRACT_ENV_DB_MAX_OPEN_CONNS] =
        {.name = "EXO_DB_MAX_OPEN_CONNS", .type = CONTRACT_INT, .def = "100", .min = 1,
         .max = 10000, .from = CONTRACT_FROM_SPEC, .spec = "database.maxOpenConns",
         .var = "maxOpenConns", .help = "database connections open at once"},
    [CONTRACT_ENV_DB_MAX_IDLE_CONNS] =
        {.name = "EXO_DB_MAX_IDLE_CONNS", .type = CONTRACT_INT, .def = "10", .min = 0,
         .max = 10000, .from = CONTRACT_FROM_SPEC, .spec = "database.maxIdleConns",
         .var = "maxIdleConns",
         .help = "idle connections kept, at most the open ones"},
    [CONTRACT_ENV_RETENTION_DAYS] =
        {.name = "EXO_RETENTION_DAYS", .type = CONTRACT_INT, .def = "90", .min = 1,
         .max = 36500, .from = CONTRACT_FROM_SPEC, .spec = "retention.defaultDays",
         .var = "retentionDays",
         .help = "days events are kept, unless a deployment says"},
    [CONTRACT_ENV_PARTITION_PREMAKE] =
        {.name = "EXO_PARTITION_PREMAKE", .type = CONTRACT_INT, .def = "3", .min = 0,
         .max = 24, .from = CONTRACT_FROM_SPEC, .spec = "retention.premakeMonths",
         .var = "premakeMonths", .help = "months of partitions made ahead"},
    [CONTRACT_ENV_MAINTENANCE_INTERVAL] =
        {.name = "EXO_MAINTENANCE_INTERVAL", .type = CONTRACT_DURATION, .def = "24h", .min = 1,
         .from = CONTRACT_FROM_SPEC, .spec = "retention.maintenanceInterval",
         .var = "maintenanceInterval",
         .help = "time between maintenance passes"},
    [CONTRACT_ENV_PGSSLROOTCERT] =
        {.name = "PGSSLROOTCERT", .type = CONTRACT_STRING, .def = "/etc/exo/database-ca/ca.crt",
         .from = CONTRACT_WHEN_SPEC, .spec = "database.caConfigMapRef", .var = "databaseCAPath",
         .help = "read by libpq: the managed database's CA"},
    [CONTRACT_ENV_DB_STARTUP_WAIT] =
        {.name = "EXO_DB_STARTUP_WAIT", .type = CONTRACT_DURATION, .def = "5m", .min = 0,
         .from = CONTRACT_FROM_DEFAULT, .var = "dbStartupWait",
         .help = "how long serve waits for an unreachable database"},
};

const contract_env *contract_env_get(contract_env_id id)
{
    return &contract_env_table[id];
}

long long contract_env_default_number(contract_env_id id)
{
    return strtoll(contract_env_table[id].def, NULL, 10);
}

static int read_number(const contract_env *v, const char *text, long long *out, exo_err *err)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || end == text || *end || n < v->min || n > v->max)
        return err_set(err, "%s=\"%s\": want a whole number from %lld to %lld", v->name, text,
                       v->min, v->max);
    *out = n;
    return 0;
}

static int read_duration(const contract_env *v, const char *text, int64_t *out, exo_err *err)
{
    int64_t ns;
    if (duration_parse(text, &ns) < 0 || ns < v->min * DURATION_S)
        return err_set(err, "%s=\"%s\": want a duration such as 24h, 90m or 1h30m", v->name,
                       text);
    *out = ns / DURATION_S;
    return 0;
}

int contract_env_read(const contract_env *v, void *out, exo_err *err)
{
    const char *text = getenv(v->name);
    if (!text || !*text)
        text = v->def;
    if (!text)
        return err_set(err, "%s is not set", v->name);
    long long n;
    switch (v->type) {
    case CONTRACT_STRING:
        *(const char **)out = text;
        return 0;
    case CONTRACT_INT:
        if (read_number(v, text, &n, err) < 0)
            return -1;
        *(int *)out = (int)n;
        return 0;
    case CONTRACT_BYTES:
        if (read_number(v, text, &n, err) < 0)
            return -1;
        *(int64_t *)out = n;
        return 0;
    case CONTRACT_DURATION:
        return read_duration(v, text, out, err);
    default:
        /* A secret's reader checks it in its own way, and never echoes it. */
        return err_set(err, "%s: a secret, read by its own reader", v->name);
    }
}

int contract_backend_port(void)
{
    return atoi(strrchr(contract_env_table[CONTRACT_ENV_HTTP_ADDR].def, ':') + 1);
}

static bool is_number(const contract_env *v)
{
    return v->type == CONTRACT_INT || v->type == CONTRACT_BYTES;
}

static void add_value(cJSON *vars, const char *name, const char *suffix, const contract_env *v)
{
    buf key = BUF_INIT;
    buf_printf(&key, "%s%s", name, suffix);
    if (is_number(v))
        cJSON_AddNumberToObject(vars, key.ptr, (double)strtoll(v->def, NULL, 10));
    else
        cJSON_AddStringToObject(vars, key.ptr, v->def);
    buf_free(&key);
}

static void add_string(cJSON *vars, const char *name, const char *suffix, const char *s)
{
    buf key = BUF_INIT;
    buf_printf(&key, "%s%s", name, suffix);
    cJSON_AddStringToObject(vars, key.ptr, s);
    buf_free(&key);
}

static void add_number(cJSON *vars, const char *name, const char *suffix, long long n)
{
    buf key = BUF_INIT;
    buf_printf(&key, "%s%s", name, suffix);
    cJSON_AddNumberToObject(vars, key.ptr, (double)n);
    buf_free(&key);
}

void contract_env_vars(cJSON *vars)
{
    for (size_t i = 0; i < CONTRACT_ENV_COUNT; i++) {
        const contract_env *v = &contract_env_table[i];
        if (v->var && v->secret) {
            add_string(vars, v->var, "Secret", v->secret);
            add_string(vars, v->var, "SecretKey", v->key);
        }
        if (!v->var || !v->def)
            continue;
        add_value(vars, v->var, "", v);
        add_value(vars, v->var, "Default", v);
        if (is_number(v)) {
            add_number(vars, v->var, "Min", v->min);
            add_number(vars, v->var, "Max", v->max);
        }
    }
    cJSON_AddNumberToObject(vars, "backendPort", contract_backend_port());
}

/* The bounds and default of v, "(1 to 10000, default 100)"; empty when it
 * has neither. */
static void usage_values(buf *b, const contract_env *v)
{
    const char *sep = "(";
    if (is_number(v) && v->max < LLONG_MAX) {
        buf_printf(b, "%s%lld to %lld", sep, v->min, v->max);
        sep = ", ";
    }
    if (v->def) {
        buf_printf(b, "%s%s %s", sep, v->from == CONTRACT_WHEN_SPEC ? "set to" : "default",
                   v->def);
        sep = ", ";
    }
    if (sep[0] == ',')
        buf_puts(b, ")");
}

void contract_env_usage(FILE *f)
{
    fputs("Environment (docs/database.md):\n", f);
    for (size_t i = 0; i < CONTRACT_ENV_COUNT; i++) {
        const contract_env *v = &contract_env_table[i];
        buf values = BUF_INIT;
        usage_values(&values, v);
        /* The values go on the next line when the one would pass 79 columns. */
        bool fits = 28 + strlen(v->help) + 1 + values.len <= 79;
        fprintf(f, "  %-25s %s%s%s\n", v->name, v->help,
                values.len ? (fits ? " " : "\n                            ") : "",
                values.len ? values.ptr : "");
        buf_free(&values);
    }
}

#include "names.h"

#include <stdbool.h>
#include <stddef.h>

const contract_names contract = {
    .postgres_image = "postgres:16-alpine",
    .postgres_user = "exo",
    .postgres_db = "exo",
    .postgres_uid = 70,
    .postgres_port = 5432,
    .pgdata_mount = "/var/lib/postgresql/data",
    .pgdata = "/var/lib/postgresql/data/pgdata",
    .postgres_secret = "exo-postgres",
    .postgres_secret_key = "password",
    .backend_uid = 65532,
    .backend_binary = "/usr/local/bin/exo-backend",
    .database_ca_configmap = "exo-database-ca",
    .database_ca_key = "ca.crt",
    .installer_field_manager = "exo-install",
    .controller_field_manager = "exo-controller",
    .boot_lock_key = "28561392435949428",
};

/* The placeholder each value fills in templates/. */
static const struct {
    const char *var;
    size_t offset;
    bool is_int;
} vars_table[] = {
    {"postgresImage", offsetof(contract_names, postgres_image), false},
    {"postgresUser", offsetof(contract_names, postgres_user), false},
    {"postgresDB", offsetof(contract_names, postgres_db), false},
    {"postgresUID", offsetof(contract_names, postgres_uid), true},
    {"postgresPort", offsetof(contract_names, postgres_port), true},
    {"pgDataMount", offsetof(contract_names, pgdata_mount), false},
    {"pgData", offsetof(contract_names, pgdata), false},
    {"postgresSecret", offsetof(contract_names, postgres_secret), false},
    {"postgresSecretKey", offsetof(contract_names, postgres_secret_key), false},
    {"backendUID", offsetof(contract_names, backend_uid), true},
    {"backendBinary", offsetof(contract_names, backend_binary), false},
};

void contract_names_vars(cJSON *vars)
{
    const char *base = (const char *)&contract;
    for (size_t i = 0; i < sizeof vars_table / sizeof vars_table[0]; i++) {
        const void *p = base + vars_table[i].offset;
        if (vars_table[i].is_int)
            cJSON_AddNumberToObject(vars, vars_table[i].var, *(const int *)p);
        else
            cJSON_AddStringToObject(vars, vars_table[i].var, *(const char *const *)p);
    }
}

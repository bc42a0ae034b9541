#include "shared.h"

const shared_values shared_defaults = {
    .postgres_image = "postgres:16-alpine",
    .postgres_user = "exo",
    .postgres_db = "exo",
    .postgres_uid = 70,
    .postgres_port = 5432,
    .pgdata_mount = "/var/lib/postgresql/data",
    .pgdata = "/var/lib/postgresql/data/pgdata",
    .backend_uid = 65532,
    .backend_binary = "/usr/local/bin/exo-backend",
    .backend_port = 8080,
    .cast_dir = "/var/lib/exo/casts",
    .cast_max_bytes = 64LL * 1024 * 1024,
    .max_open_conns = 100,
    .max_idle_conns = 10,
    .premake_months = 3,
    .maintenance_interval = "24h",
    .database_ca_path = "/etc/exo/database-ca/ca.crt",
};

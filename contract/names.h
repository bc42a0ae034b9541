/* The names and fixed values the programs share across process
 * boundaries, besides the backend's environment (backend_env.h): images,
 * uids, paths and ports of the pods, the bundled database's Secret, the
 * field managers, the boot lock. Defined once here; the installer's
 * templates read them as placeholders (contract_names_vars), the
 * controller and the backend through `contract`. */
#ifndef EXO_CONTRACT_NAMES_H
#define EXO_CONTRACT_NAMES_H

#include <cjson/cJSON.h>

typedef struct {
    const char *postgres_image; /* major version pinned on purpose */
    const char *postgres_user;
    const char *postgres_db;
    int postgres_uid; /* the official alpine image's postgres user */
    int postgres_port;
    const char *pgdata_mount; /* the volume */
    const char *pgdata;       /* a subdirectory of it: lost+found breaks initdb */
    const char *postgres_secret;     /* the bundled database's password: Secret */
    const char *postgres_secret_key; /*   and key */
    int backend_uid;            /* the images' user (images/Dockerfile) */
    const char *backend_binary; /* inside the image: the pod's command */
    /* The ConfigMap and key the installer writes --db-ca-file to (the
     * ExoControlPlane's spec.database.caConfigMapRef). */
    const char *database_ca_configmap;
    const char *database_ca_key;
    /* Server-side apply field managers: who owns which fields. */
    const char *installer_field_manager;
    const char *controller_field_manager;
    /* pg_advisory_xact_lock key of the boot (and of keyring rotate):
     * "exoboot" in ASCII, so that it shows up recognisably in pg_locks. */
    const char *boot_lock_key;
} contract_names;

extern const contract_names contract;

/* Adds the templates' placeholders of the values above to vars
 * (postgresImage, postgresUID, …: numbers as numbers). */
void contract_names_vars(cJSON *vars);

#endif

/* The values the Kubernetes manifests and the Compose file share: images,
 * users, paths, ports, limits. They live here and nowhere else; both
 * renderings read them through render_opts.shared, so changing one here (or
 * in a test's options) changes both outputs. */
#ifndef EXO_SHARED_H
#define EXO_SHARED_H

typedef struct {
    const char *postgres_image; /* major version pinned on purpose */
    const char *postgres_user;
    const char *postgres_db;
    int postgres_uid; /* the official alpine image's postgres user */
    int postgres_port;
    const char *pgdata_mount; /* the volume */
    const char *pgdata;       /* a subdirectory of it: lost+found breaks initdb */
    int backend_uid;
    const char *backend_binary; /* inside the image, for the Compose healthcheck */
    int backend_port;
    const char *cast_dir;
    long long cast_max_bytes;
    int max_open_conns;
    int max_idle_conns;
    int premake_months;
    const char *maintenance_interval;
    const char *database_ca_path; /* where the backend finds a managed database's CA */
} shared_values;

extern const shared_values shared_defaults;

#endif

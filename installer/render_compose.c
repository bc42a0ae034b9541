#include "render_compose.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "backend_env.h"
#include "buf.h"
#include "names.h"
#include "render_output.h"
#include "yamljson.h"

/* The variables of .env the file interpolates. */
#define ENV_PASSWORD "EXO_POSTGRES_PASSWORD"
#define ENV_KEY "EXO_ENCRYPTION_KEY"
#define ENV_DSN "EXO_DATABASE_DSN"
#define ENV_TOKEN "EXO_BOOTSTRAP_TOKEN"

static void required(buf *b, const char *name)
{
    /* ":?" makes Compose refuse to start, naming the variable, when .env
     * lacks it, instead of starting with an empty key. */
    buf_printf(b, "${%s:?set %s in .env (exo-install render --format compose "
                  "--include-secrets -o DIR writes one)}",
               name, name);
}

static void add_compose_vars(cJSON *v, const render_opts *o, const char *publish)
{
    buf b = BUF_INIT;
    required(&b, ENV_PASSWORD);
    cJSON_AddStringToObject(v, "composePostgresPassword", b.ptr);
    buf_clear(&b);
    if (o->bundled_postgres) {
        /* The service name is the host; the password comes from .env. */
        buf_printf(&b, "host=postgres port=%d user=%s dbname=%s sslmode=disable password=${%s}",
                   contract.postgres_port, contract.postgres_user, contract.postgres_db,
                   ENV_PASSWORD);
    } else {
        required(&b, ENV_DSN);
    }
    cJSON_AddStringToObject(v, "composeDatabaseDSN", b.ptr);
    buf_clear(&b);
    required(&b, ENV_KEY);
    cJSON_AddStringToObject(v, "composeEncryptionKey", b.ptr);
    buf_clear(&b);
    required(&b, ENV_TOKEN);
    cJSON_AddStringToObject(v, "composeBootstrapToken", b.ptr);
    cJSON_AddStringToObject(v, "composePublish", publish);
    if (o->db_ca_pem) {
        const char *ca = contract_env_get(CONTRACT_ENV_PGSSLROOTCERT)->def;
        buf_clear(&b);
        buf_printf(&b, "./%s:%s:ro", COMPOSE_CA_FILE, ca);
        cJSON_AddStringToObject(v, "composeCAVolume", b.ptr);
        cJSON_AddStringToObject(v, "composeCAPath", ca);
    }
    buf_free(&b);
}

int render_compose(cJSON **doc, const render_opts *o, const char *publish, exo_err *err)
{
    cJSON *vars = render_vars(o, false);
    add_compose_vars(vars, o, publish);
    int rc = render_template(doc, "compose.yaml", vars, err);
    cJSON_Delete(vars);
    if (rc < 0 || o->bundled_postgres)
        return rc;
    /* A managed database: the backend alone. */
    cJSON *services = cJSON_GetObjectItemCaseSensitive(*doc, "services");
    cJSON_DeleteItemFromObjectCaseSensitive(services, "postgres");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(services, "backend"),
                                           "depends_on");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(*doc, "volumes"),
                                           "pgdata");
    return 0;
}

/* A .env value: single-quoted, so Compose takes it literally (no ${}
 * interpolation, no escapes). A value holding a single quote cannot be
 * written that way. */
static int env_line(buf *b, const char *name, const char *value, exo_err *err)
{
    if (strchr(value, '\'') || strchr(value, '\n'))
        return err_set(err, "%s cannot go into .env: it holds a quote or a newline", name);
    buf_printf(b, "%s='%s'\n", name, value);
    return 0;
}

static int write_env(const char *dir, const buf *env, exo_err *err)
{
    buf path = BUF_INIT;
    buf_printf(&path, "%s/%s", dir, COMPOSE_ENV_FILE);
    int rc = 0;
    if (access(path.ptr, F_OK) == 0)
        fprintf(stderr, "note: %s exists and is kept: its key and password stay as they are\n",
                path.ptr);
    else
        rc = render_output_write_file(dir, COMPOSE_ENV_FILE, env, 0600, true, err);
    buf_free(&path);
    return rc;
}

int render_compose_write(const char *dir, const cJSON *doc, const render_opts *o, exo_err *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(err, "-o %s: %s", dir, strerror(errno));
    buf text = BUF_INIT, env = BUF_INIT;
    int rc = yamljson_emit(&text, doc, err);
    if (rc == 0)
        rc = render_output_write_file(dir, COMPOSE_FILE, &text, 0644, false, err);
    if (rc == 0 && o->db_ca_pem) {
        buf_clear(&text);
        buf_puts(&text, o->db_ca_pem);
        rc = render_output_write_file(dir, COMPOSE_CA_FILE, &text, 0644, false, err);
    }
    if (rc == 0 && o->include_secrets) {
        char *key = render_random_token(32, false);
        char *password = render_random_token(24, true);
        char *token = render_random_token(32, true);
        buf_puts(&env, "# Secrets of the Exo Compose stack, written once by exo-install.\n"
                       "# Back EXO_ENCRYPTION_KEY up apart from the database: without it a\n"
                       "# database backup cannot be read.\n");
        rc = env_line(&env, ENV_KEY, key, err);
        if (rc == 0)
            rc = env_line(&env, ENV_TOKEN, token, err);
        if (rc == 0)
            rc = o->bundled_postgres ? env_line(&env, ENV_PASSWORD, password, err)
                                     : env_line(&env, ENV_DSN, o->db_dsn, err);
        if (rc == 0)
            rc = write_env(dir, &env, err);
        OPENSSL_cleanse(key, strlen(key));
        OPENSSL_cleanse(password, strlen(password));
        OPENSSL_cleanse(token, strlen(token));
        free(token);
        OPENSSL_cleanse(env.ptr, env.len);
        free(key);
        free(password);
    }
    buf_free(&text);
    buf_free(&env);
    return rc;
}

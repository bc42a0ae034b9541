#include "key_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "cluster.h"
#include "flags.h"
#include "key_escrow.h"
#include "key_import.h"

static const char about_key[] =
    "Commands:\n"
    "  export     print the encryption key (in clear, or sealed with --recipient)\n"
    "  import     put an exported key into a namespace, before install\n";

static const char about_export[] =
    "Prints EXO_ENCRYPTION_KEY from Secret exo-encryption on stdout, one line.\n"
    "Without it, the encrypted columns of every database backup are unreadable:\n"
    "store it somewhere other than those backups (a password manager, a KMS), or\n"
    "seal it to a recipient's public key with --recipient.\n";

static const char about_import[] =
    "Creates Secret exo-encryption in the namespace from a key exported earlier, so\n"
    "that a fresh install there reads the rows of a restored backup. Run it before\n"
    "exo-install install (which generates a key when the Secret is absent). A key\n"
    "Secret that exists is never overwritten.\n";

static const char exit_export[] = "Exit status: 0 printed, 1 could not read it, 2 bad flags.\n";
static const char exit_import[] =
    "Exit status: 0 imported (or already there), 1 not imported, 2 bad flags.\n";

/* Secret exo-encryption's key, decoded (caller cleanses and frees). */
static int read_key(cluster *cl, const char *ns, unsigned char **raw, size_t *len, exo_err *err)
{
    cJSON *s = NULL;
    if (kube_get(cl->client, &KR_SECRETS, ns, "exo-encryption", &s, err) < 0) {
        if (kube_is_not_found(err))
            return err_set(err, "no Secret exo-encryption in namespace %s (is Exo installed "
                                "there? see exo-install status --namespace %s)",
                           ns, ns);
        return -1;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "data"), "key");
    int rc = 0;
    if (!cJSON_IsString(v) || base64_decode(v->valuestring, raw, len) < 0 || *len == 0)
        rc = err_set(err, "Secret %s/exo-encryption has no key \"key\"", ns);
    if (cJSON_IsString(v))
        OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
    cJSON_Delete(s);
    return rc;
}

static int export_key(cluster *cl, const flags *f, exo_err *err)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = read_key(cl, f->opts.namespace_, &raw, &len, err);
    char *sealed = NULL;
    if (rc == 0 && f->recipient)
        rc = key_escrow_seal(f->recipient, raw, len, &sealed, err);
    if (rc == 0) {
        const void *out = sealed ? (const void *)sealed : raw;
        size_t n = sealed ? strlen(sealed) : len;
        if (fwrite(out, 1, n, stdout) != n || putchar('\n') == EOF || fflush(stdout) != 0)
            rc = err_set(err, "writing the key to stdout failed");
    }
    if (raw) {
        OPENSSL_cleanse(raw, len);
        free(raw);
    }
    free(sealed);
    return rc;
}

static int import_key(cluster *cl, const flags *f, exo_err *err)
{
    char *key = NULL;
    if (key_import_read(f->key_file, &key, err) < 0)
        return -1;
    bool unchanged = false;
    int rc = key_import_apply(cl->client, f->opts.namespace_, key, &unchanged, err);
    OPENSSL_cleanse(key, strlen(key));
    free(key);
    if (rc == 0)
        printf(unchanged ? "Secret %s/exo-encryption already holds this key; nothing changed\n"
                         : "Secret %s/exo-encryption created; exo-install install will use it\n",
               f->opts.namespace_);
    return rc;
}

int key_cmd(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "Usage: exo-install key COMMAND [flags]\n\n%s\n"
                     "  exo-install key COMMAND --help   flags of a command\n",
                about_key);
        return argc < 2 ? 2 : 0;
    }
    bool is_export = strcmp(argv[1], "export") == 0;
    if (!is_export && strcmp(argv[1], "import") != 0) {
        fprintf(stderr, "exo-install key: unknown command \"%s\" (want export or import)\n",
                argv[1]);
        return 2;
    }
    flags f;
    flags_init(&f, is_export ? FLAGS_KEY_EXPORT : FLAGS_KEY_IMPORT);
    const char *about = is_export ? about_export : about_import;
    const char *exit_status = is_export ? exit_export : exit_import;
    int status = flags_read(&f, argc - 1, argv + 1, about, exit_status);
    if (status < 0) {
        cluster cl = {.kubeconfig = f.kubeconfig, .context = f.context};
        exo_err err = EXO_ERR_INIT;
        status = 0;
        if (cluster_connect(&cl, &err) < 0 ||
            (is_export ? export_key(&cl, &f, &err) : import_key(&cl, &f, &err)) < 0) {
            fprintf(stderr, "exo-install key %s: %s\n", argv[1], err_msg(&err));
            status = 1;
        }
        err_clear(&err);
        cluster_close(&cl);
    }
    flags_free(&f);
    return status;
}

#include "key_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "cluster.h"
#include "flags.h"

static const char about[] =
    "Prints EXO_ENCRYPTION_KEY from Secret exo-encryption on stdout, one line.\n"
    "Without it, the encrypted columns of every database backup are unreadable:\n"
    "store it somewhere other than those backups (a password manager, a KMS).\n";

static const char exit_status[] = "Exit status: 0 printed, 1 could not read it, 2 bad flags.\n";

static int export_key(cluster *cl, const char *ns, exo_err *err)
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
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = 0;
    if (!cJSON_IsString(v) || base64_decode(v->valuestring, &raw, &len) < 0 || len == 0)
        rc = err_set(err, "Secret %s/exo-encryption has no key \"key\"", ns);
    else if (fwrite(raw, 1, len, stdout) != len || putchar('\n') == EOF || fflush(stdout) != 0)
        rc = err_set(err, "writing the key to stdout failed");
    if (raw) {
        OPENSSL_cleanse(raw, len);
        free(raw);
    }
    if (cJSON_IsString(v))
        OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
    cJSON_Delete(s);
    return rc;
}

int key_cmd(int argc, char **argv)
{
    flags f;
    flags_init(&f, FLAGS_KEY_EXPORT);
    int status;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        flags_usage(argc < 2 ? stderr : stdout, &f, about, exit_status);
        status = argc < 2 ? 2 : 0;
    } else if (strcmp(argv[1], "export") != 0) {
        fprintf(stderr, "exo-install key: unknown command \"%s\" (want export)\n", argv[1]);
        status = 2;
    } else if ((status = flags_read(&f, argc - 1, argv + 1, about, exit_status)) < 0) {
        cluster cl = {.kubeconfig = f.kubeconfig, .context = f.context};
        exo_err err = EXO_ERR_INIT;
        status = 0;
        if (cluster_connect(&cl, &err) < 0 || export_key(&cl, f.opts.namespace_, &err) < 0) {
            fprintf(stderr, "exo-install key export: %s\n", err_msg(&err));
            status = 1;
        }
        err_clear(&err);
        cluster_close(&cl);
    }
    flags_free(&f);
    return status;
}

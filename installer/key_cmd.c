#include "key_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "cluster.h"

enum { OPT_NAMESPACE = 700, OPT_HELP };

static const struct option options[] = {
    CLUSTER_OPTIONS,
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fputs("Usage: exo-install key export [flags]\n"
          "\n"
          "Prints EXO_ENCRYPTION_KEY from Secret exo-encryption on stdout, one line.\n"
          "Without it, the encrypted columns of every database backup are unreadable:\n"
          "store it somewhere other than those backups (a password manager, a KMS).\n"
          "\n"
          "Flags:\n"
          "      --namespace NAME            (default exo)\n" CLUSTER_USAGE
          "      --help                      show this help\n"
          "\n"
          "Exit status: 0 printed, 1 could not read it, 2 bad flags.\n",
          f);
}

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
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "export") != 0) {
        fprintf(stderr, "exo-install key: unknown command \"%s\" (want export)\n", argv[1]);
        return 2;
    }
    argc--;
    argv++;
    cluster cl = {0};
    const char *ns = "exo";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        if (cluster_flag(&cl, c, optarg))
            continue;
        if (c == OPT_NAMESPACE) {
            ns = optarg;
        } else if (c == OPT_HELP) {
            usage(stdout);
            return 0;
        } else if (c == ':') {
            fprintf(stderr, "exo-install key export: %s needs a value\n", argv[optind - 1]);
            return 2;
        } else {
            fprintf(stderr, "exo-install key export: unknown flag %s (see exo-install key export "
                            "--help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "exo-install key export: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    exo_err err = EXO_ERR_INIT;
    int status = 0;
    if (cluster_connect(&cl, &err) < 0 || export_key(&cl, ns, &err) < 0) {
        fprintf(stderr, "exo-install key export: %s\n", err_msg(&err));
        status = 1;
    }
    err_clear(&err);
    cluster_close(&cl);
    return status;
}

#include "render_flags.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "dsn.h"
#include "render_output.h"
#include "validate.h"
#include "xalloc.h"

#define MAX_REPLICAS 100
#define MAX_RETENTION_DAYS 36500
#define MAX_CA_BYTES (1024 * 1024)

static const struct option common_options[] = {
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"postgres", optional_argument, NULL, OPT_POSTGRES},
    {"db-dsn", required_argument, NULL, OPT_DB_DSN},
    {"db-ca-file", required_argument, NULL, OPT_DB_CA_FILE},
    {"storage-class", required_argument, NULL, OPT_STORAGE_CLASS},
    {"cast-storage-size", required_argument, NULL, OPT_CAST_SIZE},
    {"cast-access-mode", required_argument, NULL, OPT_CAST_ACCESS_MODE},
    {"postgres-storage-size", required_argument, NULL, OPT_PG_SIZE},
    {"backend-image", required_argument, NULL, OPT_BACKEND_IMAGE},
    {"controller-image", required_argument, NULL, OPT_CONTROLLER_IMAGE},
    {"backend-replicas", required_argument, NULL, OPT_REPLICAS},
    {"retention-days", required_argument, NULL, OPT_RETENTION},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
};

/* Only `render` writes files or other formats. */
static const struct option render_only_options[] = {
    {"include-secrets", no_argument, NULL, OPT_INCLUDE_SECRETS},
    {"output-dir", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"publish", required_argument, NULL, OPT_PUBLISH},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void render_args_init(render_args *a, const char *command, bool for_install)
{
    memset(a, 0, sizeof *a);
    render_opts_init(&a->opts);
    a->command = command;
    a->for_install = for_install;
}

void render_args_free(render_args *a)
{
    free(a->cast_size);
    free(a->pg_size);
    free(a->ca_pem);
    dsn_free(a->db_dsn);
    a->db_dsn = NULL;
}

void render_flags_usage(FILE *f)
{
    render_opts d;
    render_opts_init(&d);
    fprintf(f,
            "      --namespace NAME            namespace to install into (default %s)\n"
            "      --postgres=true|false       true: bundled postgres:16-alpine for trials;\n"
            "                                  false: a managed database given by --db-dsn\n"
            "                                  (default %s)\n"
            "      --db-dsn DSN                managed database connection string, libpq keyword\n"
            "                                  or postgres:// URL form (needs --postgres=false)\n"
            "      --db-ca-file FILE           PEM CA of the managed database server, for\n"
            "                                  sslmode=verify-full (needs --postgres=false)\n"
            "      --storage-class NAME        StorageClass of the volumes (default: the\n"
            "                                  cluster's default class)\n"
            "      --cast-storage-size SIZE    session-recording volume size (default %s)\n"
            "      --cast-access-mode MODE     ReadWriteOnce, ReadWriteOncePod or ReadWriteMany;\n"
            "                                  more than one backend replica needs\n"
            "                                  ReadWriteMany (default %s)\n"
            "      --postgres-storage-size SIZE\n"
            "                                  bundled Postgres volume size (default %s)\n"
            "      --backend-image IMAGE       (default %s)\n"
            "      --controller-image IMAGE    (default %s)\n"
            "      --backend-replicas N        0 to %d (default %d)\n"
            "      --retention-days N          default retention of session and audit events,\n"
            "                                  1 to %d (default %d)\n",
            d.namespace_, d.bundled_postgres ? "true" : "false", d.cast_storage_size,
            d.cast_access_mode, d.postgres_storage_size, d.backend_image, d.controller_image,
            MAX_REPLICAS, d.backend_replicas, MAX_RETENTION_DAYS, d.retention_days);
}

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out, exo_err *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return err_set(err, "%s \"%s\": want a whole number from %d to %d", flag, s, lo, hi);
    *out = (int)v;
    return 0;
}

static int parse_size(const char *flag, const char *s, char **out, exo_err *err)
{
    free(*out);
    *out = validate_size(s);
    if (!*out)
        return err_set(err, "%s \"%s\": not a size (want a whole number with an optional unit "
                            "Ki, Mi, Gi, Ti, k, M, G or T, e.g. 20Gi)",
                       flag, s);
    return 0;
}

static int parse_image(const char *flag, const char *s, const char **out, exo_err *err)
{
    if (!validate_image(s))
        return err_set(err, "%s \"%s\": not a valid image reference (want "
                            "[registry/]name[:tag][@digest], e.g. ghcr.io/org/exo-backend:1.2.3)",
                       flag, s);
    *out = s;
    return 0;
}

/* Reads a CA bundle and checks that OpenSSL finds a certificate in it. */
static int read_ca_file(const char *path, char **out, exo_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, "--db-ca-file %s: %s", path, strerror(errno));
    buf text = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && text.len <= MAX_CA_BYTES)
        buf_append(&text, chunk, n);
    fclose(f);
    int rc = 0;
    if (text.len > MAX_CA_BYTES) {
        rc = err_set(err, "--db-ca-file %s: larger than 1 MiB; a CA bundle is a few KiB", path);
    } else {
        BIO *bio = BIO_new_mem_buf(text.ptr, (int)text.len);
        X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        if (!cert)
            rc = err_set(err, "--db-ca-file %s: no PEM certificate in it", path);
        X509_free(cert);
        BIO_free(bio);
    }
    if (rc == 0)
        *out = buf_detach(&text);
    buf_free(&text);
    return rc;
}

/* "127.0.0.1:8080", "0.0.0.0:80", "[::1]:8080". */
static bool valid_publish(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return false;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == '\0' && end != colon + 1 && port > 0 && port <= 65535 &&
           strspn(s, "0123456789abcdefABCDEF.:[]") == strlen(s);
}

static int parse_all(render_args *a, int argc, char **argv, const struct option *long_options,
                     render_extra_flag on_extra, void *ctx, bool *help, bool *version,
                     exo_err *err)
{
    render_opts *o = &a->opts;
    int c;
    /* "+": stop at the first word that is not a flag, so a stray value is
     * reported next to the flag it belonged to ("--postgres false"). */
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, a->for_install ? "+:" : "+:o:", long_options, NULL)) != -1) {
        int rc = 0;
        if (c >= OPT_NAMESPACE && c < OPT_LAST)
            a->given[c] = true;
        if (c >= OPT_EXTRA) {
            if (on_extra(ctx, c, optarg, err) < 0)
                return -1;
            continue;
        }
        switch (c) {
        case 'o':
            a->output_dir = optarg;
            break;
        case OPT_NAMESPACE:
            if (!validate_dns_label(optarg))
                return err_set(err, "--namespace \"%s\": not a valid namespace name (lowercase "
                                    "letters, digits and '-', at most 63, starting and ending "
                                    "with a letter or digit)",
                               optarg);
            o->namespace_ = optarg;
            break;
        case OPT_POSTGRES:
            if (!optarg || strcmp(optarg, "true") == 0)
                o->bundled_postgres = true;
            else if (strcmp(optarg, "false") == 0)
                o->bundled_postgres = false;
            else
                return err_set(err, "--postgres=\"%s\": want true or false", optarg);
            break;
        case OPT_DB_DSN:
            o->db_dsn = optarg;
            break;
        case OPT_DB_CA_FILE:
            free(a->ca_pem);
            a->ca_pem = NULL;
            rc = read_ca_file(optarg, &a->ca_pem, err);
            a->ca_file = optarg;
            o->db_ca_pem = a->ca_pem;
            break;
        case OPT_STORAGE_CLASS:
            if (!validate_dns_subdomain(optarg))
                return err_set(err, "--storage-class \"%s\": not a valid StorageClass name", optarg);
            o->storage_class = optarg;
            break;
        case OPT_CAST_SIZE:
            rc = parse_size("--cast-storage-size", optarg, &a->cast_size, err);
            o->cast_storage_size = a->cast_size;
            break;
        case OPT_PG_SIZE:
            rc = parse_size("--postgres-storage-size", optarg, &a->pg_size, err);
            o->postgres_storage_size = a->pg_size;
            break;
        case OPT_CAST_ACCESS_MODE:
            if (strcmp(optarg, "ReadWriteOnce") != 0 && strcmp(optarg, "ReadWriteOncePod") != 0 &&
                strcmp(optarg, "ReadWriteMany") != 0)
                return err_set(err, "--cast-access-mode \"%s\": want ReadWriteOnce, "
                                    "ReadWriteOncePod or ReadWriteMany",
                               optarg);
            o->cast_access_mode = optarg;
            break;
        case OPT_BACKEND_IMAGE:
            rc = parse_image("--backend-image", optarg, &o->backend_image, err);
            break;
        case OPT_CONTROLLER_IMAGE:
            rc = parse_image("--controller-image", optarg, &o->controller_image, err);
            break;
        case OPT_REPLICAS:
            rc = parse_int("--backend-replicas", optarg, 0, MAX_REPLICAS, &o->backend_replicas, err);
            break;
        case OPT_RETENTION:
            rc = parse_int("--retention-days", optarg, 1, MAX_RETENTION_DAYS, &o->retention_days,
                           err);
            break;
        case OPT_INCLUDE_SECRETS:
            o->include_secrets = true;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "yaml") != 0 && strcmp(optarg, "compose") != 0)
                return err_set(err, "--format \"%s\": want yaml or compose", optarg);
            a->compose = strcmp(optarg, "compose") == 0;
            break;
        case OPT_PUBLISH:
            if (!valid_publish(optarg))
                return err_set(err, "--publish \"%s\": want HOST:PORT, e.g. 127.0.0.1:8080",
                               optarg);
            a->publish = optarg;
            break;
        case OPT_HELP:
        case OPT_VERSION:
            *help = c == OPT_HELP;
            *version = c == OPT_VERSION;
            return 0;
        case ':':
            return err_set(err, "%s needs a value", argv[optind - 1]);
        default:
            /* getopt leaves the offending word at optind - 1; a short option
             * it only names by character. */
            if (optopt >= 256)
                return err_set(err, "%.*s takes no value", (int)strcspn(argv[optind - 1], "="),
                               argv[optind - 1]);
            if (optopt)
                return err_set(err, "unknown flag -%c (see exo-install %s --help)", optopt,
                               a->command);
            return err_set(err, "unknown flag %s (see exo-install %s --help)", argv[optind - 1],
                           a->command);
        }
        if (rc < 0)
            return -1;
    }
    if (optind < argc) {
        const char *prev = argv[optind - 1];
        if (strcmp(prev, "--postgres") == 0)
            return err_set(err, "unexpected argument \"%s\" (write --postgres=%s)", argv[optind],
                           argv[optind]);
        return err_set(err, "unexpected argument \"%s\" (flags only; see exo-install %s --help)",
                       argv[optind], a->command);
    }
    return 0;
}


int render_flags_parse(render_args *a, int argc, char **argv, const struct option *extra,
                       render_extra_flag on_extra, void *ctx, bool *help, bool *version,
                       exo_err *err)
{
    size_t n_extra = 0;
    while (extra && extra[n_extra].name)
        n_extra++;
    struct option *opts = xcalloc(COUNT(common_options) + COUNT(render_only_options) + n_extra + 1,
                                  sizeof *opts);
    size_t n = 0;
    for (size_t i = 0; i < COUNT(common_options); i++)
        opts[n++] = common_options[i];
    for (size_t i = 0; !a->for_install && i < COUNT(render_only_options); i++)
        opts[n++] = render_only_options[i];
    for (size_t i = 0; i < n_extra; i++)
        opts[n++] = extra[i];
    int rc = parse_all(a, argc, argv, opts, on_extra, ctx, help, version, err);
    free(opts);
    return rc;
}

/* Flags that mean something only to one of the two formats. */
static int check_format(const render_args *a, exo_err *err)
{
    static const struct {
        int opt;
        const char *name;
    } kube_only[] = {
        {OPT_NAMESPACE, "--namespace"},         {OPT_STORAGE_CLASS, "--storage-class"},
        {OPT_CAST_SIZE, "--cast-storage-size"}, {OPT_CAST_ACCESS_MODE, "--cast-access-mode"},
        {OPT_PG_SIZE, "--postgres-storage-size"}, {OPT_CONTROLLER_IMAGE, "--controller-image"},
        {OPT_REPLICAS, "--backend-replicas"},
    };
    if (!a->compose) {
        if (a->given[OPT_PUBLISH])
            return err_set(err, "--publish is for --format compose");
        return 0;
    }
    for (size_t i = 0; i < sizeof kube_only / sizeof kube_only[0]; i++)
        if (a->given[kube_only[i].opt])
            return err_set(err, "%s is for Kubernetes; --format compose has no use for it",
                           kube_only[i].name);
    if (!a->output_dir && (a->opts.include_secrets || a->opts.db_ca_pem))
        return err_set(err, "%s with --format compose needs -o DIR (it writes files beside "
                            "compose.yaml)",
                       a->opts.include_secrets ? "--include-secrets" : "--db-ca-file");
    return 0;
}

int render_flags_check(render_args *a, exo_err *err)
{
    const render_opts *o = &a->opts;
    if (check_format(a, err) < 0)
        return -1;
    if (o->bundled_postgres && o->db_dsn)
        return err_set(err, "--db-dsn is for a managed database: add --postgres=false (the "
                            "bundled Postgres gets a generated DSN)");
    if (o->bundled_postgres && o->db_ca_pem)
        return err_set(err, "--db-ca-file is for a managed database: add --postgres=false");
    if (!o->bundled_postgres && !o->db_dsn)
        return err_set(err, "--postgres=false needs --db-dsn (the managed database's connection "
                            "string)");
    if (o->backend_replicas > 1 && strcmp(o->cast_access_mode, "ReadWriteMany") != 0)
        return err_set(err, "--backend-replicas %d needs --cast-access-mode=ReadWriteMany: a %s "
                            "recordings volume can be mounted by one node only",
                       o->backend_replicas, o->cast_access_mode);
    if (o->db_dsn) {
        /* Parsed once, here: the warnings and the database check use it. */
        dsn_free(a->db_dsn);
        if (dsn_parse(&a->db_dsn, o->db_dsn, err) < 0)
            return err_prefix(err, "--db-dsn");
        const char *host = dsn_get(a->db_dsn, "host");
        const char *hostaddr = dsn_get(a->db_dsn, "hostaddr");
        if ((!host || host[0] == '/') && !hostaddr)
            return err_set(err, "--db-dsn: no host: the backend would look for a Unix socket "
                                "inside its own pod");
    }
    if (a->output_dir && !a->compose && render_output_dir_check(a->output_dir, err) < 0)
        return -1;
    return 0;
}


#include "flags.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "backend_env.h"
#include "buf.h"
#include "cluster.h"
#include "dsn.h"
#include "render_output.h"
#include "validate.h"
#include "version.h"
#include "xalloc.h"

#define MAX_REPLICAS 100
/* The backend's bound on EXO_RETENTION_DAYS (contract/backend_env.c),
 * spelled here for the help text; test_install_rules checks they agree. */
#define MAX_RETENTION_DAYS 36500
#define MAX_CA_BYTES (1024 * 1024)
#define STR(x) #x
#define XSTR(x) STR(x)

#define RENDERING (FLAGS_RENDER | FLAGS_INSTALL)
#define ON_CLUSTER \
    (FLAGS_INSTALL | FLAGS_STATUS | FLAGS_UNINSTALL | FLAGS_KEY_EXPORT | FLAGS_KEY_IMPORT | \
     FLAGS_SUPPORT_BUNDLE)
#define MAX_TAIL 1000000
#define EVERY (FLAGS_RENDER | ON_CLUSTER)

/* The subcommands' names and the defaults that differ between them. */
static const struct {
    flags_command cmd;
    const char *name;
    const char *timeout; /* the default --timeout, for those that take it */
} commands[] = {
    {FLAGS_RENDER, "render", NULL},
    {FLAGS_INSTALL, "install", "10m"},
    {FLAGS_STATUS, "status", NULL},
    {FLAGS_UNINSTALL, "uninstall", "5m"},
    {FLAGS_KEY_EXPORT, "key export", NULL},
    {FLAGS_KEY_IMPORT, "key import", NULL},
    {FLAGS_SUPPORT_BUNDLE, "support-bundle", NULL},
};

/* Every flag, in the order --help lists them. A help text holds at most
 * one "%s", which --help replaces with the flag's default in the command at
 * hand. The same flag
 * may have one row per meaning (--wait waits for different things). */
static const struct flag {
    flag_id id;
    const char *name;
    int has_arg;
    char short_name; /* 0: none */
    unsigned commands;
    const char *help;
} table[] = {
    {FLAG_FORMAT, "format", required_argument, 0, FLAGS_RENDER,
     "      --format yaml|compose       Kubernetes manifests, or a Docker Compose file for\n"
     "                                  evaluation on one machine (default yaml)\n"},
    {FLAG_OUTPUT_DIR, "output-dir", required_argument, 'o', FLAGS_RENDER,
     "  -o, --output-dir DIR            write one file per object and a kustomization.yaml\n"
     "                                  into DIR instead of printing (compose: DIR/compose.yaml,\n"
     "                                  and DIR/.env once with --include-secrets)\n"},
    {FLAG_NAMESPACE, "namespace", required_argument, 0, EVERY,
     "      --namespace NAME            namespace of the install (default %s)\n"},
    {FLAG_OUTPUT, "output", required_argument, 'o', FLAGS_STATUS,
     "  -o, --output table|json         (default table)\n"},
    {FLAG_POSTGRES, "postgres", optional_argument, 0, RENDERING,
     "      --postgres=true|false       true: bundled postgres:16-alpine for trials;\n"
     "                                  false: a managed database given by --db-dsn\n"
     "                                  (default %s)\n"},
    {FLAG_DB_DSN, "db-dsn", required_argument, 0, RENDERING,
     "      --db-dsn DSN                managed database connection string, libpq keyword\n"
     "                                  or postgres:// URL form (needs --postgres=false)\n"},
    {FLAG_DB_CA_FILE, "db-ca-file", required_argument, 0, RENDERING,
     "      --db-ca-file FILE           PEM CA of the managed database server, for\n"
     "                                  sslmode=verify-full (needs --postgres=false)\n"},
    {FLAG_STORAGE_CLASS, "storage-class", required_argument, 0, RENDERING,
     "      --storage-class NAME        StorageClass of the volumes (default: the\n"
     "                                  cluster's default class)\n"},
    {FLAG_CAST_SIZE, "cast-storage-size", required_argument, 0, RENDERING,
     "      --cast-storage-size SIZE    session-recording volume size (default %s)\n"},
    {FLAG_CAST_ACCESS_MODE, "cast-access-mode", required_argument, 0, RENDERING,
     "      --cast-access-mode MODE     ReadWriteOnce, ReadWriteOncePod or ReadWriteMany;\n"
     "                                  more than one backend replica needs\n"
     "                                  ReadWriteMany (default %s)\n"},
    {FLAG_PG_SIZE, "postgres-storage-size", required_argument, 0, RENDERING,
     "      --postgres-storage-size SIZE\n"
     "                                  bundled Postgres volume size (default %s)\n"},
    {FLAG_BACKEND_IMAGE, "backend-image", required_argument, 0, RENDERING,
     "      --backend-image IMAGE       (default %s)\n"},
    {FLAG_CONTROLLER_IMAGE, "controller-image", required_argument, 0, RENDERING,
     "      --controller-image IMAGE    (default %s)\n"},
    {FLAG_REPLICAS, "backend-replicas", required_argument, 0, RENDERING,
     "      --backend-replicas N        0 to " XSTR(MAX_REPLICAS) " (default %s)\n"},
    {FLAG_RETENTION, "retention-days", required_argument, 0, RENDERING,
     "      --retention-days N          default retention of session and audit events,\n"
     "                                  1 to " XSTR(MAX_RETENTION_DAYS) " (default %s)\n"},
    {FLAG_INCLUDE_SECRETS, "include-secrets", no_argument, 0, FLAGS_RENDER,
     "      --include-secrets           also print the Secrets: freshly generated passwords\n"
     "                                  and encryption key, and --db-dsn's DSN; keep such\n"
     "                                  output out of Git (compose: write them to DIR/.env)\n"},
    {FLAG_PUBLISH, "publish", required_argument, 0, FLAGS_RENDER,
     "      --publish HOST:PORT         compose only: where the backend's HTTP port is\n"
     "                                  published (default %s)\n"},
    {FLAG_PURGE, "purge", no_argument, 0, FLAGS_UNINSTALL,
     "      --purge                     also delete the Secrets and volumes, the namespace\n"
     "                                  if install created it, and the CRD if no other\n"
     "                                  ExoControlPlane uses it: the data is gone for good\n"},
    {FLAG_KUBECONFIG, "kubeconfig", required_argument, 0, ON_CLUSTER,
     "      --kubeconfig FILE           kubeconfig to use (default $KUBECONFIG, then\n"
     "                                  ~/.kube/config)\n"},
    {FLAG_CONTEXT, "context", required_argument, 0, ON_CLUSTER,
     "      --context NAME              kubeconfig context (default its current-context)\n"},
    {FLAG_WAIT, "wait", optional_argument, 0, FLAGS_INSTALL,
     "      --wait=true|false           wait until PostgreSQL, the controller and the\n"
     "                                  ExoControlPlane are ready (default true)\n"},
    {FLAG_WAIT, "wait", optional_argument, 0, FLAGS_UNINSTALL,
     "      --wait=true|false           wait until everything deleted is gone (default true)\n"},
    {FLAG_TIMEOUT, "timeout", required_argument, 0, FLAGS_INSTALL | FLAGS_UNINSTALL,
     "      --timeout DURATION          give up after this long, e.g. 90s, 10m (default %s)\n"},
    {FLAG_SKIP_DB_CHECK, "skip-db-check", no_argument, 0, FLAGS_INSTALL,
     "      --skip-db-check             with --postgres=false: do not connect to the\n"
     "                                  managed database from here before installing\n"},
    {FLAG_RECIPIENT, "recipient", required_argument, 0, FLAGS_KEY_EXPORT,
     "      --recipient FILE            print the key sealed to this RSA public key (PEM,\n"
     "                                  at least 2048 bits), never in clear: one line of\n"
     "                                  base64, RSA-OAEP SHA-256 (docs/backup.md says how\n"
     "                                  to open it with openssl)\n"},
    {FLAG_KEY_FILE, "key-file", required_argument, 0, FLAGS_KEY_IMPORT,
     "      --key-file FILE             the key as key export prints it; - reads it from\n"
     "                                  standard input (required)\n"},
    /* Monitoring: opt-in objects for the Prometheus Operator and Grafana
     * (docs/monitoring.md). */
    {FLAG_SERVICE_MONITOR, "service-monitor", no_argument, 0, RENDERING,
     "      --service-monitor           also a ServiceMonitor (backend) and a PodMonitor\n"
     "                                  (controller) for the Prometheus Operator\n"},
    {FLAG_PROMETHEUS_RULE, "prometheus-rule", no_argument, 0, RENDERING,
     "      --prometheus-rule           also a PrometheusRule: the alerts of\n"
     "                                  docs/runbooks.md\n"},
    {FLAG_GRAFANA_DASHBOARD, "grafana-dashboard", no_argument, 0, RENDERING,
     "      --grafana-dashboard         also the Grafana dashboard, as a ConfigMap labelled\n"
     "                                  grafana_dashboard: \"1\" for Grafana's sidecar\n"},
    {FLAG_RUNBOOK_URL, "runbook-url", required_argument, 0, RENDERING,
     "      --runbook-url URL           where the alerts' runbook links point, one #anchor\n"
     "                                  per alert added (default %s)\n"},
    /* support-bundle (support_bundle_cmd.c). */
    {FLAG_BUNDLE_FILE, "output", required_argument, 'o', FLAGS_SUPPORT_BUNDLE,
     "  -o, --output FILE               the archive to write (.tar.gz; required)\n"},
    {FLAG_TAIL, "tail", required_argument, 0, FLAGS_SUPPORT_BUNDLE,
     "      --tail N                    log lines per container, 1 to " XSTR(MAX_TAIL)
     " (default %s)\n"},
    {FLAG_HELP, "help", no_argument, 0, EVERY,
     "      --help                      show this help\n"},
    {FLAG_VERSION, "version", no_argument, 0, EVERY,
     "      --version                   print the version\n"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *default_timeout(flags_command cmd)
{
    for (size_t i = 0; i < COUNT(commands); i++)
        if (commands[i].cmd == cmd)
            return commands[i].timeout;
    return NULL;
}

void flags_init(flags *f, flags_command cmd)
{
    memset(f, 0, sizeof *f);
    f->cmd = cmd;
    for (size_t i = 0; i < COUNT(commands); i++)
        if (commands[i].cmd == cmd)
            f->command = commands[i].name;
    render_opts_init(&f->opts);
    f->publish = "127.0.0.1:8080";
    f->wait = true;
    f->tail = 500;
    const char *timeout = default_timeout(cmd);
    if (timeout)
        cluster_parse_duration(timeout, &f->timeout_ms);
}

void flags_free(flags *f)
{
    dsn_free(f->db_dsn);
    f->db_dsn = NULL;
    free(f->cast_size);
    free(f->pg_size);
    free(f->ca_pem);
}

/* The default a flag's help line names, for the command f is made for. */
static const char *default_text(const flags *f, flag_id id, char num[24])
{
    const render_opts *o = &f->opts;
    switch (id) {
    case FLAG_NAMESPACE:
        return o->namespace_;
    case FLAG_POSTGRES:
        return o->bundled_postgres ? "true" : "false";
    case FLAG_CAST_SIZE:
        return o->cast_storage_size;
    case FLAG_CAST_ACCESS_MODE:
        return o->cast_access_mode;
    case FLAG_PG_SIZE:
        return o->postgres_storage_size;
    case FLAG_BACKEND_IMAGE:
        return o->backend_image;
    case FLAG_CONTROLLER_IMAGE:
        return o->controller_image;
    case FLAG_REPLICAS:
        snprintf(num, 24, "%d", o->backend_replicas);
        return num;
    case FLAG_RETENTION:
        snprintf(num, 24, "%d", o->retention_days);
        return num;
    case FLAG_PUBLISH:
        return f->publish;
    case FLAG_TIMEOUT:
        return default_timeout(f->cmd);
    case FLAG_RUNBOOK_URL:
        return o->runbook_url;
    case FLAG_TAIL:
        snprintf(num, 24, "%d", f->tail);
        return num;
    default:
        return "";
    }
}

void flags_usage(FILE *out, const flags *f, const char *about, const char *exit_status)
{
    /* Defaults as a fresh command has them, whatever was parsed into f. */
    flags d;
    flags_init(&d, f->cmd);
    fprintf(out, "Usage: exo-install %s [flags]\n\n%s\nFlags:\n", d.command, about);
    for (size_t i = 0; i < COUNT(table); i++) {
        char num[24];
        if (!(table[i].commands & d.cmd))
            continue;
        const char *help = table[i].help, *at = strstr(help, "%s");
        if (at)
            fprintf(out, "%.*s%s%s", (int)(at - help), help, default_text(&d, table[i].id, num),
                    at + 2);
        else
            fputs(help, out);
    }
    fprintf(out, "\n%s", exit_status);
    flags_free(&d);
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

/* --postgres and --wait: given alone, true. */
static int parse_bool(const char *flag, const char *s, bool *out, exo_err *err)
{
    if (!s || strcmp(s, "true") == 0)
        *out = true;
    else if (strcmp(s, "false") == 0)
        *out = false;
    else
        return err_set(err, "%s=\"%s\": want true or false", flag, s);
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

/* Takes one flag's value into f. */
static int take(flags *f, flag_id id, const char *arg, exo_err *err)
{
    render_opts *o = &f->opts;
    switch (id) {
    case FLAG_FORMAT:
        if (strcmp(arg, "yaml") != 0 && strcmp(arg, "compose") != 0)
            return err_set(err, "--format \"%s\": want yaml or compose", arg);
        f->compose = strcmp(arg, "compose") == 0;
        return 0;
    case FLAG_OUTPUT_DIR:
        f->output_dir = arg;
        return 0;
    case FLAG_NAMESPACE:
        if (!validate_dns_label(arg))
            return err_set(err, "--namespace \"%s\": not a valid namespace name (lowercase "
                                "letters, digits and '-', at most 63, starting and ending "
                                "with a letter or digit)",
                           arg);
        o->namespace_ = arg;
        return 0;
    case FLAG_OUTPUT:
        if (strcmp(arg, "json") != 0 && strcmp(arg, "table") != 0)
            return err_set(err, "--output \"%s\": want table or json", arg);
        f->json = strcmp(arg, "json") == 0;
        return 0;
    case FLAG_POSTGRES:
        return parse_bool("--postgres", arg, &o->bundled_postgres, err);
    case FLAG_DB_DSN:
        o->db_dsn = arg;
        return 0;
    case FLAG_DB_CA_FILE:
        free(f->ca_pem);
        f->ca_pem = NULL;
        f->ca_file = arg;
        o->db_ca_pem = NULL;
        if (read_ca_file(arg, &f->ca_pem, err) < 0)
            return -1;
        o->db_ca_pem = f->ca_pem;
        return 0;
    case FLAG_STORAGE_CLASS:
        if (!validate_dns_subdomain(arg))
            return err_set(err, "--storage-class \"%s\": not a valid StorageClass name", arg);
        o->storage_class = arg;
        return 0;
    case FLAG_CAST_SIZE:
        if (parse_size("--cast-storage-size", arg, &f->cast_size, err) < 0)
            return -1;
        o->cast_storage_size = f->cast_size;
        return 0;
    case FLAG_PG_SIZE:
        if (parse_size("--postgres-storage-size", arg, &f->pg_size, err) < 0)
            return -1;
        o->postgres_storage_size = f->pg_size;
        return 0;
    case FLAG_CAST_ACCESS_MODE:
        if (strcmp(arg, "ReadWriteOnce") != 0 && strcmp(arg, "ReadWriteOncePod") != 0 &&
            strcmp(arg, "ReadWriteMany") != 0)
            return err_set(err, "--cast-access-mode \"%s\": want ReadWriteOnce, "
                                "ReadWriteOncePod or ReadWriteMany",
                           arg);
        o->cast_access_mode = arg;
        return 0;
    case FLAG_BACKEND_IMAGE:
        return parse_image("--backend-image", arg, &o->backend_image, err);
    case FLAG_CONTROLLER_IMAGE:
        return parse_image("--controller-image", arg, &o->controller_image, err);
    case FLAG_REPLICAS:
        return parse_int("--backend-replicas", arg, 0, MAX_REPLICAS, &o->backend_replicas, err);
    case FLAG_RETENTION:
        return parse_int("--retention-days", arg, 1,
                         (int)contract_env_get(CONTRACT_ENV_RETENTION_DAYS)->max,
                         &o->retention_days, err);
    case FLAG_INCLUDE_SECRETS:
        o->include_secrets = true;
        return 0;
    case FLAG_PUBLISH:
        if (!valid_publish(arg))
            return err_set(err, "--publish \"%s\": want HOST:PORT, e.g. 127.0.0.1:8080", arg);
        f->publish = arg;
        return 0;
    case FLAG_PURGE:
        f->purge = true;
        return 0;
    case FLAG_KUBECONFIG:
        f->kubeconfig = arg;
        return 0;
    case FLAG_CONTEXT:
        f->context = arg;
        return 0;
    case FLAG_WAIT:
        return parse_bool("--wait", arg, &f->wait, err);
    case FLAG_TIMEOUT:
        if (cluster_parse_duration(arg, &f->timeout_ms) < 0)
            return err_set(err, "--timeout \"%s\": want a duration such as 90s, 10m or 1h30m "
                                "(at most a week)",
                           arg);
        return 0;
    case FLAG_SKIP_DB_CHECK:
        f->skip_db_check = true;
        return 0;
    case FLAG_RECIPIENT:
        f->recipient = arg;
        return 0;
    case FLAG_KEY_FILE:
        f->key_file = arg;
        return 0;
    case FLAG_SERVICE_MONITOR:
        o->service_monitor = true;
        return 0;
    case FLAG_PROMETHEUS_RULE:
        o->prometheus_rule = true;
        return 0;
    case FLAG_GRAFANA_DASHBOARD:
        o->grafana_dashboard = true;
        return 0;
    case FLAG_RUNBOOK_URL:
        if ((strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0) ||
            strcspn(arg, " \t\r\n#\"") != strlen(arg))
            return err_set(err, "--runbook-url \"%s\": want an http(s) URL without spaces, "
                                "quotes or a #fragment (one is added per alert)",
                           arg);
        o->runbook_url = arg;
        return 0;
    case FLAG_BUNDLE_FILE:
        f->bundle_file = arg;
        return 0;
    case FLAG_TAIL:
        return parse_int("--tail", arg, 1, MAX_TAIL, &f->tail, err);
    case FLAG_HELP:
        f->help = true;
        return 0;
    case FLAG_VERSION:
        f->version = true;
        return 0;
    case FLAG_LAST:
        break;
    }
    return err_set(err, "internal: unhandled flag %d", (int)id);
}

/* getopt's answers turned into the one wording of bad flags. */
static int flag_error(const flags *f, int c, char **argv, exo_err *err)
{
    if (c == ':')
        return err_set(err, "%s needs a value", argv[optind - 1]);
    /* getopt leaves the offending word at optind - 1; a short option it
     * only names by character. */
    if (optopt >= 256)
        return err_set(err, "%.*s takes no value", (int)strcspn(argv[optind - 1], "="),
                       argv[optind - 1]);
    if (optopt)
        return err_set(err, "unknown flag -%c (see exo-install %s --help)", optopt, f->command);
    return err_set(err, "unknown flag %s (see exo-install %s --help)", argv[optind - 1],
                   f->command);
}

int flags_parse(flags *f, int argc, char **argv, exo_err *err)
{
    struct option *longs = xcalloc(COUNT(table) + 1, sizeof *longs);
    /* "+": stop at the first word that is not a flag, so a stray value is
     * reported next to the flag it belonged to ("--postgres false"); ":"
     * first, so that a missing value comes back as ':'. */
    buf shorts = BUF_INIT;
    buf_puts(&shorts, "+:");
    size_t n = 0;
    for (size_t i = 0; i < COUNT(table); i++) {
        if (!(table[i].commands & f->cmd))
            continue;
        longs[n++] = (struct option){table[i].name, table[i].has_arg, NULL, (int)table[i].id};
        if (table[i].short_name)
            buf_printf(&shorts, "%c%s", table[i].short_name,
                       table[i].has_arg == required_argument ? ":" : "");
    }
    optind = 1;
    opterr = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, shorts.ptr, longs, NULL)) != -1) {
        int id = c;
        for (size_t i = 0; c < 256 && i < COUNT(table); i++)
            if (table[i].short_name == c && (table[i].commands & f->cmd))
                id = (int)table[i].id;
        if (id < FLAG_FORMAT || id >= FLAG_LAST) {
            rc = flag_error(f, c, argv, err);
            break;
        }
        f->given[id] = true;
        rc = take(f, (flag_id)id, optarg, err);
        if (f->help || f->version)
            break;
    }
    if (rc == 0 && !f->help && !f->version && optind < argc) {
        if (strcmp(argv[optind - 1], "--postgres") == 0)
            rc = err_set(err, "unexpected argument \"%s\" (write --postgres=%s)", argv[optind],
                         argv[optind]);
        else
            rc = err_set(err, "unexpected argument \"%s\" (flags only; see exo-install %s --help)",
                         argv[optind], f->command);
    }
    buf_free(&shorts);
    free(longs);
    return rc;
}

/* Flags that mean something only to one of the two formats. */
static int check_format(const flags *f, exo_err *err)
{
    static const struct {
        flag_id id;
        const char *name;
    } kube_only[] = {
        {FLAG_NAMESPACE, "--namespace"},         {FLAG_STORAGE_CLASS, "--storage-class"},
        {FLAG_CAST_SIZE, "--cast-storage-size"}, {FLAG_CAST_ACCESS_MODE, "--cast-access-mode"},
        {FLAG_PG_SIZE, "--postgres-storage-size"}, {FLAG_CONTROLLER_IMAGE, "--controller-image"},
        {FLAG_REPLICAS, "--backend-replicas"},
        {FLAG_SERVICE_MONITOR, "--service-monitor"}, {FLAG_PROMETHEUS_RULE, "--prometheus-rule"},
        {FLAG_GRAFANA_DASHBOARD, "--grafana-dashboard"}, {FLAG_RUNBOOK_URL, "--runbook-url"},
    };
    if (!f->compose) {
        if (f->given[FLAG_PUBLISH])
            return err_set(err, "--publish is for --format compose");
        return 0;
    }
    for (size_t i = 0; i < COUNT(kube_only); i++)
        if (f->given[kube_only[i].id])
            return err_set(err, "%s is for Kubernetes; --format compose has no use for it",
                           kube_only[i].name);
    if (!f->output_dir && (f->opts.include_secrets || f->opts.db_ca_pem))
        return err_set(err, "%s with --format compose needs -o DIR (it writes files beside "
                            "compose.yaml)",
                       f->opts.include_secrets ? "--include-secrets" : "--db-ca-file");
    return 0;
}

/* The rules of the flags that choose what is rendered. */
static int check_rendering(flags *f, exo_err *err)
{
    const render_opts *o = &f->opts;
    if (check_format(f, err) < 0)
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
        dsn_free(f->db_dsn);
        f->db_dsn = NULL;
        if (dsn_parse(&f->db_dsn, o->db_dsn, err) < 0)
            return err_prefix(err, "--db-dsn");
        const char *host = dsn_get(f->db_dsn, "host");
        const char *hostaddr = dsn_get(f->db_dsn, "hostaddr");
        if ((!host || host[0] == '/') && !hostaddr)
            return err_set(err, "--db-dsn: no host: the backend would look for a Unix socket "
                                "inside its own pod");
    }
    if (f->output_dir && !f->compose && render_output_dir_check(f->output_dir, err) < 0)
        return -1;
    return 0;
}

int flags_check(flags *f, exo_err *err)
{
    if ((f->cmd & (FLAGS_RENDER | FLAGS_INSTALL)) && check_rendering(f, err) < 0)
        return -1;
    if (f->cmd == FLAGS_SUPPORT_BUNDLE && !f->bundle_file)
        return err_set(err, "-o FILE is required (the archive to write, e.g. -o bundle.tar.gz)");
    if (f->skip_db_check && f->opts.bundled_postgres)
        return err_set(err, "--skip-db-check is for a managed database (--postgres=false)");
    if (f->cmd == FLAGS_KEY_IMPORT && !f->key_file)
        return err_set(err, "--key-file is required (the file key export wrote, or - for "
                            "standard input)");
    return 0;
}

int flags_read(flags *f, int argc, char **argv, const char *about, const char *exit_status)
{
    exo_err err = EXO_ERR_INIT;
    int status = -1;
    if (flags_parse(f, argc, argv, &err) < 0 ||
        (!f->help && !f->version && flags_check(f, &err) < 0)) {
        fprintf(stderr, "exo-install %s: %s\n", f->command, err_msg(&err));
        status = 2;
    } else if (f->help) {
        flags_usage(stdout, f, about, exit_status);
        status = 0;
    } else if (f->version) {
        printf("exo-install %s\n", EXO_VERSION);
        status = 0;
    }
    err_clear(&err);
    return status;
}

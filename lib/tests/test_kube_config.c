#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "kube_config.h"
#include "xalloc.h"

/* Each test gets a fresh folder and a clean environment. */
typedef struct {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_kube_config.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    setenv("HOME", f->dir, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    buf cmd = BUF_INIT;
    buf_printf(&cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd.ptr);
    buf_free(&cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Writes dir/name (creating one level of sub-folder) and returns its path (caller frees). */
static char *write_file(const fixture *f, const char *name, const char *text)
{
    buf path = BUF_INIT;
    buf_printf(&path, "%s/%s", f->dir, name);
    char *slash = strrchr(path.ptr, '/');
    *slash = '\0';
    mkdir(path.ptr, 0700);
    *slash = '/';
    FILE *fp = fopen(path.ptr, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return buf_detach(&path);
}

static char *read_text(const fixture *f, const char *name)
{
    buf path = BUF_INIT, out = BUF_INIT;
    buf_printf(&path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path.ptr, "r");
    buf_free(&path);
    if (!fp)
        return xstrdup("");
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        buf_append(&out, chunk, n);
    fclose(fp);
    return buf_detach(&out);
}

static kube_config *load_ok(const char *path, const char *context)
{
    kube_config_opts o = {path, context};
    kube_config *cfg = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_config_load(&cfg, &o, &e) < 0)
        fail_msg("load: %s", err_msg(&e));
    err_clear(&e);
    return cfg;
}

/* Returns the error message of a failing load (caller frees). */
static char *load_error(const char *path, const char *context)
{
    kube_config_opts o = {path, context};
    kube_config *cfg = (kube_config *)1;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_config_load(&cfg, &o, &e), -1);
    assert_null(cfg);
    char *msg = xstrdup(err_msg(&e));
    err_clear(&e);
    return msg;
}

static const char *token_of(kube_config *cfg)
{
    kube_credentials cr;
    exo_err e = EXO_ERR_INIT;
    if (kube_config_credentials(cfg, &cr, &e) < 0)
        fail_msg("credentials: %s", err_msg(&e));
    err_clear(&e);
    return cr.token;
}

static const char *const FILE_A = "current-context: ctx-a\n"
                                  "clusters:\n"
                                  "- name: c1\n"
                                  "  cluster: {server: \"https://a.example:6443/\"}\n"
                                  "contexts:\n"
                                  "- name: ctx-a\n"
                                  "  context: {cluster: c1, user: u1, namespace: team-a}\n";
static const char *const FILE_B = "current-context: ctx-b\n"
                                  "clusters:\n"
                                  "- name: c1\n"
                                  "  cluster: {server: \"https://b.example\"}\n"
                                  "- name: c2\n"
                                  "  cluster: {server: \"https://c2.example\"}\n"
                                  "users:\n"
                                  "- name: u1\n"
                                  "  user: {token: tok-from-b}\n"
                                  "contexts:\n"
                                  "- name: ctx-a\n"
                                  "  context: {cluster: c2, user: u1}\n"
                                  "- name: ctx-b\n"
                                  "  context: {cluster: c2, user: u1}\n";

static void set_kubeconfig_a_missing_b(fixture *f)
{
    char *a = write_file(f, "a.yaml", FILE_A);
    char *b = write_file(f, "b.yaml", FILE_B);
    buf list = BUF_INIT;
    buf_printf(&list, "%s:%s/missing.yaml::%s", a, f->dir, b);
    setenv("KUBECONFIG", list.ptr, 1);
    buf_free(&list);
    free(a);
    free(b);
}

static void test_kubeconfig_list_merges_first_file_wins(void **state)
{
    set_kubeconfig_a_missing_b(*state);
    kube_config *cfg = load_ok(NULL, NULL);
    /* current-context, cluster c1 and context ctx-a come from a; user u1 only exists in b. */
    assert_string_equal(kube_config_context(cfg), "ctx-a");
    assert_string_equal(kube_config_server(cfg), "https://a.example:6443");
    assert_string_equal(kube_config_namespace(cfg), "team-a");
    assert_string_equal(token_of(cfg), "tok-from-b");
    kube_config_free(cfg);
}

static void test_context_flag_overrides_current_context(void **state)
{
    set_kubeconfig_a_missing_b(*state);
    kube_config *cfg = load_ok(NULL, "ctx-b");
    assert_string_equal(kube_config_context(cfg), "ctx-b");
    assert_string_equal(kube_config_server(cfg), "https://c2.example");
    assert_string_equal(kube_config_namespace(cfg), "default");
    kube_config_free(cfg);
}

static void test_explicit_path_beats_kubeconfig_variable(void **state)
{
    fixture *f = *state;
    set_kubeconfig_a_missing_b(f);
    char *b = write_file(f, "b.yaml", FILE_B);
    kube_config *cfg = load_ok(b, NULL);
    assert_string_equal(kube_config_context(cfg), "ctx-b");
    kube_config_free(cfg);
    free(b);
}

static void test_default_is_home_kube_config(void **state)
{
    fixture *f = *state;
    free(write_file(f, ".kube/config", FILE_B));
    kube_config *cfg = load_ok(NULL, NULL);
    assert_string_equal(kube_config_server(cfg), "https://c2.example");
    kube_config_free(cfg);
}

static void test_missing_default_file_names_it(void **state)
{
    fixture *f = *state;
    char *msg = load_error(NULL, NULL);
    buf want = BUF_INIT;
    buf_printf(&want, "%s/.kube/config: No such file or directory", f->dir);
    assert_string_equal(msg, want.ptr);
    buf_free(&want);
    free(msg);
}

static void test_missing_context_names_file_and_context(void **state)
{
    char *path = write_file(*state, "config", FILE_B);
    char *msg = load_error(path, "foo");
    buf want = BUF_INIT;
    buf_printf(&want, "%s: context \"foo\" not found", path);
    assert_string_equal(msg, want.ptr);
    buf_free(&want);
    free(msg);
    free(path);
}

static void test_missing_cluster_names_the_context(void **state)
{
    char *path =
        write_file(*state, "config", "contexts:\n- name: x\n  context: {cluster: nope, user: u}\n");
    char *msg = load_error(path, "x");
    buf want = BUF_INIT;
    buf_printf(&want, "%s: context \"x\": cluster \"nope\" not found", path);
    assert_string_equal(msg, want.ptr);
    buf_free(&want);
    free(msg);
    free(path);
}

static void test_relative_paths_resolve_against_the_naming_file(void **state)
{
    fixture *f = *state;
    free(write_file(f, "certs/ca.pem", "CA PEM\n"));
    free(write_file(f, "certs/client.pem", "CLIENT CERT\n"));
    free(write_file(f, "certs/client-key.pem", "CLIENT KEY\n"));
    free(write_file(f, "certs/token", "file-token\n"));
    char *path = write_file(f, "config",
                            "current-context: x\n"
                            "clusters:\n- name: c\n  cluster:\n"
                            "    server: https://h:1\n"
                            "    certificate-authority: certs/ca.pem\n"
                            "users:\n- name: u\n  user:\n"
                            "    client-certificate: certs/client.pem\n"
                            "    client-key: certs/client-key.pem\n"
                            "    tokenFile: certs/token\n"
                            "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
    assert_int_equal(chdir("/"), 0);
    setenv("KUBECONFIG", path, 1);
    kube_config *cfg = load_ok(NULL, NULL);
    size_t len;
    const unsigned char *ca = kube_config_ca(cfg, &len);
    assert_int_equal(len, 7);
    assert_memory_equal(ca, "CA PEM\n", 7);
    kube_credentials cr;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_config_credentials(cfg, &cr, &e), 0);
    assert_int_equal(cr.cert_len, 12);
    assert_memory_equal(cr.cert, "CLIENT CERT\n", 12);
    assert_int_equal(cr.key_len, 11);
    assert_memory_equal(cr.key, "CLIENT KEY\n", 11);
    assert_string_equal(cr.token, "file-token");
    kube_config_free(cfg);
    free(path);
}

static void test_data_fields_are_base64_and_win_over_files(void **state)
{
    fixture *f = *state;
    char *ca = base64_encode("CA FROM DATA", 12);
    char *cert = base64_encode("CERT\0BINARY", 11);
    char *key = base64_encode("KEY FROM DATA", 13);
    buf text = BUF_INIT;
    buf_printf(&text,
               "current-context: x\n"
               "clusters:\n- name: c\n  cluster:\n"
               "    server: https://h:1\n"
               "    certificate-authority: /nonexistent/ca.pem\n"
               "    certificate-authority-data: %s\n"
               "users:\n- name: u\n  user:\n"
               "    client-certificate-data: %s\n"
               "    client-key: /nonexistent/key.pem\n"
               "    client-key-data: %s\n"
               "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
               ca, cert, key);
    char *path = write_file(f, "config", text.ptr);
    kube_config *cfg = load_ok(path, NULL);
    size_t len;
    assert_memory_equal(kube_config_ca(cfg, &len), "CA FROM DATA", 12);
    assert_int_equal(len, 12);
    kube_credentials cr;
    assert_int_equal(kube_config_credentials(cfg, &cr, NULL), 0);
    assert_int_equal(cr.cert_len, 11);
    assert_memory_equal(cr.cert, "CERT\0BINARY", 11);
    assert_memory_equal(cr.key, "KEY FROM DATA", 13);
    assert_null(cr.token);
    kube_config_free(cfg);
    buf_free(&text);
    free(path);
    free(ca);
    free(cert);
    free(key);
}

static void test_bad_base64_names_file_user_and_field_but_not_the_token(void **state)
{
    char *path = write_file(*state, "config",
                            "current-context: x\n"
                            "clusters:\n- name: c\n  cluster: {server: \"https://h:1\"}\n"
                            "users:\n- name: u\n  user:\n"
                            "    token: s3cret-token\n"
                            "    client-certificate-data: Q0VSVA==\n"
                            "    client-key-data: \"not base64!\"\n"
                            "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
    char *msg = load_error(path, NULL);
    buf want = BUF_INIT;
    buf_printf(&want, "%s: user \"u\": client-key-data is not base64", path);
    assert_string_equal(msg, want.ptr);
    assert_null(strstr(msg, "s3cret"));
    buf_free(&want);
    free(msg);
    free(path);
}

static void test_missing_ca_file_names_cluster_and_path(void **state)
{
    fixture *f = *state;
    char *path = write_file(f, "config",
                            "current-context: x\n"
                            "clusters:\n- name: c\n  cluster:\n"
                            "    server: https://h:1\n"
                            "    certificate-authority: ca.pem\n"
                            "contexts:\n- name: x\n  context: {cluster: c}\n");
    char *msg = load_error(path, NULL);
    buf want = BUF_INIT;
    buf_printf(&want,
               "%s: cluster \"c\": certificate-authority: %s/ca.pem: No such file or directory",
               path, f->dir);
    assert_string_equal(msg, want.ptr);
    buf_free(&want);
    free(msg);
    free(path);
}

static void test_insecure_only_when_the_file_says_so(void **state)
{
    fixture *f = *state;
    const char *head = "current-context: x\n"
                       "clusters:\n- name: c\n  cluster:\n    server: https://h:1\n";
    const char *tail = "contexts:\n- name: x\n  context: {cluster: c}\n";
    const char *variants[] = {"", "    insecure-skip-tls-verify: false\n",
                              "    insecure-skip-tls-verify: \"true\"\n",
                              "    insecure-skip-tls-verify: true\n"};
    for (int i = 0; i < 4; i++) {
        buf text = BUF_INIT;
        buf_printf(&text, "%s%s%s", head, variants[i], tail);
        char *path = write_file(f, "config", text.ptr);
        kube_config *cfg = load_ok(path, NULL);
        assert_int_equal(kube_config_insecure(cfg), i == 3);
        kube_config_free(cfg);
        free(path);
        buf_free(&text);
    }
}

static void test_token_file_is_reread_after_invalidate(void **state)
{
    fixture *f = *state;
    free(write_file(f, "token", "first\n"));
    char *path = write_file(f, "config",
                            "current-context: x\n"
                            "clusters:\n- name: c\n  cluster: {server: \"https://h:1\"}\n"
                            "users:\n- name: u\n  user: {tokenFile: token}\n"
                            "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
    kube_config *cfg = load_ok(path, NULL);
    assert_string_equal(token_of(cfg), "first");
    free(write_file(f, "token", "second\n"));
    /* Within the minute the cached token stands; a 401 forces a re-read. */
    assert_string_equal(token_of(cfg), "first");
    assert_true(kube_config_invalidate(cfg));
    assert_string_equal(token_of(cfg), "second");
    kube_config_free(cfg);
    free(path);
}

static void test_static_credentials_cannot_be_refreshed(void **state)
{
    char *path = write_file(*state, "config", FILE_B);
    kube_config *cfg = load_ok(path, NULL);
    assert_false(kube_config_invalidate(cfg));
    assert_string_equal(token_of(cfg), "tok-from-b");
    kube_config_free(cfg);
    free(path);
}

/* A plugin that counts its runs and records what it was given. */
static const char *const PLUGIN =
    "#!/bin/sh\n"
    "echo run >> \"$OUT/count\"\n"
    "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$OUT/info\"\n"
    "printf '%s|' \"$@\" > \"$OUT/args\"\n"
    "n=$(wc -l < \"$OUT/count\" | tr -d ' ')\n"
    "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
    "\"status\":{\"token\":\"exec-token-%s\",\"expirationTimestamp\":\"%s\"}}\\n' "
    "\"$n\" \"$(cat \"$OUT/expiry\")\"\n";

static char *exec_config(fixture *f, const char *script, const char *api)
{
    char *plugin = write_file(f, "bin/plugin.sh", script);
    chmod(plugin, 0700);
    free(plugin);
    buf text = BUF_INIT;
    buf_printf(&text,
               "current-context: x\n"
               "clusters:\n- name: c\n  cluster: {server: \"https://h:1\"}\n"
               "users:\n- name: u\n  user:\n    exec:\n"
               "      apiVersion: %s\n"
               "      command: ./bin/plugin.sh\n"
               "      args: [\"--flag\", \"two words\"]\n"
               "      env:\n      - {name: OUT, value: \"%s\"}\n"
               "      interactiveMode: Never\n"
               "      provideClusterInfo: true\n"
               "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
               api, f->dir);
    char *path = write_file(f, "config", text.ptr);
    buf_free(&text);
    return path;
}

static int runs(fixture *f)
{
    char *count = read_text(f, "count");
    int n = 0;
    for (char *p = count; *p; p++)
        n += *p == '\n';
    free(count);
    return n;
}

static void test_exec_plugin_gets_args_env_and_exec_info(void **state)
{
    fixture *f = *state;
    free(write_file(f, "expiry", "2999-01-01T00:00:00Z"));
    char *path = exec_config(f, PLUGIN, "client.authentication.k8s.io/v1");
    kube_config *cfg = load_ok(path, NULL);
    assert_string_equal(token_of(cfg), "exec-token-1");
    char *args = read_text(f, "args");
    assert_string_equal(args, "--flag|two words|");
    char *info = read_text(f, "info");
    cJSON *j = cJSON_Parse(info);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "apiVersion")->valuestring,
                        "client.authentication.k8s.io/v1");
    assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "ExecCredential");
    cJSON *spec = cJSON_GetObjectItem(j, "spec");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(spec, "interactive")));
    /* provideClusterInfo: true hands over the cluster's server. */
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "cluster"), "server")->valuestring,
        "https://h:1");
    /* The plugin's environment was built for the child alone. */
    assert_null(getenv("KUBERNETES_EXEC_INFO"));
    assert_null(getenv("OUT"));
    cJSON_Delete(j);
    free(info);
    free(args);
    kube_config_free(cfg);
    free(path);
}

static void test_exec_credentials_are_cached_until_expiry(void **state)
{
    fixture *f = *state;
    free(write_file(f, "expiry", "2000-01-01T00:00:00Z"));
    char *path = exec_config(f, PLUGIN, "client.authentication.k8s.io/v1");
    kube_config *cfg = load_ok(path, NULL);
    /* Already expired: every use runs the plugin again. */
    assert_string_equal(token_of(cfg), "exec-token-1");
    assert_string_equal(token_of(cfg), "exec-token-2");
    assert_int_equal(runs(f), 2);
    /* Valid for an hour: cached. */
    time_t later = time(NULL) + 3600;
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&later));
    free(write_file(f, "expiry", stamp));
    assert_true(kube_config_invalidate(cfg)); /* forget the expired one at once */
    assert_string_equal(token_of(cfg), "exec-token-3");
    assert_string_equal(token_of(cfg), "exec-token-3");
    assert_string_equal(token_of(cfg), "exec-token-3");
    assert_int_equal(runs(f), 3);
    /* A 401 makes the next use run it again. */
    assert_true(kube_config_invalidate(cfg));
    assert_string_equal(token_of(cfg), "exec-token-4");
    assert_int_equal(runs(f), 4);
    kube_config_free(cfg);
    free(path);
}

static void test_exec_plugin_can_return_a_client_certificate(void **state)
{
    fixture *f = *state;
    char *path = exec_config(f,
                             "#!/bin/sh\n"
                             "printf '%s' '{\"apiVersion\":\"client.authentication.k8s.io/"
                             "v1beta1\",\"kind\":\"ExecCredential\",\"status\":{"
                             "\"clientCertificateData\":\"CERT PEM\\n\","
                             "\"clientKeyData\":\"KEY PEM\\n\"}}'\n",
                             "client.authentication.k8s.io/v1beta1");
    kube_config *cfg = load_ok(path, NULL);
    kube_credentials cr;
    assert_int_equal(kube_config_credentials(cfg, &cr, NULL), 0);
    assert_null(cr.token);
    assert_int_equal(cr.cert_len, 9);
    assert_memory_equal(cr.cert, "CERT PEM\n", 9);
    assert_memory_equal(cr.key, "KEY PEM\n", 8);
    kube_config_free(cfg);
    free(path);
}

static void test_exec_plugin_failure_is_one_clear_line(void **state)
{
    fixture *f = *state;
    char *path = exec_config(f, "#!/bin/sh\necho 'plugin says no' >&2\nexit 3\n",
                             "client.authentication.k8s.io/v1");
    kube_config *cfg = load_ok(path, NULL);
    kube_credentials cr;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_config_credentials(cfg, &cr, &e), -1);
    buf want = BUF_INIT;
    buf_printf(&want, "%s: user \"u\": exec plugin \"%s/bin/plugin.sh\": exited with status 3",
               path, f->dir);
    assert_string_equal(err_msg(&e), want.ptr);
    kube_config_free(cfg);
    free(path);

    /* A command that does not exist says so. */
    char *missing = write_file(f, "config2",
                               "current-context: x\n"
                               "clusters:\n- name: c\n  cluster: {server: \"https://h:1\"}\n"
                               "users:\n- name: u\n  user:\n    exec:\n"
                               "      apiVersion: client.authentication.k8s.io/v1\n"
                               "      command: no-such-plugin-exo\n"
                               "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
    cfg = load_ok(missing, NULL);
    assert_int_equal(kube_config_credentials(cfg, &cr, &e), -1);
    buf_clear(&want);
    buf_printf(&want,
               "%s: user \"u\": exec plugin \"no-such-plugin-exo\": No such file or directory",
               missing);
    assert_string_equal(err_msg(&e), want.ptr);
    kube_config_free(cfg);
    free(missing);
    buf_free(&want);
    err_clear(&e);
}

static void test_in_cluster_reads_token_ca_and_namespace(void **state)
{
    fixture *f = *state;
    free(write_file(f, "sa/token", "sa-token-1\n"));
    free(write_file(f, "sa/ca.crt", "CLUSTER CA\n"));
    free(write_file(f, "sa/namespace", "exo-system\n"));
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    buf dir = BUF_INIT;
    buf_printf(&dir, "%s/sa", f->dir);
    kube_config *cfg = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_config_in_cluster(&cfg, dir.ptr, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_string_equal(kube_config_server(cfg), "https://10.96.0.1:443");
    assert_string_equal(kube_config_namespace(cfg), "exo-system");
    assert_string_equal(kube_config_context(cfg), "in-cluster");
    assert_false(kube_config_insecure(cfg));
    size_t len;
    assert_memory_equal(kube_config_ca(cfg, &len), "CLUSTER CA\n", 11);
    assert_string_equal(token_of(cfg), "sa-token-1");
    /* The kubelet rotates the token; a 401 makes us read the new one. */
    free(write_file(f, "sa/token", "sa-token-2\n"));
    assert_true(kube_config_invalidate(cfg));
    assert_string_equal(token_of(cfg), "sa-token-2");
    kube_config_free(cfg);
    buf_free(&dir);
}

static void test_in_cluster_namespace_defaults_and_ipv6_is_bracketed(void **state)
{
    fixture *f = *state;
    free(write_file(f, "sa/token", "t"));
    free(write_file(f, "sa/ca.crt", "CA"));
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    buf dir = BUF_INIT;
    buf_printf(&dir, "%s/sa", f->dir);
    kube_config *cfg = NULL;
    assert_int_equal(kube_config_in_cluster(&cfg, dir.ptr, NULL), 0);
    assert_string_equal(kube_config_server(cfg), "https://[fd00::1]:6443");
    assert_string_equal(kube_config_namespace(cfg), "default");
    kube_config_free(cfg);
    buf_free(&dir);
}

static void test_in_cluster_without_service_env_fails_clearly(void **state)
{
    fixture *f = *state;
    kube_config *cfg = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_config_in_cluster(&cfg, f->dir, &e), -1);
    assert_null(cfg);
    assert_string_equal(err_msg(&e), "in-cluster: KUBERNETES_SERVICE_HOST and "
                                     "KUBERNETES_SERVICE_PORT are not set (not running in a pod?)");
    /* With the variables but no token file, the file is named. */
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    free(write_file(f, "ca.crt", "CA"));
    assert_int_equal(kube_config_in_cluster(&cfg, f->dir, &e), -1);
    buf want = BUF_INIT;
    buf_printf(&want, "in-cluster: tokenFile: %s/token: No such file or directory", f->dir);
    assert_string_equal(err_msg(&e), want.ptr);
    buf_free(&want);
    err_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kubeconfig_list_merges_first_file_wins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_context_flag_overrides_current_context, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_explicit_path_beats_kubeconfig_variable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_default_is_home_kube_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_default_file_names_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_context_names_file_and_context, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_cluster_names_the_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths_resolve_against_the_naming_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_data_fields_are_base64_and_win_over_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_base64_names_file_user_and_field_but_not_the_token,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_ca_file_names_cluster_and_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_insecure_only_when_the_file_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_is_reread_after_invalidate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_static_credentials_cannot_be_refreshed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec_plugin_gets_args_env_and_exec_info, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec_credentials_are_cached_until_expiry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec_plugin_can_return_a_client_certificate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec_plugin_failure_is_one_clear_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_in_cluster_reads_token_ca_and_namespace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_in_cluster_namespace_defaults_and_ipv6_is_bracketed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_cluster_without_service_env_fails_clearly, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

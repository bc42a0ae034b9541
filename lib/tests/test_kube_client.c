/* kube_client and kube_watch against tests/kube_fake_server.py, an HTTPS
 * fake of the API server that each test scripts and then questions about
 * the requests it received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "kube_client.h"
#include "kube_config.h"
#include "kube_watch.h"
#include "version.h"
#include "kube_fake_spawn.h"
#include "xalloc.h"

/* The fake server, started once for all tests. */
static struct {
    pid_t pid;
    int stdin_fd;
    int port, mtls_port;
    char *ca, *client_cert, *client_key, *other_ca;
    char tmp[64]; /* this test's own files: kubeconfigs, token files */
} F;

static const kube_resource PODS = {"", "v1", "pods", true};
static const kube_resource DEPLOYMENTS = {"apps", "v1", "deployments", true};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *json_str(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsString(v));
    return xstrdup(v->valuestring);
}

static int start_fake(void **state)
{
    (void)state;
    cJSON *j = NULL;
    if (kube_fake_spawn(&F.pid, &F.stdin_fd, &j) < 0)
        return -1;
    F.port = cJSON_GetObjectItem(j, "port")->valueint;
    F.mtls_port = cJSON_GetObjectItem(j, "mtls_port")->valueint;
    F.ca = json_str(j, "ca");
    F.client_cert = json_str(j, "client_cert");
    F.client_key = json_str(j, "client_key");
    F.other_ca = json_str(j, "other_ca");
    cJSON_Delete(j);
    strcpy(F.tmp, "/tmp/test_kube_client.XXXXXX");
    if (!mkdtemp(F.tmp))
        return -1;
    unsetenv("KUBECONFIG");
    return 0;
}

static int stop_fake(void **state)
{
    (void)state;
    close(F.stdin_fd); /* the fake exits when its stdin closes */
    int status;
    waitpid(F.pid, &status, 0);
    buf cmd = BUF_INIT;
    buf_printf(&cmd, "rm -rf '%s'", F.tmp);
    int rc = system(cmd.ptr);
    buf_free(&cmd);
    free(F.ca);
    free(F.client_cert);
    free(F.client_key);
    free(F.other_ca);
    return rc == 0 ? 0 : -1;
}

/* A control call to the fake with a plain curl handle of its own, so that
 * the client's counters only see the requests under test. */
static char *fake_call(const char *method, const char *path, const char *body)
{
    return kube_fake_call(F.port, F.ca, method, path, body);
}

/* Scripts the fake; the text is JSON with ' for " to keep the C readable. */
static void fake_script(const char *json)
{
    char *text = xstrdup(json);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *check = cJSON_Parse(text);
    if (!check)
        fail_msg("bad script: %s", text);
    cJSON_Delete(check);
    free(fake_call("POST", "/_control/script", text));
    free(text);
}

static cJSON *fake_requests(void)
{
    char *text = fake_call("GET", "/_control/requests", NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static const char *req_header(const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(req, "headers"), name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The first value of a query parameter, or NULL. */
static const char *req_query(const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(req, "query"), name);
    return v ? cJSON_GetArrayItem(v, 0)->valuestring : NULL;
}

static int reset(void **state)
{
    (void)state;
    free(fake_call("POST", "/_control/reset", NULL));
    return 0;
}

static char *write_tmp(const char *name, const char *text)
{
    buf path = BUF_INIT;
    buf_printf(&path, "%s/%s", F.tmp, name);
    FILE *fp = fopen(path.ptr, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return buf_detach(&path);
}

/* A kubeconfig for the fake: `cluster` and `user` are the indented fields. */
static kube_config *config_with(int port, const char *cluster, const char *user)
{
    buf text = BUF_INIT;
    buf_printf(&text,
               "current-context: fake\n"
               "clusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:%d\n%s"
               "users:\n- name: u\n  user:\n%s"
               "contexts:\n- name: fake\n  context: {cluster: fake, user: u}\n",
               port, cluster, user);
    char *path = write_tmp("kubeconfig", text.ptr);
    kube_config_opts o = {path, NULL};
    kube_config *cfg = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_config_load(&cfg, &o, &e) < 0)
        fail_msg("%s", err_msg(&e));
    buf_free(&text);
    free(path);
    return cfg;
}

static kube_config *token_config(void)
{
    buf cluster = BUF_INIT;
    buf_printf(&cluster, "    certificate-authority: %s\n", F.ca);
    kube_config *cfg = config_with(F.port, cluster.ptr, "    token: test-token\n");
    buf_free(&cluster);
    return cfg;
}

static kube_client *client_for(kube_config *cfg, kube_client_opts *opts)
{
    kube_client_opts fast = {.backoff_base_ms = 10, .backoff_max_ms = 3000, .timeout_ms = 10000};
    kube_client *c = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_client_new(&c, cfg, opts ? opts : &fast, &e), 0);
    return c;
}

#define POD_JSON "{'kind':'Pod','apiVersion':'v1','metadata':{'name':'p','namespace':'default'}}"

static const char *name_of_pod(const cJSON *obj)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "name")->valuestring;
}

static void test_get_sends_token_user_agent_and_accept(void **state)
{
    (void)state;
    fake_script("{'method':'GET','path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "name")->valuestring, "p");
    cJSON *reqs = fake_requests();
    cJSON *r = cJSON_GetArrayItem(reqs, 0);
    assert_string_equal(req_header(r, "authorization"), "Bearer test-token");
    assert_string_equal(req_header(r, "user-agent"), "exo/" EXO_VERSION);
    assert_string_equal(req_header(r, "accept"), "application/json");
    assert_int_equal(kube_client_stats(c)->requests, 1);
    assert_int_equal(kube_client_stats(c)->retries, 0);
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_requests_reuse_one_connection(void **state)
{
    (void)state;
    fake_script("{'path':'/api/v1/namespaces/default/pods/p','times':3,'body':" POD_JSON "}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    for (int i = 0; i < 3; i++) {
        cJSON *pod = NULL;
        assert_int_equal(kube_get(c, &PODS, "default", "p", &pod, NULL), 0);
        cJSON_Delete(pod);
    }
    cJSON *reqs = fake_requests();
    assert_int_equal(cJSON_GetArraySize(reqs), 3);
    int port = cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "client_port")->valueint;
    for (int i = 1; i < 3; i++)
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, i), "client_port")->valueint,
                         port);
    cJSON_Delete(reqs);
    kube_client_free(c);
    kube_config_free(cfg);
}

static char *file_base64(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    buf b = BUF_INIT;
    char chunk[1024];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    char *out = base64_encode(b.ptr, b.len);
    buf_free(&b);
    return out;
}

static void test_client_certificate_is_presented_from_memory(void **state)
{
    (void)state;
    fake_script("{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}");
    char *ca = file_base64(F.ca), *cert = file_base64(F.client_cert),
         *key = file_base64(F.client_key);
    buf cluster = BUF_INIT, user = BUF_INIT;
    buf_printf(&cluster, "    certificate-authority-data: %s\n", ca);
    buf_printf(&user, "    client-certificate-data: %s\n    client-key-data: %s\n", cert, key);
    kube_config *cfg = config_with(F.mtls_port, cluster.ptr, user.ptr);
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    cJSON *reqs = fake_requests();
    cJSON *r = cJSON_GetArrayItem(reqs, 0);
    assert_int_equal(cJSON_GetObjectItem(r, "port")->valueint, F.mtls_port);
    assert_string_equal(cJSON_GetObjectItem(r, "client_cn")->valuestring, "test-user");
    assert_null(req_header(r, "authorization"));
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
    buf_free(&cluster);
    buf_free(&user);
    free(ca);
    free(cert);
    free(key);
}

static void test_mtls_port_refuses_a_client_without_certificate(void **state)
{
    (void)state;
    buf cluster = BUF_INIT;
    buf_printf(&cluster, "    certificate-authority: %s\n", F.ca);
    kube_config *cfg = config_with(F.mtls_port, cluster.ptr, "    token: t\n");
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, &e), -1);
    buf want = BUF_INIT;
    buf_printf(&want, "https://127.0.0.1:%d: ", F.mtls_port);
    assert_memory_equal(err_msg(&e), want.ptr, want.len);
    assert_null(strchr(err_msg(&e), '\n'));
    assert_int_equal(e.http_status, 0);
    err_clear(&e);
    buf_free(&want);
    buf_free(&cluster);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_server_certificate_is_verified_against_the_configured_ca(void **state)
{
    (void)state;
    buf cluster = BUF_INIT;
    buf_printf(&cluster, "    certificate-authority: %s\n", F.other_ca);
    kube_config *cfg = config_with(F.port, cluster.ptr, "    token: t\n");
    kube_client *c = client_for(cfg, NULL);
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_request(c, "GET", "/readyz", NULL, NULL, 0, NULL, NULL, &e), -1);
    assert_non_null(strstr(err_msg(&e), "certificate"));
    assert_int_equal(kube_client_stats(c)->requests, 1); /* a bad certificate is not retried */
    err_clear(&e);
    buf_free(&cluster);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_insecure_skip_tls_verify_connects_without_a_ca(void **state)
{
    (void)state;
    fake_script("{'path':'/readyz','body':'ok'}");
    kube_config *cfg =
        config_with(F.port, "    insecure-skip-tls-verify: true\n", "    token: t\n");
    kube_client *c = client_for(cfg, NULL);
    buf body = BUF_INIT;
    exo_err e = EXO_ERR_INIT;
    if (kube_request(c, "GET", "/readyz", NULL, NULL, 0, &body, NULL, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_string_equal(body.ptr, "ok");
    buf_free(&body);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_raw_request_reads_readyz_and_reports_status(void **state)
{
    (void)state;
    fake_script("[{'path':'/readyz','body':'ok'},"
                "{'path':'/readyz','status':500,'body':'[-]etcd failed\\nreadyz check failed'}]");
    kube_config *cfg = token_config();
    kube_client_opts o = {.max_retries = -1};
    kube_client *c = client_for(cfg, &o);
    buf body = BUF_INIT;
    long status = 0;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_request(c, "GET", "/readyz", NULL, NULL, 0, &body, &status, &e), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body.ptr, "ok");
    buf_clear(&body);
    assert_int_equal(kube_request(c, "GET", "/readyz", NULL, NULL, 0, &body, &status, &e), -1);
    assert_int_equal(status, 500);
    assert_int_equal(e.http_status, 500);
    assert_string_equal(err_msg(&e), "GET /readyz: HTTP 500: [-]etcd failed");
    assert_string_equal(e.reason, "InternalError");
    err_clear(&e);
    buf_free(&body);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_429_retry_after_is_honoured_then_succeeds(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','status':429,"
                "'headers':{'Retry-After':'1'},'body':{'kind':'Status','code':429,"
                "'reason':'TooManyRequests','message':'slow down'}},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    double t0 = now_s();
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, NULL), 0);
    double took = now_s() - t0;
    assert_true(took >= 0.95); /* our own backoff would have been 10 ms */
    const kube_stats *s = kube_client_stats(c);
    assert_int_equal(s->requests, 2);
    assert_int_equal(s->retries, 1);
    assert_int_equal(s->throttled, 1);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_500_twice_then_200_is_retried_with_backoff(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','status':500,'times':2,"
                "'body':{'kind':'Status','code':500,'message':'etcd hiccup'}},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_null(e.msg); /* earlier attempts leave nothing behind on success */
    assert_int_equal(kube_client_stats(c)->requests, 3);
    assert_int_equal(kube_client_stats(c)->retries, 2);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_501_is_not_retried(void **state)
{
    (void)state;
    fake_script("{'path':'/api/v1/namespaces/default/pods/p','status':501,'times':5}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, &e), -1);
    assert_int_equal(e.http_status, 501);
    assert_int_equal(kube_client_stats(c)->requests, 1);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_dropped_connection_is_retried_for_get(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','drop':true},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_int_equal(kube_client_stats(c)->requests, 2);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static int count_method(const cJSON *reqs, const char *method)
{
    int n = 0;
    const cJSON *r;
    cJSON_ArrayForEach (r, reqs) {
        n += strcmp(cJSON_GetObjectItem(r, "method")->valuestring, method) == 0;
    }
    return n;
}

/* The first answer never comes (the fake holds it until the client closes
 * the connection), so the first attempt times out however fast or slow the
 * machine is. The timeout must only cover the retry's own work: a TCP
 * connect, a TLS handshake and a GET of one small object on loopback, which
 * took 90-100 ms under valgrind and up to 300 ms under valgrind with two
 * busy loops on a 2-core machine. 500 ms did not cover it on a loaded
 * machine (the first attempt timed out in its handshake, unseen by the fake,
 * and a third attempt followed); 3 s is ten times the worst measured, and
 * the held answer costs the test exactly that. */
static void test_slow_answer_times_out_and_is_retried(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','hold':true},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    kube_client_opts o = {.timeout_ms = 3000, .backoff_base_ms = 10};
    kube_client *c = client_for(cfg, &o);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_string_equal(name_of_pod(pod), "p");
    assert_int_equal(kube_client_stats(c)->requests, 2);
    assert_int_equal(kube_client_stats(c)->retried_timeout, 1);
    cJSON *reqs = fake_requests(); /* both attempts reached the fake: the first was held */
    assert_int_equal(count_method(reqs, "GET"), 2);
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static cJSON *parse_quoted(const char *json)
{
    char *text = xstrdup(json);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

/* generateName: every POST that lands creates one more pod. */
#define UNNAMED_POD_JSON                                                                           \
    "{'kind':'Pod','apiVersion':'v1','metadata':{'generateName':'p-','namespace':'default'}}"

static void test_post_is_not_retried_after_a_dropped_connection(void **state)
{
    (void)state;
    fake_script("[{'method':'POST','path':'/api/v1/namespaces/default/pods','drop':true},"
                "{'method':'POST','path':'/api/v1/namespaces/default/pods','status':201,"
                "'body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = parse_quoted(UNNAMED_POD_JSON);
    exo_err e = EXO_ERR_INIT;
    /* The server may have created it before the connection dropped. */
    assert_int_equal(kube_create(c, &PODS, NULL, pod, 0, NULL, &e), -1);
    assert_int_equal(e.http_status, 0);
    cJSON *reqs = fake_requests();
    assert_int_equal(count_method(reqs, "POST"), 1);
    assert_int_equal(kube_client_stats(c)->requests, 1);
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

#define ALREADY_EXISTS                                                                             \
    "{'kind':'Status','apiVersion':'v1','status':'Failure','code':409,'reason':'AlreadyExists',"   \
    "'message':'pods \\'p\\' already exists'}"

/* A named create cannot create twice: the retry after a lost answer gets
 * 409, which the caller must read as "maybe mine". */
static void test_named_create_is_retried_after_a_lost_answer_and_409_says_so(void **state)
{
    (void)state;
    fake_script("[{'method':'POST','path':'/api/v1/namespaces/default/pods','status':201,"
                "'body':" POD_JSON ",'cut':10},"
                "{'method':'POST','path':'/api/v1/namespaces/default/pods','status':409,"
                "'body':" ALREADY_EXISTS "}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = parse_quoted(POD_JSON);
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_create(c, &PODS, NULL, pod, 0, NULL, &e), -1);
    assert_true(kube_is_already_exists(&e));
    assert_non_null(strstr(e.msg, "pods \"p\" already exists (an earlier attempt"));
    const kube_stats *s = kube_client_stats(c);
    assert_int_equal(s->requests, 2);
    assert_int_equal(s->retried_dropped, 1);
    cJSON *reqs = fake_requests();
    assert_int_equal(count_method(reqs, "POST"), 2);
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* A 409 on the first attempt is just "it was there". */
static void test_named_create_409_at_once_does_not_blame_a_retry(void **state)
{
    (void)state;
    fake_script("{'method':'POST','path':'/api/v1/namespaces/default/pods','status':409,"
                "'body':" ALREADY_EXISTS "}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = parse_quoted(POD_JSON);
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_create(c, &PODS, NULL, pod, 0, NULL, &e), -1);
    assert_true(kube_is_already_exists(&e));
    assert_string_equal(e.msg, "pods \"p\" already exists");
    assert_int_equal(kube_client_stats(c)->requests, 1);
    cJSON_Delete(pod);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* Reviews persist nothing: retried whatever happened. */
static void test_idempotent_post_is_retried_after_a_500(void **state)
{
    (void)state;
    fake_script("[{'method':'POST','path':'/apis/authorization.k8s.io/v1/"
                "selfsubjectaccessreviews','status':500},"
                "{'method':'POST','path':'/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',"
                "'status':201,'body':{'status':{'allowed':true}}}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    static const kube_resource ssar = {"authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                       false};
    cJSON *req = parse_quoted("{'kind':'SelfSubjectAccessReview','spec':{}}"), *out = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_create(c, &ssar, NULL, req, KUBE_IDEMPOTENT, &out, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_int_equal(kube_client_stats(c)->retried_500, 1);
    cJSON_Delete(out);
    cJSON_Delete(req);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* A 200 whose body stops half-way is not an answer: retried, and the
 * half never reaches the caller. */
static void test_get_cut_mid_body_is_retried(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON ",'cut':20},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_string_equal(name_of_pod(pod), "p");
    const kube_stats *s = kube_client_stats(c);
    assert_int_equal(s->requests, 2);
    assert_int_equal(s->retried_dropped, 1);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* A 500 on a GET is a failure, never "not found" (exo-install creates
 * Secrets it finds absent: a 500 taken for absent would make a new key). */
static void test_get_500_is_never_not_found(void **state)
{
    (void)state;
    fake_script("{'path':'/api/v1/namespaces/exo/secrets/exo-encryption','status':500,'times':3,"
                "'body':{'kind':'Status','code':500,'reason':'InternalError','message':'boom'}}");
    kube_config *cfg = token_config();
    kube_client_opts o = {.backoff_base_ms = 10, .max_retries = 2};
    kube_client *c = client_for(cfg, &o);
    static const kube_resource secrets = {"", "v1", "secrets", true};
    cJSON *s = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_get(c, &secrets, "exo", "exo-encryption", &s, &e), -1);
    assert_false(kube_is_not_found(&e));
    assert_int_equal(e.http_status, 500);
    assert_int_equal(kube_client_stats(c)->retried_500, 2);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

static int retry_calls;
static char retry_causes[64];

static void on_retry(void *ud, const char *method, const char *path, const char *cause,
                     long wait_ms, const char *why)
{
    (void)ud;
    (void)wait_ms;
    assert_string_equal(method, "GET");
    assert_string_equal(path, "/api/v1/namespaces/default/pods/p");
    assert_non_null(why);
    retry_calls++;
    strncat(retry_causes, cause, sizeof retry_causes - strlen(retry_causes) - 2);
    strcat(retry_causes, " ");
}

static void test_retries_are_counted_by_cause_and_described(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','status':500},"
                "{'path':'/api/v1/namespaces/default/pods/p','status':429,"
                "'headers':{'Retry-After':'0'}},"
                "{'path':'/api/v1/namespaces/default/pods/p','status':503,"
                "'headers':{'Retry-After':'0'}},"
                "{'path':'/api/v1/namespaces/default/pods/p','status':502},"
                /* cut, not drop: curl itself sends a request again
                 * once when a reused connection answers nothing. */
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON ",'cut':5},"
                "{'path':'/api/v1/namespaces/default/pods/p','status':500},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    retry_calls = 0;
    retry_causes[0] = '\0';
    kube_client_opts o = {.backoff_base_ms = 10, .max_retries = 6, .on_retry = on_retry};
    kube_client *c = client_for(cfg, &o);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    const kube_stats *s = kube_client_stats(c);
    assert_int_equal(s->retries, 6);
    assert_int_equal(s->retried_500, 2);
    assert_int_equal(s->retried_429, 1);
    assert_int_equal(s->retried_503, 1);
    assert_int_equal(s->retried_5xx, 1);
    assert_int_equal(s->retried_dropped, 1);
    assert_int_equal(retry_calls, 6);
    assert_string_equal(retry_causes, "500 429 503 5xx dropped 500 ");
    buf d = BUF_INIT;
    kube_stats_describe(s, &d);
    assert_string_equal(d.ptr, "retried 6 API requests: 2x 500, 1x 429, 1x 503, 1x other 5xx, "
                               "1 dropped connection");
    buf_free(&d);
    kube_stats none = {0};
    kube_stats_describe(&none, &d);
    assert_int_equal(d.len, 0);
    buf_free(&d);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_post_is_retried_on_429_with_retry_after(void **state)
{
    (void)state;
    fake_script("[{'method':'POST','path':'/api/v1/namespaces/default/pods','status':429,"
                "'headers':{'Retry-After':'0'}},"
                "{'method':'POST','path':'/api/v1/namespaces/default/pods','status':201,"
                "'body':" POD_JSON "}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = parse_quoted(POD_JSON), *created = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_create(c, &PODS, NULL, pod, 0, &created, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_non_null(created);
    cJSON *reqs = fake_requests();
    assert_int_equal(count_method(reqs, "POST"), 2);
    cJSON_Delete(reqs);
    cJSON_Delete(created);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_post_is_not_retried_on_503_without_retry_after(void **state)
{
    (void)state;
    fake_script("{'method':'POST','path':'/api/v1/namespaces/default/pods','status':503,"
                "'times':3}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = parse_quoted(UNNAMED_POD_JSON);
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_create(c, &PODS, NULL, pod, 0, NULL, &e), -1);
    assert_int_equal(e.http_status, 503);
    assert_int_equal(kube_client_stats(c)->requests, 1);
    err_clear(&e);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_forbidden_status_fills_err_verbatim(void **state)
{
    (void)state;
    fake_script(
        "{'method':'POST','path':'/apis/apps/v1/namespaces/default/deployments',"
        "'status':403,'body':{'kind':'Status','apiVersion':'v1','status':'Failure',"
        "'message':'deployments.apps \\'x\\' is forbidden: User \\'u\\' cannot create "
        "resource \\'deployments\\' in API group \\'apps\\' in the namespace \\'default\\'',"
        "'reason':'Forbidden','code':403}}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *d = parse_quoted("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'x'}}");
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_create(c, &DEPLOYMENTS, NULL, d, 0, NULL, &e), -1);
    assert_string_equal(err_msg(&e),
                        "deployments.apps \"x\" is forbidden: User \"u\" cannot create resource "
                        "\"deployments\" in API group \"apps\" in the namespace \"default\"");
    assert_string_equal(e.reason, "Forbidden");
    assert_int_equal(e.http_status, 403);
    assert_int_equal(e.retry_after, -1);
    assert_int_equal(kube_client_stats(c)->requests, 1);
    err_clear(&e);
    cJSON_Delete(d);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_retry_after_is_reported_when_retries_run_out(void **state)
{
    (void)state;
    fake_script(
        "{'path':'/api/v1/namespaces/default/pods/p','status':429,"
        "'headers':{'Retry-After':'7'},'body':{'kind':'Status','code':429,"
        "'reason':'TooManyRequests','message':'too many requests, please try again later'}}");
    kube_config *cfg = token_config();
    kube_client_opts o = {.max_retries = -1};
    kube_client *c = client_for(cfg, &o);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, &e), -1);
    assert_int_equal(e.retry_after, 7);
    assert_int_equal(e.http_status, 429);
    assert_string_equal(e.reason, "TooManyRequests");
    assert_string_equal(err_msg(&e), "too many requests, please try again later");
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_list_follows_continue_and_merges_items(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/ns1/pods','body':{'kind':'PodList',"
                "'metadata':{'resourceVersion':'100','continue':'tok1'},"
                "'items':[{'metadata':{'name':'a'}},{'metadata':{'name':'b'}}]}},"
                "{'path':'/api/v1/namespaces/ns1/pods','body':{'kind':'PodList',"
                "'metadata':{'resourceVersion':'100','continue':'tok2'},"
                "'items':[{'metadata':{'name':'c'}},{'metadata':{'name':'d'}}]}},"
                "{'path':'/api/v1/namespaces/ns1/pods','body':{'kind':'PodList',"
                "'metadata':{'resourceVersion':'100'},'items':[{'metadata':{'name':'e'}}]}}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *items = NULL;
    char *rv = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_list(c, &PODS, "ns1", "app=exo", 2, &items, &rv, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_int_equal(cJSON_GetArraySize(items), 5);
    const char *names = "abcde";
    for (int i = 0; i < 5; i++) {
        cJSON *md = cJSON_GetObjectItem(cJSON_GetArrayItem(items, i), "metadata");
        assert_int_equal(cJSON_GetObjectItem(md, "name")->valuestring[0], names[i]);
    }
    assert_string_equal(rv, "100");
    cJSON *reqs = fake_requests();
    assert_int_equal(cJSON_GetArraySize(reqs), 3);
    const char *conts[] = {NULL, "tok1", "tok2"};
    for (int i = 0; i < 3; i++) {
        cJSON *r = cJSON_GetArrayItem(reqs, i);
        assert_string_equal(req_query(r, "limit"), "2");
        assert_string_equal(req_query(r, "labelSelector"), "app=exo");
        if (conts[i])
            assert_string_equal(req_query(r, "continue"), conts[i]);
        else
            assert_null(req_query(r, "continue"));
    }
    cJSON_Delete(reqs);
    cJSON_Delete(items);
    free(rv);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_list_starts_over_unpaginated_when_continue_expires(void **state)
{
    (void)state;
    fake_script(
        "[{'path':'/api/v1/pods','body':{'metadata':{'resourceVersion':'5','continue':'old'},"
        "'items':[{'metadata':{'name':'a'}}]}},"
        "{'path':'/api/v1/pods','status':410,'body':{'kind':'Status','code':410,"
        "'reason':'Expired','message':'The provided continue parameter is too old'}},"
        "{'path':'/api/v1/pods','body':{'metadata':{'resourceVersion':'9'},"
        "'items':[{'metadata':{'name':'a'}},{'metadata':{'name':'b'}}]}}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *items = NULL;
    char *rv = NULL;
    exo_err e = EXO_ERR_INIT;
    /* "" lists across all namespaces: /api/v1/pods. */
    if (kube_list(c, &PODS, "", NULL, 1, &items, &rv, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_null(e.msg);
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_string_equal(rv, "9");
    cJSON *reqs = fake_requests();
    assert_null(req_query(cJSON_GetArrayItem(reqs, 2), "limit"));
    assert_null(req_query(cJSON_GetArrayItem(reqs, 2), "continue"));
    cJSON_Delete(reqs);
    cJSON_Delete(items);
    free(rv);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void
test_apply_sends_apply_patch_with_field_manager_force_and_no_managed_fields(void **state)
{
    (void)state;
    fake_script("{'method':'PATCH','path':'/apis/apps/v1/namespaces/web/deployments/x','body':"
                "{'kind':'Deployment','metadata':{'name':'x','namespace':'web'}}}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *d = parse_quoted("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'x',"
                            "'namespace':'web','managedFields':[{'manager':'kubectl'}]},"
                            "'spec':{'replicas':2}}");
    cJSON *out = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_apply(c, &DEPLOYMENTS, NULL, d, "exo-install", KUBE_FORCE, &out, &e) < 0)
        fail_msg("%s", err_msg(&e));
    assert_non_null(out);
    /* The caller's object is untouched. */
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "metadata"), "managedFields"));
    cJSON *reqs = fake_requests();
    cJSON *r = cJSON_GetArrayItem(reqs, 0);
    assert_string_equal(req_header(r, "content-type"), "application/apply-patch+yaml");
    assert_string_equal(req_query(r, "fieldManager"), "exo-install");
    assert_string_equal(req_query(r, "force"), "true");
    assert_null(req_query(r, "dryRun"));
    cJSON *sent = cJSON_Parse(cJSON_GetObjectItem(r, "body")->valuestring);
    assert_non_null(sent);
    cJSON *md = cJSON_GetObjectItem(sent, "metadata");
    assert_null(cJSON_GetObjectItem(md, "managedFields"));
    assert_string_equal(cJSON_GetObjectItem(md, "name")->valuestring, "x");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sent, "spec"), "replicas")->valueint,
                     2);
    cJSON_Delete(sent);
    cJSON_Delete(reqs);
    cJSON_Delete(out);
    cJSON_Delete(d);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_create_posts_json_with_dry_run(void **state)
{
    (void)state;
    fake_script("{'method':'POST','path':'/api/v1/namespaces/default/pods','status':201,"
                "'body':" POD_JSON "}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = parse_quoted(POD_JSON);
    exo_err e = EXO_ERR_INIT;
    if (kube_create(c, &PODS, NULL, pod, KUBE_DRY_RUN, NULL, &e) < 0)
        fail_msg("%s", err_msg(&e));
    cJSON *reqs = fake_requests();
    cJSON *r = cJSON_GetArrayItem(reqs, 0);
    assert_string_equal(req_header(r, "content-type"), "application/json");
    assert_string_equal(req_query(r, "dryRun"), "All");
    cJSON *sent = cJSON_Parse(cJSON_GetObjectItem(r, "body")->valuestring);
    assert_true(cJSON_Compare(sent, pod, 1));
    cJSON_Delete(sent);
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_delete_sends_propagation_policy_and_dry_run(void **state)
{
    (void)state;
    fake_script("[{'method':'DELETE','path':'/apis/apps/v1/namespaces/default/deployments/x',"
                "'body':{'kind':'Status','status':'Success'}},"
                "{'method':'DELETE','path':'/apis/apps/v1/namespaces/default/deployments/x',"
                "'body':{'kind':'Status','status':'Success'}}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_delete(c, &DEPLOYMENTS, NULL, "x", KUBE_PROPAGATE_FOREGROUND, 0, &e), 0);
    assert_int_equal(
        kube_delete(c, &DEPLOYMENTS, NULL, "x", KUBE_PROPAGATE_ORPHAN, KUBE_DRY_RUN, &e), 0);
    /* Nothing scripted any more: the object is gone. */
    assert_int_equal(kube_delete(c, &DEPLOYMENTS, NULL, "x", KUBE_PROPAGATE_BACKGROUND, 0, &e), -1);
    assert_string_equal(e.reason, "NotFound");
    cJSON *reqs = fake_requests();
    assert_string_equal(req_query(cJSON_GetArrayItem(reqs, 0), "propagationPolicy"), "Foreground");
    assert_null(req_query(cJSON_GetArrayItem(reqs, 0), "dryRun"));
    assert_string_equal(req_query(cJSON_GetArrayItem(reqs, 1), "propagationPolicy"), "Orphan");
    assert_string_equal(req_query(cJSON_GetArrayItem(reqs, 1), "dryRun"), "All");
    assert_string_equal(req_query(cJSON_GetArrayItem(reqs, 2), "propagationPolicy"), "Background");
    cJSON_Delete(reqs);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

#define CORE_V1                                                                                    \
    "{'path':'/api/v1','body':{'kind':'APIResourceList','groupVersion':'v1',"                      \
    "'resources':[{'name':'pods','kind':'Pod','namespaced':true},"                                 \
    "{'name':'pods/log','kind':'Pod','namespaced':true},"                                          \
    "{'name':'namespaces','kind':'Namespace','namespaced':false}]}}"

static void test_discovery_finds_core_and_group_kinds_and_caches_them(void **state)
{
    (void)state;
    fake_script("[" CORE_V1 ",{'path':'/apis/apps/v1','body':{'resources':["
                "{'name':'deployments','kind':'Deployment','namespaced':true},"
                "{'name':'deployments/scale','kind':'Scale','namespaced':true}]}}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    kube_resource r;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_discover(c, "v1", "Namespace", &r, &e), 0);
    assert_string_equal(r.group, "");
    assert_string_equal(r.version, "v1");
    assert_string_equal(r.resource, "namespaces");
    assert_false(r.namespaced);
    assert_int_equal(kube_discover(c, "v1", "Pod", &r, &e), 0);
    assert_string_equal(r.resource, "pods");
    assert_true(r.namespaced);
    assert_int_equal(kube_discover(c, "apps/v1", "Deployment", &r, &e), 0);
    assert_string_equal(r.group, "apps");
    assert_string_equal(r.resource, "deployments");
    assert_int_equal(kube_client_stats(c)->requests, 2); /* one per group-version */
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_discovery_refreshes_after_a_crd_is_created(void **state)
{
    (void)state;
    /* Before the CRD: the group is not served at all. */
    fake_script("{'path':'/apis/example.com/v1','status':404}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    kube_resource r;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_discover(c, "example.com/v1", "Widget", &r, &e), -1);
    assert_string_equal(e.reason, "NotFound");
    assert_string_equal(err_msg(&e), "the server has no kind \"Widget\" in \"example.com/v1\" "
                                     "(is its CRD installed and established?)");
    /* The CRD is created: the cached miss is asked again, once, then cached. */
    fake_script("{'path':'/apis/example.com/v1','body':{'resources':["
                "{'name':'widgets','kind':'Widget','namespaced':true}]}}");
    assert_int_equal(kube_discover(c, "example.com/v1", "Widget", &r, &e), 0);
    assert_string_equal(r.resource, "widgets");
    assert_string_equal(r.group, "example.com");
    assert_int_equal(kube_discover(c, "example.com/v1", "Widget", &r, &e), 0);
    assert_int_equal(kube_client_stats(c)->requests, 2);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_apply_manifest_discovers_the_resource(void **state)
{
    (void)state;
    fake_script("[" CORE_V1 ",{'method':'PATCH','path':'/api/v1/namespaces/exo','body':"
                "{'kind':'Namespace','metadata':{'name':'exo'}}}]");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *ns = parse_quoted("{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'exo'}}");
    exo_err e = EXO_ERR_INIT;
    if (kube_apply_manifest(c, ns, "exo-install", KUBE_DRY_RUN, NULL, &e) < 0)
        fail_msg("%s", err_msg(&e));
    cJSON *reqs = fake_requests();
    cJSON *r = cJSON_GetArrayItem(reqs, 1);
    assert_string_equal(cJSON_GetObjectItem(r, "path")->valuestring, "/api/v1/namespaces/exo");
    assert_string_equal(req_query(r, "dryRun"), "All");
    assert_null(req_query(r, "force"));
    cJSON_Delete(reqs);
    cJSON_Delete(ns);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_unreachable_server_fails_fast_with_one_line(void **state)
{
    (void)state;
    /* A port that was free a moment ago: nothing listens there. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    int port = ntohs(a.sin_port);
    buf cluster = BUF_INIT;
    buf_printf(&cluster, "    certificate-authority: %s\n", F.ca);
    kube_config *cfg = config_with(port, cluster.ptr, "    token: t\n");
    kube_client *c = client_for(cfg, &(kube_client_opts){0}); /* default backoff */
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    double t0 = now_s();
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, &e), -1);
    double took = now_s() - t0;
    assert_true(took < 5.0);
    buf want = BUF_INIT;
    buf_printf(&want, "https://127.0.0.1:%d: connection refused", port);
    assert_string_equal(err_msg(&e), want.ptr);
    assert_int_equal(kube_client_stats(c)->requests, 3);
    buf_free(&want);
    buf_free(&cluster);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_401_rereads_the_token_file_and_retries(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "},"
                "{'path':'/api/v1/namespaces/default/pods/p','status':401,'body':{'kind':'Status',"
                "'code':401,'reason':'Unauthorized','message':'Unauthorized'}},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    char *token = write_tmp("token", "token-a\n");
    buf cluster = BUF_INIT, user = BUF_INIT;
    buf_printf(&cluster, "    certificate-authority: %s\n", F.ca);
    buf_printf(&user, "    tokenFile: %s\n", token);
    kube_config *cfg = config_with(F.port, cluster.ptr, user.ptr);
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, NULL), 0);
    cJSON_Delete(pod);
    free(write_tmp("token", "token-b\n")); /* the kubelet rotated it */
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, NULL), 0);
    cJSON *reqs = fake_requests();
    const char *want[] = {"Bearer token-a", "Bearer token-a", "Bearer token-b"};
    for (int i = 0; i < 3; i++)
        assert_string_equal(req_header(cJSON_GetArrayItem(reqs, i), "authorization"), want[i]);
    assert_int_equal(kube_client_stats(c)->reauths, 1);
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
    buf_free(&cluster);
    buf_free(&user);
    free(token);
}

static void test_401_runs_the_exec_plugin_again(void **state)
{
    (void)state;
    fake_script("[{'path':'/api/v1/namespaces/default/pods/p','status':401},"
                "{'path':'/api/v1/namespaces/default/pods/p','body':" POD_JSON "}]");
    buf script = BUF_INIT;
    buf_printf(&script,
               "#!/bin/sh\necho run >> %s/runs\nn=$(wc -l < %s/runs | tr -d ' ')\n"
               "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
               "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-'$n'\"}}'\n",
               F.tmp, F.tmp);
    char *plugin = write_tmp("plugin.sh", script.ptr);
    chmod(plugin, 0700);
    buf cluster = BUF_INIT, user = BUF_INIT;
    buf_printf(&cluster, "    certificate-authority: %s\n", F.ca);
    buf_printf(&user,
               "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
               "      command: %s\n",
               plugin);
    kube_config *cfg = config_with(F.port, cluster.ptr, user.ptr);
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_get(c, &PODS, NULL, "p", &pod, &e) < 0)
        fail_msg("%s", err_msg(&e));
    cJSON *reqs = fake_requests();
    assert_string_equal(req_header(cJSON_GetArrayItem(reqs, 0), "authorization"), "Bearer exec-1");
    assert_string_equal(req_header(cJSON_GetArrayItem(reqs, 1), "authorization"), "Bearer exec-2");
    cJSON_Delete(reqs);
    cJSON_Delete(pod);
    kube_client_free(c);
    kube_config_free(cfg);
    buf_free(&cluster);
    buf_free(&user);
    buf_free(&script);
    free(plugin);
}

static void test_401_with_a_static_token_is_not_retried(void **state)
{
    (void)state;
    fake_script(
        "{'path':'/api/v1/namespaces/default/pods/p','status':401,'times':3,"
        "'body':{'kind':'Status','code':401,'reason':'Unauthorized','message':'Unauthorized'}}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_get(c, &PODS, NULL, "p", &pod, &e), -1);
    assert_string_equal(e.reason, "Unauthorized");
    assert_int_equal(kube_client_stats(c)->requests, 1);
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

/* ---- watch ---------------------------------------------------------- */

static kube_watch *watch_pods(kube_client *c, const char *rv)
{
    kube_watch *w = NULL;
    exo_err e = EXO_ERR_INIT;
    if (kube_watch_start(&w, c, &PODS, NULL, NULL, rv, &e) < 0)
        fail_msg("%s", err_msg(&e));
    return w;
}

static kube_watch_type next_event(kube_watch *w, long timeout_ms, cJSON **object)
{
    kube_watch_event ev;
    exo_err e = EXO_ERR_INIT;
    if (kube_watch_next(w, timeout_ms, &ev, &e) < 0)
        fail_msg("watch: %s", err_msg(&e));
    if (object)
        *object = ev.object;
    else
        cJSON_Delete(ev.object);
    return ev.type;
}

static const char *name_of(const cJSON *obj)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "name")->valuestring;
}

static void test_watch_parses_events_split_across_chunks(void **state)
{
    (void)state;
    /* Lines are cut mid-JSON and several share a chunk, as TCP delivers them. */
    fake_script(
        "{'path':'/api/v1/namespaces/default/pods','chunk_delay_ms':30,'chunks':["
        "'{\\'type\\':\\'ADDED\\',\\'object\\':{\\'metadata\\':{\\'name\\':\\'a\\',"
        "\\'resourceVersion\\':\\'11\\'}}}\\n{\\'type\\':\\'MODI',"
        "'FIED\\',\\'object\\':{\\'metadata\\':{\\'name\\':\\'a\\',\\'resourceVersion\\':\\'12\\'}}"
        "}',"
        "'\\n',"
        "'{\\'type\\':\\'BOOKMARK\\',\\'object\\':{\\'metadata\\':{\\'resourceVersion\\':\\'15\\'}}"
        "}\\n"
        "{\\'type\\':\\'DELETED\\',\\'object\\':{\\'metadata\\':{\\'name\\':\\'b\\',"
        "\\'resourceVersion\\':\\'16\\'}}}\\n{\\'type\\':\\'BOOKMARK\\',\\'object\\':"
        "{\\'metadata\\':{\\'resourceVersion\\':\\'20\\'}}}\\n',"
        "'{\\'type\\':\\'ERROR\\',\\'object\\':{\\'kind\\':\\'Status\\',\\'code\\':410,"
        "\\'reason\\':\\'Expired\\',\\'message\\':\\'too old resource version: 10 (20)\\'}}\\n']}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    kube_watch *w = watch_pods(c, "10");
    cJSON *obj = NULL;
    assert_int_equal(next_event(w, 5000, &obj), KUBE_WATCH_ADDED);
    assert_string_equal(name_of(obj), "a");
    assert_string_equal(kube_watch_resource_version(w), "11");
    cJSON_Delete(obj);
    assert_int_equal(next_event(w, 5000, &obj), KUBE_WATCH_MODIFIED);
    assert_string_equal(kube_watch_resource_version(w), "12");
    cJSON_Delete(obj);
    /* The bookmark is not returned but moves the RV. */
    assert_int_equal(next_event(w, 5000, &obj), KUBE_WATCH_DELETED);
    assert_string_equal(name_of(obj), "b");
    assert_string_equal(kube_watch_resource_version(w), "16");
    cJSON_Delete(obj);
    assert_int_equal(next_event(w, 5000, NULL), KUBE_WATCH_EXPIRED);
    assert_string_equal(kube_watch_resource_version(w), "20");
    assert_int_equal(next_event(w, 0, NULL), KUBE_WATCH_EXPIRED); /* and stays over */
    assert_int_equal(kube_client_stats(c)->watch_expired, 1);     /* counted once */
    cJSON *reqs = fake_requests();
    cJSON *r = cJSON_GetArrayItem(reqs, 0);
    assert_string_equal(req_query(r, "watch"), "1");
    assert_string_equal(req_query(r, "resourceVersion"), "10");
    assert_string_equal(req_query(r, "allowWatchBookmarks"), "true");
    int secs = atoi(req_query(r, "timeoutSeconds"));
    assert_true(secs >= 300 && secs <= 600);
    assert_int_equal(secs, kube_watch_timeout_seconds(w));
    assert_string_equal(req_header(r, "authorization"), "Bearer test-token");
    cJSON_Delete(reqs);
    kube_watch_free(w);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_watch_next_returns_none_when_the_timeout_passes(void **state)
{
    (void)state;
    fake_script(
        "{'path':'/api/v1/namespaces/default/pods','chunk_delay_ms':1500,'chunks':["
        "'{\\'type\\':\\'ADDED\\',\\'object\\':{\\'metadata\\':{\\'name\\':\\'late\\'}}}\\n']}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    kube_watch *w = watch_pods(c, "1");
    double t0 = now_s();
    assert_int_equal(next_event(w, 200, NULL), KUBE_WATCH_NONE);
    double took = now_s() - t0;
    assert_true(took >= 0.19 && took < 1.0);
    cJSON *obj = NULL;
    assert_int_equal(next_event(w, 10000, &obj), KUBE_WATCH_ADDED);
    assert_string_equal(name_of(obj), "late");
    cJSON_Delete(obj);
    /* The stream then ends (the server's timeoutSeconds): resume from the last RV. */
    assert_int_equal(next_event(w, 10000, NULL), KUBE_WATCH_CLOSED);
    assert_int_equal(kube_client_stats(c)->watch_restarts, 1);
    assert_int_equal(kube_client_stats(c)->watch_expired, 0);
    kube_watch_free(w);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_watch_http_410_reports_expired(void **state)
{
    (void)state;
    fake_script("{'path':'/api/v1/namespaces/default/pods','status':410,'body':{'kind':'Status',"
                "'code':410,'reason':'Expired','message':'too old resource version'}}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    kube_watch *w = watch_pods(c, "1");
    assert_int_equal(next_event(w, 5000, NULL), KUBE_WATCH_EXPIRED);
    assert_int_equal(kube_client_stats(c)->watch_expired, 1);
    assert_int_equal(kube_client_stats(c)->watch_restarts, 0);
    kube_watch_free(w);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_watch_forbidden_fills_err(void **state)
{
    (void)state;
    fake_script("{'path':'/api/v1/namespaces/default/pods','status':403,'body':{'kind':'Status',"
                "'code':403,'reason':'Forbidden','message':'pods is forbidden: User \\'u\\' cannot "
                "watch resource \\'pods\\''}}");
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    kube_watch *w = watch_pods(c, NULL);
    kube_watch_event ev;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_watch_next(w, 5000, &ev, &e), -1);
    assert_int_equal(e.http_status, 403);
    assert_int_equal(kube_client_stats(c)->watch_errors, 1);
    assert_string_equal(e.reason, "Forbidden");
    assert_string_equal(err_msg(&e),
                        "pods is forbidden: User \"u\" cannot watch resource \"pods\"");
    cJSON *reqs = fake_requests();
    assert_null(req_query(cJSON_GetArrayItem(reqs, 0), "resourceVersion"));
    cJSON_Delete(reqs);
    err_clear(&e);
    kube_watch_free(w);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_watch_delivers_every_event_of_a_long_stream(void **state)
{
    (void)state;
    /* 20000 events (2 MB) in 64 KiB chunks, lines cut anywhere: every one
     * arrives, in order, and the buffer is compacted as it is consumed. */
    buf chunks = BUF_INIT, all = BUF_INIT;
    for (int i = 0; i < 20000; i++)
        buf_printf(&all,
                   "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"pod-%05d\","
                   "\"resourceVersion\":\"%d\"},\"spec\":{\"nodeName\":\"n\"}}}\n",
                   i, i + 1);
    buf_puts(&chunks, "{\"path\":\"/api/v1/namespaces/default/pods\",\"chunks\":[");
    for (size_t off = 0; off < all.len; off += 65536) {
        size_t n = all.len - off < 65536 ? all.len - off : 65536;
        char *piece = xstrndup(all.ptr + off, n);
        cJSON *str = cJSON_CreateString(piece);
        char *text = cJSON_PrintUnformatted(str);
        buf_printf(&chunks, "%s%s", off ? "," : "", text);
        free(text);
        free(piece);
        cJSON_Delete(str);
    }
    buf_puts(&chunks, "]}");
    free(fake_call("POST", "/_control/script", chunks.ptr));
    kube_config *cfg = token_config();
    kube_client *c = client_for(cfg, NULL);
    kube_watch *w = watch_pods(c, "0");
    int n = 0;
    kube_watch_type t;
    while ((t = next_event(w, 10000, NULL)) == KUBE_WATCH_ADDED)
        n++;
    assert_int_equal(t, KUBE_WATCH_CLOSED);
    assert_int_equal(n, 20000);
    assert_string_equal(kube_watch_resource_version(w), "20000");
    kube_watch_free(w);
    kube_client_free(c);
    kube_config_free(cfg);
    buf_free(&chunks);
    buf_free(&all);
}

/* ---- caps on what the server sends ------------------------------------ */

/* An ADDED event for a pod whose name is name_len copies of c, and its
 * newline. */
static void put_event(buf *b, char c, size_t name_len, int rv)
{
    buf_puts(b, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"");
    for (size_t i = 0; i < name_len; i++)
        buf_putc(b, c);
    buf_printf(b, "\",\"resourceVersion\":\"%d\"}}}\n", rv);
}

/* Scripts a watch of the default namespace's pods that sends these chunks
 * delay_ms apart. */
static void script_watch_chunks(const char *const *chunks, size_t n, int delay_ms)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "path", "/api/v1/namespaces/default/pods");
    cJSON_AddNumberToObject(s, "chunk_delay_ms", delay_ms);
    cJSON *list = cJSON_AddArrayToObject(s, "chunks");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(chunks[i]));
    char *text = cJSON_PrintUnformatted(s);
    free(fake_call("POST", "/_control/script", text));
    free(text);
    cJSON_Delete(s);
}

static void test_an_answer_past_the_cap_fails_at_once_naming_the_cap(void **state)
{
    (void)state;
    char exact[1001], over[1002];
    memset(exact, 'x', 1000);
    exact[1000] = '\0';
    memset(over, 'x', 1001);
    over[1001] = '\0';
    buf script = BUF_INIT;
    buf_printf(&script,
               "[{'path':'/readyz','body':'%s'},{'path':'/readyz','body':'%s','times':5}]",
               exact, over);
    fake_script(script.ptr);
    buf_free(&script);
    kube_config *cfg = token_config();
    kube_client_opts o = {.backoff_base_ms = 10, .max_response = 1000};
    kube_client *c = client_for(cfg, &o);
    buf body = BUF_INIT;
    long status = 0;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_request(c, "GET", "/readyz", NULL, NULL, 0, &body, &status, &e), 0);
    assert_int_equal(body.len, 1000);
    buf_free(&body);
    assert_int_equal(body.max, 0); /* the client's cap is not left on the caller's buffer */
    assert_int_equal(kube_request(c, "GET", "/readyz", NULL, NULL, 0, &body, &status, &e), -1);
    assert_string_equal(err_msg(&e),
                        "GET /readyz: the answer is larger than 1000 bytes (the most this client "
                        "reads)");
    assert_int_equal(e.http_status, 0);
    assert_true(body.len <= 1000);
    /* Asking again would get the same answer: no retry. */
    assert_int_equal(kube_client_stats(c)->requests, 2);
    assert_int_equal(kube_client_stats(c)->retries, 0);
    err_clear(&e);
    buf_free(&body);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_a_json_answer_past_the_cap_fails_naming_what_was_read(void **state)
{
    (void)state;
    buf script = BUF_INIT;
    buf_puts(&script, "{'path':'/api/v1/namespaces/default/pods/big','body':{'kind':'Pod',"
                      "'metadata':{'name':'");
    for (int i = 0; i < 3000; i++)
        buf_putc(&script, 'p');
    buf_puts(&script, "'}}}");
    fake_script(script.ptr);
    buf_free(&script);
    kube_config *cfg = token_config();
    kube_client_opts o = {.backoff_base_ms = 10, .max_response = 2048};
    kube_client *c = client_for(cfg, &o);
    cJSON *pod = NULL;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_get(c, &PODS, "default", "big", &pod, &e), -1);
    assert_null(pod);
    assert_string_equal(err_msg(&e), "GET /api/v1/namespaces/default/pods/big: the answer is "
                                     "larger than 2048 bytes (the most this client reads)");
    err_clear(&e);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_a_watch_event_past_the_line_cap_fails_the_watch_naming_the_cap(void **state)
{
    (void)state;
    buf small = BUF_INIT, big = BUF_INIT;
    put_event(&small, 'a', 10, 1);
    put_event(&big, 'b', 5000, 2);
    const char *chunks[] = {small.ptr, big.ptr};
    script_watch_chunks(chunks, 2, 30);
    kube_config *cfg = token_config();
    kube_client_opts o = {.backoff_base_ms = 10, .timeout_ms = 10000, .max_watch_line = 4096};
    kube_client *c = client_for(cfg, &o);
    kube_watch *w = watch_pods(c, "1");
    assert_int_equal(next_event(w, 5000, NULL), KUBE_WATCH_ADDED);
    kube_watch_event ev;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(kube_watch_next(w, 5000, &ev, &e), -1);
    assert_non_null(strstr(err_msg(&e), "watch /api/v1/namespaces/default/pods?watch=1"));
    assert_non_null(strstr(err_msg(&e), ": an event is larger than 4096 bytes (the most this "
                                        "client reads)"));
    assert_int_equal(kube_client_stats(c)->watch_errors, 1);
    assert_int_equal(kube_client_stats(c)->watch_restarts, 0);
    err_clear(&e);
    kube_watch_free(w);
    kube_client_free(c);
    kube_config_free(cfg);
    buf_free(&small);
    buf_free(&big);
}

/* The cap is on one event, not on a burst: 300 small events arriving at
 * once (far more than the cap) are all delivered, the stream held while
 * they wait, and a line that ends within the cap in a chunk that goes past
 * it is taken. */
static void test_a_watch_burst_larger_than_the_cap_is_delivered_whole(void **state)
{
    (void)state;
    buf burst = BUF_INIT, head = BUF_INIT, tail = BUF_INIT, line = BUF_INIT;
    for (int i = 1; i <= 300; i++)
        put_event(&burst, 'a', 100, i);
    /* 4000 of a line, then its last bytes and a whole event in one chunk. */
    put_event(&line, 'n', 4000 - 50, 301);
    buf_append(&head, line.ptr, 4000);
    buf_puts(&tail, line.ptr + 4000);
    put_event(&tail, 'z', 200, 302);
    const char *chunks[] = {burst.ptr, head.ptr, tail.ptr};
    script_watch_chunks(chunks, 3, 200);
    kube_config *cfg = token_config();
    kube_client_opts o = {.backoff_base_ms = 10, .timeout_ms = 10000, .max_watch_line = 4096};
    kube_client *c = client_for(cfg, &o);
    kube_watch *w = watch_pods(c, "1");
    int n = 0;
    cJSON *obj = NULL;
    kube_watch_type t;
    while ((t = next_event(w, 10000, &obj)) == KUBE_WATCH_ADDED) {
        n++;
        if (n == 301)
            assert_int_equal(strlen(name_of(obj)), 4000 - 50);
        if (n == 302)
            assert_int_equal(name_of(obj)[0], 'z');
        cJSON_Delete(obj);
    }
    assert_int_equal(t, KUBE_WATCH_CLOSED);
    assert_int_equal(n, 302);
    assert_string_equal(kube_watch_resource_version(w), "302");
    kube_watch_free(w);
    kube_client_free(c);
    kube_config_free(cfg);
    buf_free(&burst);
    buf_free(&head);
    buf_free(&tail);
    buf_free(&line);
}

#define T(name) cmocka_unit_test_setup(name, reset)

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        T(test_get_sends_token_user_agent_and_accept),
        T(test_requests_reuse_one_connection),
        T(test_client_certificate_is_presented_from_memory),
        T(test_mtls_port_refuses_a_client_without_certificate),
        T(test_server_certificate_is_verified_against_the_configured_ca),
        T(test_insecure_skip_tls_verify_connects_without_a_ca),
        T(test_raw_request_reads_readyz_and_reports_status),
        T(test_429_retry_after_is_honoured_then_succeeds),
        T(test_500_twice_then_200_is_retried_with_backoff),
        T(test_501_is_not_retried),
        T(test_dropped_connection_is_retried_for_get),
        T(test_slow_answer_times_out_and_is_retried),
        T(test_post_is_not_retried_after_a_dropped_connection),
        T(test_named_create_is_retried_after_a_lost_answer_and_409_says_so),
        T(test_named_create_409_at_once_does_not_blame_a_retry),
        T(test_idempotent_post_is_retried_after_a_500),
        T(test_get_cut_mid_body_is_retried),
        T(test_get_500_is_never_not_found),
        T(test_retries_are_counted_by_cause_and_described),
        T(test_post_is_retried_on_429_with_retry_after),
        T(test_post_is_not_retried_on_503_without_retry_after),
        T(test_forbidden_status_fills_err_verbatim),
        T(test_retry_after_is_reported_when_retries_run_out),
        T(test_list_follows_continue_and_merges_items),
        T(test_list_starts_over_unpaginated_when_continue_expires),
        T(test_apply_sends_apply_patch_with_field_manager_force_and_no_managed_fields),
        T(test_create_posts_json_with_dry_run),
        T(test_delete_sends_propagation_policy_and_dry_run),
        T(test_discovery_finds_core_and_group_kinds_and_caches_them),
        T(test_discovery_refreshes_after_a_crd_is_created),
        T(test_apply_manifest_discovers_the_resource),
        T(test_unreachable_server_fails_fast_with_one_line),
        T(test_401_rereads_the_token_file_and_retries),
        T(test_401_runs_the_exec_plugin_again),
        T(test_401_with_a_static_token_is_not_retried),
        T(test_watch_parses_events_split_across_chunks),
        T(test_watch_next_returns_none_when_the_timeout_passes),
        T(test_watch_http_410_reports_expired),
        T(test_watch_forbidden_fills_err),
        T(test_watch_delivers_every_event_of_a_long_stream),
        T(test_an_answer_past_the_cap_fails_at_once_naming_the_cap),
        T(test_a_json_answer_past_the_cap_fails_naming_what_was_read),
        T(test_a_watch_event_past_the_line_cap_fails_the_watch_naming_the_cap),
        T(test_a_watch_burst_larger_than_the_cap_is_delivered_whole),
    };
    int rc = cmocka_run_group_tests(tests, start_fake, stop_fake);
    curl_global_cleanup();
    return rc;
}

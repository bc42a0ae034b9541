#include "fake_api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "buf.h"
#include "kube_fake_spawn.h"
#include "xalloc.h"

static struct {
    pid_t pid;
    int stdin_fd;
    int port;
    char *ca;
    char tmp[64];
} F;

int fake_api_start(void **state)
{
    (void)state;
    cJSON *j = NULL;
    if (kube_fake_spawn(&F.pid, &F.stdin_fd, &j) < 0)
        return -1;
    F.port = cJSON_GetObjectItem(j, "port")->valueint;
    F.ca = xstrdup(cJSON_GetObjectItem(j, "ca")->valuestring);
    cJSON_Delete(j);
    strcpy(F.tmp, "/tmp/test_controller.XXXXXX");
    if (!mkdtemp(F.tmp))
        return -1;
    unsetenv("KUBECONFIG");
    return 0;
}

int fake_api_stop(void **state)
{
    (void)state;
    close(F.stdin_fd); /* the fake exits when its stdin closes */
    int status;
    waitpid(F.pid, &status, 0);
    buf cmd = BUF_INIT;
    buf_printf(&cmd, "rm -rf '%s'", F.tmp);
    if (system(cmd.ptr) != 0)
        fprintf(stderr, "cannot remove %s\n", F.tmp);
    buf_free(&cmd);
    free(F.ca);
    return 0;
}

static char *call(const char *method, const char *path, const char *body)
{
    return kube_fake_call(F.port, F.ca, method, path, body);
}

void fake_api_client(kube_config **cfg, kube_client **c)
{
    buf text = BUF_INIT, path = BUF_INIT;
    buf_printf(&text,
               "current-context: fake\n"
               "clusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:%d\n"
               "    certificate-authority: %s\n"
               "users:\n- name: u\n  user:\n    token: test-token\n"
               "contexts:\n- name: fake\n  context: {cluster: fake, user: u, namespace: exo}\n",
               F.port, F.ca);
    buf_printf(&path, "%s/kubeconfig", F.tmp);
    FILE *fp = fopen(path.ptr, "w");
    assert_non_null(fp);
    fputs(text.ptr, fp);
    fclose(fp);
    kube_config_opts o = {path.ptr, NULL};
    exo_err e = EXO_ERR_INIT;
    if (kube_config_load(cfg, &o, &e) < 0)
        fail_msg("%s", err_msg(&e));
    kube_client_opts co = {.max_retries = -1};
    if (kube_client_new(c, *cfg, &co, &e) < 0)
        fail_msg("%s", err_msg(&e));
    buf_free(&text);
    buf_free(&path);
}

void fake_api_script_json(const cJSON *script)
{
    char *text = cJSON_PrintUnformatted(script);
    free(call("POST", "/_control/script", text));
    free(text);
}

void fake_api_reset(void)
{
    free(call("POST", "/_control/reset", NULL));
}

cJSON *fake_api_requests(void)
{
    char *text = call("GET", "/_control/requests", NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

int fake_api_writes(void)
{
    cJSON *reqs = fake_api_requests(), *r;
    int n = 0;
    cJSON_ArrayForEach (r, reqs) {
        if (strcmp(cJSON_GetObjectItem(r, "method")->valuestring, "GET") != 0)
            n++;
    }
    cJSON_Delete(reqs);
    return n;
}

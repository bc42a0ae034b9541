#include "kube_fake_spawn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "buf.h"

int kube_fake_spawn(pid_t *pid, int *stdin_fd, cJSON **info)
{
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        return -1;
    *pid = fork();
    if (*pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(KUBE_PYTHON, KUBE_PYTHON, KUBE_FAKE_SERVER, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *stdin_fd = in[1];
    buf line = BUF_INIT;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n')
        buf_putc(&line, c);
    close(out[0]);
    *info = line.ptr ? cJSON_Parse(line.ptr) : NULL;
    buf_free(&line);
    return *info ? 0 : -1;
}

char *kube_fake_call(int port, const char *ca, const char *method, const char *path,
                     const char *body)
{
    buf url = BUF_INIT;
    char *resp = NULL;
    size_t len = 0;
    buf_printf(&url, "https://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.ptr);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    FILE *mem = open_memstream(&resp, &len);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
    CURLcode rc = curl_easy_perform(h);
    fclose(mem);
    curl_easy_cleanup(h);
    buf_free(&url);
    if (rc != CURLE_OK)
        fail_msg("fake %s %s: %s", method, path, curl_easy_strerror(rc));
    return resp;
}

#include "healthcheck.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "backend_env.h"
#include "buf.h"

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p, (void)ctx;
    return size * n;
}

int healthcheck_run(const char *addr)
{
    if (!addr || !*addr)
        addr = contract_env_get(CONTRACT_ENV_HTTP_ADDR)->def;
    const char *colon = strrchr(addr, ':');
    if (!colon) {
        fprintf(stderr, "exo-backend healthcheck: EXO_HTTP_ADDR=\"%s\": want [host]:port\n", addr);
        return 1;
    }
    size_t hlen = (size_t)(colon - addr);
    buf url = BUF_INIT;
    if (hlen == 0 || strncmp(addr, "0.0.0.0", hlen) == 0)
        buf_printf(&url, "http://127.0.0.1%s/readyz", colon);
    else if (strncmp(addr, "[::]", hlen) == 0)
        buf_printf(&url, "http://[::1]%s/readyz", colon);
    else
        buf_printf(&url, "http://%s/readyz", addr);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, url.ptr);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
    }
    curl_global_cleanup();
    int exit_status = 0;
    if (rc != CURLE_OK) {
        fprintf(stderr, "exo-backend healthcheck: %s: %s\n", url.ptr, curl_easy_strerror(rc));
        exit_status = 1;
    } else if (status != 200) {
        fprintf(stderr, "exo-backend healthcheck: %s answered %ld\n", url.ptr, status);
        exit_status = 1;
    }
    buf_free(&url);
    return exit_status;
}

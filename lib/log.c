#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

static log_level min_level = LOG_INFO;

void log_set_level(log_level level)
{
    min_level = level;
}

void log_msg(log_level level, const char *msg, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < min_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "ts", when);
    cJSON_AddStringToObject(line, "level", names[level]);
    cJSON_AddStringToObject(line, "msg", msg);
    va_list ap;
    va_start(ap, msg);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *v = va_arg(ap, const char *);
        cJSON_AddStringToObject(line, k, v ? v : "");
    }
    va_end(ap);
    char *text = cJSON_PrintUnformatted(line);
    if (text) {
        /* One write per line, so lines from threads never interleave. */
        fprintf(stderr, "%s\n", text);
        free(text);
    }
    cJSON_Delete(line);
}

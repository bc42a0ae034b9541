/* A listing's query parameters (backend/api_list.c) as the network gives
 * them: the input is split at '&' into parameters and at the first '=' into
 * name and value (a part without '=' is a name without a value, as MHD
 * reports "?limit"), then read for a route that takes every filter.
 *
 * Accepted: every value within its documented range (limit 1 to 1000, a
 * cursor and deployment_id positive), since/until strict RFC 3339 and in
 * order, and no parameter the route does not know. Refused: a message of
 * printable ASCII on one line (it goes into a JSON reply and a terminal)
 * that names a parameter of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_list.h"
#include "fuzz_common.h"
#include "rfc3339.h"

static bool known(const char *name)
{
    static const char *const names[] = {"limit", "cursor", "deployment_id", "since", "until"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    api_list_param p[API_LIST_MAX_PARAMS];
    size_t n = 0;
    char *save = NULL;
    for (char *part = strtok_r(text, "&", &save); part && n < API_LIST_MAX_PARAMS;
         part = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(part, '=');
        if (eq)
            *eq = '\0';
        p[n++] = (api_list_param){part, eq ? eq + 1 : NULL};
    }
    api_list_query q;
    exo_err e = EXO_ERR_INIT;
    if (api_list_parse(&q, p, n, API_LIST_DEPLOYMENT | API_LIST_TIME, &e) == 0) {
        FUZZ_CHECK(q.limit >= 1 && q.limit <= API_LIST_MAX_LIMIT, "limit %lld",
                   (long long)q.limit);
        FUZZ_CHECK(q.cursor >= 0 && q.deployment_id >= 0, "cursor %lld, deployment %lld",
                   (long long)q.cursor, (long long)q.deployment_id);
        time_t since = 0, until = 0;
        FUZZ_CHECK(!q.since || rfc3339_parse(q.since, &since), "since %s", q.since);
        FUZZ_CHECK(!q.until || rfc3339_parse(q.until, &until), "until %s", q.until);
        FUZZ_CHECK(!q.since || !q.until || since <= until, "since after until");
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(known(p[i].name) && p[i].value && *p[i].value, "took \"%s\"", p[i].name);
    } else {
        const char *m = err_msg(&e);
        FUZZ_CHECK(*m, "an empty message");
        for (const unsigned char *c = (const unsigned char *)m; *c; c++)
            FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "byte 0x%02x in \"%s\"", *c, m);
        /* An unknown name is shown escaped, so it is found by the prefix. */
        bool names_one = strncmp(m, "unknown query parameter \"", 25) == 0;
        for (size_t i = 0; i < n && !names_one; i++)
            names_one = strstr(m, p[i].name) != NULL;
        FUZZ_CHECK(names_one, "message \"%s\" names no parameter of the input", m);
    }
    err_clear(&e);
    free(text);
    return 0;
}

/* The scripted HTTPS fake of the API server (lib/tests/kube_fake_server.py)
 * for the controller's tests: start it once per test binary, script
 * answers, then ask it what it received. */
#ifndef EXO_CTL_FAKE_API_H
#define EXO_CTL_FAKE_API_H

#include <cjson/cJSON.h>

#include "kube_client.h"
#include "kube_config.h"

/* cmocka group setup and teardown: cmocka_run_group_tests(tests,
 * fake_api_start, fake_api_stop). */
int fake_api_start(void **state);
int fake_api_stop(void **state);
/* A client of the fake (token auth); caller frees both. */
void fake_api_client(kube_config **cfg, kube_client **c);
/* Queues answers: a JSON object or list (see the fake's docstring). */
void fake_api_script_json(const cJSON *script);
/* Forgets scripts and requests. */
void fake_api_reset(void);
/* Every request since the last reset (caller frees). */
cJSON *fake_api_requests(void);
/* How many requests used a method other than GET. */
int fake_api_writes(void);

#endif

/* Starts lib/tests/kube_fake_server.py for a C test: the unit tests of the
 * client and of the controller script the same fake. */
#ifndef EXO_KUBE_FAKE_SPAWN_H
#define EXO_KUBE_FAKE_SPAWN_H

#include <sys/types.h>

#include <cjson/cJSON.h>

/* Forks the server and reads the JSON line it prints (ports, certificate
 * paths; *info is the caller's). It serves until *stdin_fd is closed. */
int kube_fake_spawn(pid_t *pid, int *stdin_fd, cJSON **info);

/* A control request to the fake (/_control/...) on a curl handle of its
 * own, so a client's counters see only the requests under test. Returns the
 * body (caller frees); a transport failure fails the cmocka test. */
char *kube_fake_call(int port, const char *ca, const char *method, const char *path,
                     const char *body);

#endif

/* `exo-backend healthcheck`: asks this container's own /readyz, for Docker
 * and Compose healthchecks (the image has no curl or wget). */
#ifndef EXO_HEALTHCHECK_H
#define EXO_HEALTHCHECK_H

/* GETs /readyz at the address EXO_HTTP_ADDR listens on (":8080" and
 * "0.0.0.0:8080" are asked on 127.0.0.1, "[::]:8080" on [::1]). Returns the
 * exit status: 0 when it answers 200, 1 otherwise, with one line on
 * stderr. addr NULL or empty means EXO_HTTP_ADDR's default. */
int healthcheck_run(const char *addr);

#endif

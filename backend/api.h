/* The JSON API under /api/v1/, on libmicrohttpd: bearer tokens (stored as
 * SHA-256 hashes only), users, deployments, sessions and their events and
 * recordings, audit events, runtime statuses (tool status encrypted at
 * rest, returned decrypted). Bodies are checked whole before anything is
 * written: bad JSON, unknown fields, wrong types and oversize bodies get a
 * 4xx with a JSON error, and nothing partial is stored. docs/api.md is the
 * reference. */
#ifndef EXO_API_H
#define EXO_API_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "config.h"
#include "err.h"
#include "keyring.h"
#include "pool.h"

#define API_PREFIX "/api/v1/"
#define API_MAX_BODY (1024 * 1024) /* JSON bodies; recordings have their own limit */
#define API_MAX_BATCH 10000        /* events in one request */

typedef struct api api;

/* Borrowed: db, ring and cfg outlive the api. */
api *api_new(pool *db, const keyring *ring, const backend_config *cfg);
void api_free(api *a);

/* Creates (once) the bootstrap admin and its token from EXO_BOOTSTRAP_TOKEN,
 * storing only the token's hash. A token shorter than 32 characters is
 * refused. */
int api_bootstrap(PGconn *c, const char *token, exo_err *err);

/* The libmicrohttpd access handler for URLs under API_PREFIX, called as
 * MHD calls its handler (several times per request). */
enum MHD_Result api_handle(api *a, struct MHD_Connection *conn, const char *method,
                           const char *url, const char *upload, size_t *upload_size,
                           void **state);

/* Frees a request's state when MHD is done with it (also on a client that
 * went away: a half-received recording is removed). */
void api_request_done(void *state);

#endif

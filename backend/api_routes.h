/* The API's route table (api_routes.c): which handler runs for a method
 * and a path under /api/v1/, and whether it needs an admin token. The
 * dispatch in api.c looks a request up here; the handlers reply through
 * the helpers of api_call.h. */
#ifndef EXO_API_ROUTES_H
#define EXO_API_ROUTES_H

#include <stdbool.h>

#include "api_call.h"

typedef struct {
    const char *method;
    const char *pattern; /* "*" matches one segment */
    int (*fn)(api_call *c);
    bool admin;
} api_route;

/* The route for c->method and c->seg; NULL with c's reply set when there
 * is none (404 for an unknown path, 405 for a method the path lacks). */
const api_route *api_routes_match(api_call *c);

#endif

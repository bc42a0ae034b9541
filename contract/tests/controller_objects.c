/* Reads an ExoControlPlane (JSON) on stdin and prints the Deployment and
 * Service exo-controller makes of it, as {"deployment": …, "service": …}:
 * the follow test's view of the controller. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "backend_objects.h"
#include "buf.h"

int main(void)
{
    buf in = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        buf_append(&in, chunk, n);
    cJSON *ecp = in.ptr ? cJSON_Parse(in.ptr) : NULL;
    buf_free(&in);
    if (!ecp) {
        fputs("controller_objects: want an ExoControlPlane as JSON on stdin\n", stderr);
        return 2;
    }
    backend_inputs bi = {"sha256:00", true};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "deployment", backend_deployment(ecp, &bi));
    cJSON_AddItemToObject(o, "service", backend_service(ecp));
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
    cJSON_Delete(ecp);
    return 0;
}

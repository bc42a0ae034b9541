/* Prints what exo-backend's config_load makes of the environment, as one
 * JSON object: the follow test's view of the backend's configuration. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "config.h"

int main(void)
{
    backend_config c;
    exo_err err = EXO_ERR_INIT;
    int rc = config_load(&c, 0, &err);
    if (rc == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "http_addr", c.http_addr);
        cJSON_AddStringToObject(o, "cast_dir", c.cast_dir);
        cJSON_AddNumberToObject(o, "cast_max_bytes", (double)c.cast_max_bytes);
        cJSON_AddNumberToObject(o, "max_open", c.max_open);
        cJSON_AddNumberToObject(o, "max_idle", c.max_idle);
        cJSON_AddNumberToObject(o, "retention_days", c.retention_days);
        cJSON_AddNumberToObject(o, "premake_months", c.premake_months);
        cJSON_AddNumberToObject(o, "maintenance_interval_s", (double)c.maintenance_interval_s);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        fprintf(stderr, "%s\n", err_msg(&err));
    }
    config_free(&c);
    err_clear(&err);
    return rc < 0 ? 1 : 0;
}

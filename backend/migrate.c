#include "migrate.h"

#include "boot.h"
#include "keyring.h"
#include "maintain.h"

int migrate_run(const backend_config *cfg, time_t now, cJSON **report, exo_err *err)
{
    *report = NULL;
    PGconn *c = boot_connect(cfg->dsn, err);
    if (!c)
        return -1;
    keyring *ring = NULL;
    boot_report b;
    maintain_report m;
    int rc = boot_run(c, cfg, now, &ring, &b, err);
    if (rc == 0) {
        boot_log(&b);
        rc = maintain_pass(c, cfg, now, &m, err);
    }
    if (rc == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "ddl_statements", b.ddl);
        cJSON_AddNumberToObject(o, "partitions_created", b.partitions);
        cJSON_AddNumberToObject(o, "values_encrypted", (double)b.encrypted);
        cJSON_AddNumberToObject(o, "boot_ms", (double)b.duration_ms);
        cJSON_AddItemToObject(o, "maintenance", maintain_report_json(&m));
        *report = o;
    }
    keyring_free(ring);
    PQfinish(c);
    return rc;
}

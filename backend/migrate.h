/* `exo-backend migrate`: the boot (boot.h) and one maintenance pass
 * (maintain.h) on a connection of its own, then exit; what an init
 * container or an upgrade job runs. */
#ifndef EXO_MIGRATE_H
#define EXO_MIGRATE_H

#include <time.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "err.h"

/* now: the instant the partitions are made for, normally time(NULL); a
 * flag sets it so that a test's dated rows fall in known months whatever
 * the calendar says. On success *report is what the boot and the pass did
 * (caller frees with cJSON_Delete). */
int migrate_run(const backend_config *cfg, time_t now, cJSON **report, exo_err *err);

#endif

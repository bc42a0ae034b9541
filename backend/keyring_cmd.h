/* `exo-backend keyring verify|rotate`: the keyring as an operator checks
 * and rotates it, on a database the boot has already migrated. */
#ifndef EXO_KEYRING_CMD_H
#define EXO_KEYRING_CMD_H

#include <cjson/cJSON.h>

#include "config.h"
#include "err.h"

/* Checks EXO_ENCRYPTION_KEY against the keyring and counts, per encrypted
 * column, the values that decrypt, that do not, and that are still
 * plaintext. *report (caller frees with cJSON_Delete) holds the counts
 * whenever they were made, also when some value failed to decrypt, which
 * is an error. */
int keyring_cmd_verify(const backend_config *cfg, cJSON **report, exo_err *err);

/* Adds a data key and makes it active under the boot lock (boot_lock), so
 * that it never races a booting replica, then re-encrypts the values under
 * older keys and verifies as keyring_cmd_verify does. */
int keyring_cmd_rotate(const backend_config *cfg, cJSON **report, exo_err *err);

#endif

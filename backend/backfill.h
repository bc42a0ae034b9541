/* Batch rewrites of the encrypted columns (schema_encrypted_columns):
 * encrypting values still in plaintext after the jsonb -> text migration,
 * and re-encrypting values under older keys after a rotation. Each batch
 * is one short transaction whose rows are claimed with FOR UPDATE SKIP
 * LOCKED, so replicas can share the work and live updates wait little. */
#ifndef EXO_BACKFILL_H
#define EXO_BACKFILL_H

#include <libpq-fe.h>

#include "err.h"
#include "keyring.h"

#define BACKFILL_BATCH 500

/* Encrypts every plaintext value; adds the count to *done. */
int backfill_encrypt(PGconn *c, const keyring *k, long *done, exo_err *err);

/* Re-encrypts every value not under the active key; adds to *done. */
int backfill_reencrypt(PGconn *c, const keyring *k, long *done, exo_err *err);

#endif

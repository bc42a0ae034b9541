/* Envelope encryption for columns stored encrypted at rest.
 *
 * EXO_ENCRYPTION_KEY (the master key, never stored) derives, with HKDF and
 * a salt kept in the database, a key-encryption key (KEK). The KEK wraps
 * data keys (AES-256-GCM), stored in exo_keyring_keys; one of them is
 * active for new values. A check value, sealed under the KEK, turns a wrong
 * master key into a clear error at boot, before anything is written.
 *
 * Ciphertext is text: "exo:v1:<key id>:<base64(nonce | ciphertext | tag)>",
 * with "exo:v1:<key id>|<table>|<column>|<row id>" bound as associated
 * data, so a value copied to another row, column or key id fails to open.
 *
 * Tables (created by the schema migration, see schema.c):
 *   exo_keyring_meta (id smallint PK CHECK (id = 1), kdf_salt bytea NOT NULL,
 *                     check_value bytea NOT NULL, created_at timestamptz)
 *   exo_keyring_keys (key_id integer PK, wrapped_key bytea NOT NULL,
 *                     active boolean NOT NULL, created_at timestamptz)
 */
#ifndef EXO_KEYRING_H
#define EXO_KEYRING_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"

typedef struct keyring keyring;

/* Reads the keyring on conn and verifies master against its check value.
 * *out is NULL (and 0 returned) when there is no keyring yet. A wrong key
 * fails with "EXO_ENCRYPTION_KEY does not match the key this database was
 * encrypted with …". Caller frees *out with keyring_free. */
int keyring_load(keyring **out, PGconn *conn, const unsigned char master[CRYPTO_KEY_LEN],
                 exo_err *err);

/* Loads the keyring, or creates one (salt, check value, first data key)
 * when there is none. Creating is refused when any encrypted value already
 * exists in the columns listed by `encrypted` (NULL-terminated
 * "table.column" strings): that is a lost key, not a new install. Runs on
 * conn inside the caller's transaction. */
int keyring_bootstrap(keyring **out, PGconn *conn, const unsigned char master[CRYPTO_KEY_LEN],
                      const char *const *encrypted, exo_err *err);

/* Adds a data key and makes it the active one; the old keys stay for
 * reading. Runs on conn inside the caller's transaction. */
int keyring_rotate(keyring *k, PGconn *conn, exo_err *err);

/* The active key's id. */
int keyring_active_id(const keyring *k);

/* Encrypts plain for (table, column, row id) with the active key;
 * returns the ciphertext text, which the caller frees. */
char *keyring_encrypt(const keyring *k, const char *table, const char *column, const char *row_id,
                      const void *plain, size_t len);

/* Decrypts ciphertext made for (table, column, row id), appending the
 * plaintext to out. Fails for an unknown key id or anything tampered. */
int keyring_decrypt(const keyring *k, const char *table, const char *column, const char *row_id,
                    const char *ciphertext, buf *out, exo_err *err);

/* Whether value has the ciphertext prefix ("exo:v1:"). */
bool keyring_is_ciphertext(const char *value);

/* The key id of a ciphertext, or -1 when value is not one. */
int keyring_key_id(const char *value);

/* Wipes and frees every key. */
void keyring_free(keyring *k);

#endif

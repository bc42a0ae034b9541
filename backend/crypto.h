/* The cryptographic primitives of the keyring, all from OpenSSL:
 * HKDF-SHA256 for deriving the key-encryption key, AES-256-GCM with a
 * random 96-bit nonce for sealing, OpenSSL's RNG for keys and nonces. */
#ifndef EXO_CRYPTO_H
#define EXO_CRYPTO_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16

/* Parses EXO_ENCRYPTION_KEY: standard base64 of exactly 32 bytes (what
 * `openssl rand -base64 32` prints; surrounding whitespace ignored). The
 * message in err never contains the value. */
int crypto_parse_master_key(unsigned char out[CRYPTO_KEY_LEN], const char *text, exo_err *err);

/* HKDF-SHA256 (RFC 5869) of ikm with salt and info into out. */
int crypto_hkdf(unsigned char out[CRYPTO_KEY_LEN], const unsigned char *ikm, size_t ikm_len,
                const unsigned char *salt, size_t salt_len, const char *info, exo_err *err);

/* Fills out with n bytes from OpenSSL's RNG; aborts if the RNG fails (no
 * key or nonce may ever come from anywhere else). */
void crypto_random(void *out, size_t n);

/* AES-256-GCM: appends nonce | ciphertext | tag to out; aad is bound but
 * not stored. */
int crypto_seal(buf *out, const unsigned char key[CRYPTO_KEY_LEN], const void *plain, size_t len,
                const void *aad, size_t aad_len, exo_err *err);

/* Opens what crypto_seal made, appending the plaintext to out. Fails (and
 * appends nothing) when the key, the aad or any byte is wrong. */
int crypto_open(buf *out, const unsigned char key[CRYPTO_KEY_LEN], const void *sealed, size_t len,
                const void *aad, size_t aad_len, exo_err *err);

/* Overwrites secrets before their memory is freed. */
void crypto_wipe(void *p, size_t n);

#endif

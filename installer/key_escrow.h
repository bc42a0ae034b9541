/* Key escrow: the encryption key sealed to a recipient's RSA public key, so
 * that it can be stored away (a vault, an envelope, a ticket) without ever
 * being printed in clear. The format is what `openssl pkeyutl` reads back:
 * RSA-OAEP with SHA-256 (label empty, MGF1 SHA-256) over the key exactly as
 * `exo-install key export` prints it (base64, no newline); the ciphertext is
 * written as one line of base64. Decrypt with
 *   openssl base64 -d -A -in exo-key.sealed |
 *     openssl pkeyutl -decrypt -inkey recipient.key \
 *       -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
 *       -pkeyopt rsa_mgf1_md:sha256
 * (docs/backup.md). */
#ifndef EXO_KEY_ESCROW_H
#define EXO_KEY_ESCROW_H

#include <stddef.h>

#include "err.h"

/* RSA keys shorter than this are refused (NIST SP 800-57: 2048 bits is the
 * floor for keys in use today). */
#define KEY_ESCROW_MIN_BITS 2048

/* Seals len bytes of plain to the PEM public key in the file at path
 * (SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it, or an X.509
 * certificate). *b64 is the ciphertext in base64, one line (caller frees).
 * 0, or -1 with one line in err naming path; err never holds plain. */
int key_escrow_seal(const char *path, const unsigned char *plain, size_t len, char **b64,
                    exo_err *err);

#endif

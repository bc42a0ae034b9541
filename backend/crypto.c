#include "crypto.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "base64.h"
#include "xalloc.h"

#define KEY_HINT "generate one with: openssl rand -base64 32"

int crypto_parse_master_key(unsigned char out[CRYPTO_KEY_LEN], const char *text, exo_err *err)
{
    if (!text)
        return err_set(err, "EXO_ENCRYPTION_KEY is not set (" KEY_HINT ")");
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        n--;
    if (n == 0)
        return err_set(err, "EXO_ENCRYPTION_KEY is empty (" KEY_HINT ")");

    char *trimmed = xstrndup(text, n);
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    int rc = base64_decode(trimmed, &raw, &raw_len);
    crypto_wipe(trimmed, n);
    free(trimmed);
    if (rc < 0)
        return err_set(err, "EXO_ENCRYPTION_KEY is not base64 (" KEY_HINT ")");
    if (raw_len == CRYPTO_KEY_LEN)
        memcpy(out, raw, CRYPTO_KEY_LEN);
    crypto_wipe(raw, raw_len);
    free(raw);
    if (raw_len != CRYPTO_KEY_LEN)
        return err_set(err, "EXO_ENCRYPTION_KEY must decode to %d bytes, got %zu (" KEY_HINT ")",
                       CRYPTO_KEY_LEN, raw_len);
    return 0;
}

int crypto_hkdf(unsigned char out[CRYPTO_KEY_LEN], const unsigned char *ikm, size_t ikm_len,
                const unsigned char *salt, size_t salt_len, const char *info, exo_err *err)
{
    int rc = -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (!ctx) {
        err_set(err, "HKDF: OpenSSL has no HKDF implementation");
        goto out;
    }
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info && *info)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    *p = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(ctx, out, CRYPTO_KEY_LEN, params) != 1) {
        err_set(err, "HKDF-SHA256 derivation failed");
        goto out;
    }
    rc = 0;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

void crypto_random(void *out, size_t n)
{
    if (n > INT_MAX || RAND_bytes(out, (int)n) != 1) {
        fprintf(stderr, "fatal: OpenSSL's random number generator failed\n");
        abort();
    }
}

int crypto_seal(buf *out, const unsigned char key[CRYPTO_KEY_LEN], const void *plain, size_t len,
                const void *aad, size_t aad_len, exo_err *err)
{
    if (len > INT_MAX - CRYPTO_TAG_LEN || aad_len > INT_MAX)
        return err_set(err, "seal: input too large");
    int rc = -1, a = 0, n = 0, fin = 0;
    unsigned char nonce[CRYPTO_NONCE_LEN], tag[CRYPTO_TAG_LEN];
    unsigned char *ct = xmalloc(len + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    crypto_random(nonce, sizeof nonce);
    if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        (aad_len && EVP_EncryptUpdate(ctx, NULL, &a, aad, (int)aad_len) != 1) ||
        (len && EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) != 1) ||
        EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, tag) != 1) {
        err_set(err, "AES-256-GCM encryption failed");
        goto out;
    }
    buf_append(out, nonce, sizeof nonce);
    buf_append(out, ct, len);
    buf_append(out, tag, sizeof tag);
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    free(ct);
    return rc;
}

int crypto_open(buf *out, const unsigned char key[CRYPTO_KEY_LEN], const void *sealed, size_t len,
                const void *aad, size_t aad_len, exo_err *err)
{
    if (len < CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)
        return err_set(err, "decryption failed: sealed value is too short");
    if (len > INT_MAX || aad_len > INT_MAX)
        return err_set(err, "decryption failed: input too large");
    const unsigned char *nonce = sealed;
    const unsigned char *ct = nonce + CRYPTO_NONCE_LEN;
    size_t ct_len = len - CRYPTO_NONCE_LEN - CRYPTO_TAG_LEN;
    int rc = -1, a = 0, n = 0, fin = 0;
    unsigned char *pt = xmalloc(ct_len + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, (void *)(ct + ct_len)) !=
            1 ||
        (aad_len && EVP_DecryptUpdate(ctx, NULL, &a, aad, (int)aad_len) != 1) ||
        (ct_len && EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ct_len) != 1) ||
        EVP_DecryptFinal_ex(ctx, pt + n, &fin) != 1) {
        /* One message for all causes: GCM cannot tell them apart. */
        err_set(err, "decryption failed: wrong key, wrong associated data or tampered value");
        goto out;
    }
    buf_append(out, pt, ct_len);
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    crypto_wipe(pt, ct_len);
    free(pt);
    return rc;
}

void crypto_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

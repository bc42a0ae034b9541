#include "key_escrow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64.h"
#include "xalloc.h"

/* The recipient's public key: a PUBLIC KEY block, or else the key of a
 * CERTIFICATE block (teams often hold a certificate for their escrow key). */
static EVP_PKEY *read_public_key(const char *path, exo_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        err_set(err, "--recipient %s: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (!pk) {
        rewind(f);
        X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
        if (cert)
            pk = X509_get_pubkey(cert);
        X509_free(cert);
    }
    fclose(f);
    if (!pk)
        err_set(err, "--recipient %s: no PEM public key or certificate in it (make one with: "
                     "openssl pkey -in recipient.key -pubout -out recipient.pub)",
                path);
    return pk;
}

int key_escrow_seal(const char *path, const unsigned char *plain, size_t len, char **b64,
                    exo_err *err)
{
    EVP_PKEY *pk = read_public_key(path, err);
    if (!pk)
        return -1;
    int rc = 0;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *out = NULL;
    size_t out_len = 0;
    if (!EVP_PKEY_is_a(pk, "RSA")) {
        rc = err_set(err, "--recipient %s: a %s key; want an RSA public key (openssl pkeyutl "
                          "decrypts only RSA)",
                     path, EVP_PKEY_get0_type_name(pk));
    } else if (EVP_PKEY_get_bits(pk) < KEY_ESCROW_MIN_BITS) {
        rc = err_set(err, "--recipient %s: an RSA key of %d bits; want at least %d", path,
                     EVP_PKEY_get_bits(pk), KEY_ESCROW_MIN_BITS);
    } else if (!(ctx = EVP_PKEY_CTX_new(pk, NULL)) || EVP_PKEY_encrypt_init(ctx) <= 0 ||
               EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
               EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
               EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
               EVP_PKEY_encrypt(ctx, NULL, &out_len, plain, len) <= 0) {
        rc = err_set(err, "--recipient %s: OpenSSL cannot encrypt to this key with RSA-OAEP",
                     path);
    } else {
        out = xmalloc(out_len);
        if (EVP_PKEY_encrypt(ctx, out, &out_len, plain, len) <= 0)
            rc = err_set(err, "--recipient %s: RSA-OAEP encryption failed", path);
        else
            *b64 = base64_encode(out, out_len);
    }
    free(out);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return rc;
}

#include "base64.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "xalloc.h"

char *base64_encode(const void *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int base64_decode(const char *text, unsigned char **out, size_t *out_len)
{
    size_t n = strlen(text);
    if (n % 4 != 0)
        return -1;
    unsigned char *p = xmalloc(n / 4 * 3 + 1);
    int got = EVP_DecodeBlock(p, (const unsigned char *)text, (int)n);
    if (got < 0) {
        free(p);
        return -1;
    }
    /* EVP_DecodeBlock counts padding as zero bytes; take them off. */
    size_t len = (size_t)got;
    for (size_t i = n; i > 0 && text[i - 1] == '='; i--)
        len--;
    p[len] = '\0';
    *out = p;
    *out_len = len;
    return 0;
}

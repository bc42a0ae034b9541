#include "base64.h"

#include <ctype.h>
#include <stdbool.h>
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

/* RFC 4648 with padding, strictly: EVP_DecodeBlock alone would accept "="
 * in the middle and count padding it never checks. */
static bool well_formed(const char *text, size_t n)
{
    size_t pad = 0;
    while (pad < n && pad < 3 && text[n - 1 - pad] == '=')
        pad++;
    if (n % 4 != 0 || pad > 2)
        return false;
    for (size_t i = 0; i < n - pad; i++)
        if (!isalnum((unsigned char)text[i]) && text[i] != '+' && text[i] != '/')
            return false;
    return true;
}

int base64_decode(const char *text, unsigned char **out, size_t *out_len)
{
    size_t n = strlen(text);
    if (!well_formed(text, n))
        return -1;
    unsigned char *p = xmalloc(n / 4 * 3 + 1);
    int got = EVP_DecodeBlock(p, (const unsigned char *)text, (int)n);
    if (got < 0) {
        free(p);
        return -1;
    }
    /* EVP_DecodeBlock counts padding as zero bytes; take them off. */
    size_t len = (size_t)got - (n >= 1 && text[n - 1] == '=') - (n >= 2 && text[n - 2] == '=');
    p[len] = '\0';
    *out = p;
    *out_len = len;
    return 0;
}

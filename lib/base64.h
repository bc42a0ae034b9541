/* Standard base64 (RFC 4648 with padding), as Kubernetes Secret data uses. */
#ifndef EXO_BASE64_H
#define EXO_BASE64_H

#include <stddef.h>

/* Returns the encoding of data, NUL-terminated; caller frees. */
char *base64_encode(const void *data, size_t len);

/* Decodes text into *out (caller frees, NUL-terminated for convenience) and
 * *out_len. Returns 0, or -1 when text is not base64. */
int base64_decode(const char *text, unsigned char **out, size_t *out_len);

#endif

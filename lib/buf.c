#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_init(buf *b)
{
    buf_init_max(b, 0);
}

void buf_init_max(buf *b, size_t max)
{
    b->ptr = (char *)"";
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_free(buf *b)
{
    if (b->cap)
        free(b->ptr);
    buf_init_max(b, b->max);
}

void buf_clear(buf *b)
{
    b->len = 0;
    if (b->cap)
        b->ptr[0] = '\0';
}

/* Room for extra more bytes and the NUL, or BUF_TOO_LARGE. */
static int grow(buf *b, size_t extra)
{
    if (b->max && (extra > b->max || b->len > b->max - extra))
        return BUF_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    /* Doubling would allocate up to twice the cap: a capped buffer never
     * takes more than the cap and its NUL. */
    if (b->max && cap > b->max + 1)
        cap = b->max + 1;
    if (b->cap) {
        b->ptr = xrealloc(b->ptr, cap);
    } else {
        b->ptr = xmalloc(cap);
        b->ptr[0] = '\0';
    }
    b->cap = cap;
    return 0;
}

int buf_append(buf *b, const void *data, size_t n)
{
    if (grow(b, n) < 0)
        return BUF_TOO_LARGE;
    if (n)
        memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int buf_puts(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n <= 0)
        return 0;
    if (grow(b, (size_t)n) < 0)
        return BUF_TOO_LARGE;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_detach(buf *b)
{
    char *p = b->cap ? b->ptr : xstrdup("");
    buf_init_max(b, b->max);
    return p;
}

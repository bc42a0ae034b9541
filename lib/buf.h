/* The one growable byte buffer: strings, bodies, files. Always NUL-terminated
 * so that buf.ptr can be used as a C string; may also hold binary data.
 *
 * A buffer may have a cap (buf_init_max), as curl's dynbuf has: where a peer
 * decides how much arrives (an HTTP answer, a request body, a watch stream),
 * the cap turns "more than we will hold" into an error the reader can name,
 * instead of an allocation the peer chose. An append that would take the
 * length past the cap appends nothing and returns BUF_TOO_LARGE; the buffer
 * keeps its contents and stays usable. Out of memory still aborts (xalloc.h). */
#ifndef EXO_BUF_H
#define EXO_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *ptr;  /* owned; "" (a static) until the first append */
    size_t len;
    size_t cap; /* bytes allocated (len + 1 at least once allocated) */
    size_t max; /* the most len may become; 0: no cap */
} buf;

#define BUF_INIT {(char *)"", 0, 0, 0}

/* What an append returns when it would take len past max. */
#define BUF_TOO_LARGE (-2)

void buf_init(buf *b);
/* An empty buffer that holds at most max bytes (max 0: no cap). Never
 * allocates more than max + 1. */
void buf_init_max(buf *b, size_t max);
/* Frees the contents and leaves b empty; the cap stays. */
void buf_free(buf *b);
void buf_clear(buf *b);
/* Each returns 0, or BUF_TOO_LARGE (b unchanged) when the cap is in the way;
 * a buffer without a cap never fails. */
int buf_append(buf *b, const void *data, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the contents to the caller (free() it) and leaves b empty; the cap
 * stays. */
char *buf_detach(buf *b);

#endif

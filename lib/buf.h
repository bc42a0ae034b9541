/* The one growable byte buffer: strings, bodies, files. Always NUL-terminated
 * so that buf.ptr can be used as a C string; may also hold binary data. */
#ifndef EXO_BUF_H
#define EXO_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *ptr;  /* owned; "" (a static) until the first append */
    size_t len;
    size_t cap;
} buf;

#define BUF_INIT {(char *)"", 0, 0}

void buf_init(buf *b);
void buf_free(buf *b);
void buf_clear(buf *b);
void buf_append(buf *b, const void *data, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the contents to the caller (free() it) and leaves b empty. */
char *buf_detach(buf *b);

#endif

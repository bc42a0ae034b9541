/* Allocation that cannot fail: out of memory aborts here, in one place,
 * so callers need not pretend to recover from it. */
#ifndef EXO_XALLOC_H
#define EXO_XALLOC_H

#include <stddef.h>

/* All return memory the caller frees with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif

/* The templates under templates/, compiled into the binary. */
#ifndef EXO_EMBEDDED_H
#define EXO_EMBEDDED_H

#include <stddef.h>

typedef struct {
    const char *name; /* file name, e.g. "namespace.yaml" */
    const char *data; /* NUL-terminated */
    size_t len;
} embedded_file;

/* Ends with an entry whose name is NULL. */
extern const embedded_file embedded_files[];

/* The file called name, or NULL. */
const embedded_file *embedded_find(const char *name);

#endif

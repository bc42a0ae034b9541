/* Column output for people: a header row and rows, each column as wide as
 * its widest cell, text from the server made safe for a terminal. */
#ifndef EXO_TABLE_H
#define EXO_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

typedef struct table table;

/* A table of ncols columns headed by `headers` (copied). Free with
 * table_free. */
table *table_new(size_t ncols, const char *const *headers);
void table_free(table *t);

/* Appends a row of ncols cells (copied, escaped with table_escape). */
void table_add_row(table *t, const char *const *cells);

/* Prints the header and the rows, columns three spaces apart, no trailing
 * spaces. Widths count characters (UTF-8 code points), not bytes. */
void table_print(const table *t, FILE *f);

/* Appends s to out with what a terminal would act on written out instead:
 * control characters (C0, DEL, and C1 as UTF-8) as \n, \t or \xNN / \uNNNN.
 * A name holding an escape sequence then cannot repaint the screen. */
void table_escape(buf *out, const char *s);

#endif

#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct table {
    size_t ncols, nrows, cap;
    char **cells; /* (nrows + 1) * ncols, row 0 the header; each owned */
    size_t *width;
};

void table_escape(buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            buf_puts(out, "\\n");
        else if (*p == '\t')
            buf_puts(out, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            buf_printf(out, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            buf_printf(out, "\\u%04x", *++p); /* U+0080..U+009F: C1 controls */
        else
            buf_putc(out, (char)*p);
    }
}

/* Characters a terminal shows for s: UTF-8 continuation bytes add none. */
static size_t display_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

static void add_row(table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap *= 2;
        t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        buf b = BUF_INIT;
        table_escape(&b, cells[i] ? cells[i] : "");
        row[i] = buf_detach(&b);
        size_t w = display_width(row[i]);
        if (w > t->width[i])
            t->width[i] = w;
    }
    t->nrows++;
}

table *table_new(size_t ncols, const char *const *headers)
{
    table *t = xcalloc(1, sizeof *t);
    t->ncols = ncols;
    t->cap = 8;
    t->cells = xcalloc(t->cap * ncols, sizeof *t->cells);
    t->width = xcalloc(ncols, sizeof *t->width);
    /* The header is row 0 of the cells and counts for the widths; nrows
     * then counts it too, and table_add_row keeps it that way. */
    add_row(t, headers);
    return t;
}

void table_free(table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->width);
    free(t);
}

void table_add_row(table *t, const char *const *cells)
{
    add_row(t, cells);
}

void table_print(const table *t, FILE *f)
{
    for (size_t r = 0; r < t->nrows; r++) {
        char *const *row = t->cells + r * t->ncols;
        for (size_t i = 0; i < t->ncols; i++) {
            fputs(row[i], f);
            if (i + 1 < t->ncols)
                fprintf(f, "%*s", (int)(t->width[i] - display_width(row[i]) + 3), "");
        }
        fputc('\n', f);
    }
}

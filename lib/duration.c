#include "duration.h"

#include <stdbool.h>
#include <string.h>

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", INT64_C(60) * 1000000000},
    {"h", INT64_C(3600) * 1000000000},
};

/* Reads the digits at *p into *v (saturating: more than 2^63 is an
 * overflow the caller sees through *overflow). Returns how many. */
static int digits(const char **p, uint64_t *v, bool *overflow)
{
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
        if (*v > (UINT64_C(1) << 63) / 10)
            *overflow = true;
        else
            *v = *v * 10 + (uint64_t)(**p - '0');
        if (*v > (UINT64_C(1) << 63))
            *overflow = true;
    }
    return n;
}

int duration_parse(const char *s, int64_t *ns)
{
    if (!s)
        return -1;
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*s)
        return -1;
    uint64_t total = 0;
    while (*s) {
        bool overflow = false;
        uint64_t whole = 0, frac = 0;
        double scale = 1;
        int nw = digits(&s, &whole, &overflow), nf = 0;
        if (*s == '.') {
            s++;
            /* Fraction digits past 2^63 are dropped, as Go does. */
            bool full = false;
            for (; *s >= '0' && *s <= '9'; s++, nf++) {
                if (full || frac > (UINT64_C(1) << 63) / 10 ||
                    frac * 10 + (uint64_t)(*s - '0') > (UINT64_C(1) << 63)) {
                    full = true;
                    continue;
                }
                frac = frac * 10 + (uint64_t)(*s - '0');
                scale *= 10;
            }
        }
        if ((nw == 0 && nf == 0) || overflow)
            return -1;
        /* The unit is the run up to the next number, as in Go: "5mx" is an
         * unknown unit, not 5 minutes and junk. */
        size_t len = strcspn(s, "0123456789."), i;
        for (i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].name) == len && strncmp(s, units[i].name, len) == 0)
                break;
        if (i == sizeof units / sizeof units[0])
            return -1;
        s += len;
        uint64_t unit = (uint64_t)units[i].ns;
        if (whole > (UINT64_C(1) << 63) / unit)
            return -1;
        uint64_t v = whole * unit;
        /* In double, exactly as Go computes it, so that every input means
         * the same number of nanoseconds here as in kubectl. */
        if (frac > 0)
            v += (uint64_t)((double)frac * ((double)unit / scale));
        total += v;
        if (v > (UINT64_C(1) << 63) || total > (UINT64_C(1) << 63))
            return -1;
    }
    if (!neg && total > (uint64_t)INT64_MAX)
        return -1;
    *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
    return 0;
}

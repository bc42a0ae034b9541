#include "months.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

month_t month_of(time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

time_t month_start(month_t m)
{
    struct tm tm = {0};
    tm.tm_year = m / 12 - 1900;
    tm.tm_mon = m % 12;
    tm.tm_mday = 1;
    return timegm(&tm);
}

void month_suffix(month_t m, char out[16])
{
    snprintf(out, 16, "%04d_%02d", (m / 12) % 10000, m % 12 + 1);
}

bool month_from_partition_name(const char *name, month_t *out)
{
    size_t n = strlen(name);
    int y, mo;
    char tail;
    if (n < 9 || sscanf(name + n - 9, "_p%4d_%2d%c", &y, &mo, &tail) != 2)
        return false;
    for (size_t i = n - 7; i < n; i++)
        if (i != n - 3 && !isdigit((unsigned char)name[i]))
            return false;
    if (mo < 1 || mo > 12)
        return false;
    *out = y * 12 + mo - 1;
    return true;
}

void month_literal(month_t m, char out[32])
{
    snprintf(out, 32, "%04d-%02d-01 00:00:00+00", (m / 12) % 10000, m % 12 + 1);
}

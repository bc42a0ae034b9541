#include "rfc3339.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The number in the n digits at s, or -1 when any of them is not a digit
 * (sscanf's %d would also take spaces and signs). */
static int fixed_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Strict, because PostgreSQL reads the same text again when the events are
 * inserted: a date that does not exist (February 31), year 0 or an offset
 * past PostgreSQL's +-15:59 would be refused there, a 500 instead of a 400. */
bool rfc3339_parse(const char *s, time_t *out)
{
    if (strnlen(s, 20) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return false;
    struct tm tm = {0};
    tm.tm_year = fixed_digits(s, 4);
    tm.tm_mon = fixed_digits(s + 5, 2);
    tm.tm_mday = fixed_digits(s + 8, 2);
    tm.tm_hour = fixed_digits(s + 11, 2);
    tm.tm_min = fixed_digits(s + 14, 2);
    tm.tm_sec = fixed_digits(s + 17, 2);
    if (tm.tm_year < 1 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > days_in_month(tm.tm_year, tm.tm_mon) || tm.tm_hour < 0 || tm.tm_hour > 23 ||
        tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int h = fixed_digits(p + 1, 2), mi = h < 0 || p[3] != ':' ? -1 : fixed_digits(p + 4, 2);
        if (h < 0 || h > 15 || mi < 0 || mi > 59)
            return false;
        offset = (*p == '-' ? -1 : 1) * (h * 3600L + mi * 60L);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm) - offset;
    return true;
}

void rfc3339_format(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    /* Not strftime's %Y, which writes year 315 as "315". Twenty characters
     * for years 1 to 9999, which is all RFC 3339 has. */
    char text[80];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(out, 32, "%.31s", text);
}

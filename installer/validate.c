#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

bool validate_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i < n - 1))
            return false;
    }
    return true;
}

bool validate_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    bool ok = true;
    char *copy = xstrdup(s);
    char *save = NULL;
    size_t labels = 0;
    for (char *label = strtok_r(copy, ".", &save); label && ok; label = strtok_r(NULL, ".", &save)) {
        ok = validate_dns_label(label);
        labels++;
    }
    /* strtok_r skips empty labels: "a..b" and ".a" must still fail. */
    ok = ok && s[0] != '.' && s[n - 1] != '.' && !strstr(s, "..") && labels > 0;
    free(copy);
    return ok;
}

/* The distribution reference grammar (what docker and containerd accept),
 * written as one POSIX extended regex. */
#define ALNUM_LABEL "([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#define DOMAIN "(" ALNUM_LABEL "(\\." ALNUM_LABEL ")*|\\[[0-9a-fA-F:]+\\])(:[0-9]+)?"
#define COMPONENT "[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
#define TAG "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
#define DIGEST "[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
#define IMAGE_RE "^(" DOMAIN "/)?" COMPONENT "(/" COMPONENT ")*(:" TAG ")?(@" DIGEST ")?$"

bool validate_image(const char *s)
{
    if (strlen(s) > 512)
        return false;
    regex_t re;
    if (regcomp(&re, IMAGE_RE, REG_EXTENDED | REG_NOSUB) != 0)
        abort(); /* the pattern is a constant: failing to compile is a bug */
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

const char *validate_default_pull_policy(const char *image)
{
    /* The tag is after the last ':' that follows the last '/' (a registry
     * port comes before a '/'); a digest pins the image whatever the tag. */
    if (strchr(image, '@'))
        return "IfNotPresent";
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    if (!colon || strcmp(colon + 1, "latest") == 0)
        return "Always";
    return "IfNotPresent";
}

typedef struct {
    const char *suffix;
    unsigned base;  /* 1024 or 1000 */
    unsigned power; /* base^power bytes */
} size_unit;

static const size_unit units[] = {
    {"Ki", 1024, 1}, {"Mi", 1024, 2}, {"Gi", 1024, 3}, {"Ti", 1024, 4}, {"Pi", 1024, 5},
    {"Ei", 1024, 6}, {"k", 1000, 1},  {"M", 1000, 2},  {"G", 1000, 3},  {"T", 1000, 4},
    {"P", 1000, 5},  {"E", 1000, 6},
};

char *validate_size(const char *s)
{
    if (!isdigit((unsigned char)s[0]))
        return NULL;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno || n == 0)
        return NULL;
    const size_unit *unit = NULL;
    for (size_t i = 0; *end && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].suffix) == 0)
            unit = &units[i];
    if (*end && !unit)
        return NULL;

    /* Move to the largest unit of the same family that divides evenly, as the
     * API server does when it stores the quantity; a bare number is a
     * decimal quantity there. */
    unsigned power = unit ? unit->power : 0;
    unsigned base = unit ? unit->base : 1000;
    while (power < 6 && n % base == 0) {
        n /= base;
        power++;
    }
    const char *suffix = "";
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (units[i].base == base && units[i].power == power)
            suffix = units[i].suffix;
    char out[48];
    snprintf(out, sizeof out, "%llu%s", n, suffix);
    return xstrdup(out);
}

#include "listen_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int listen_addr_parse(const char *addr, const char *name, const char *example,
                      struct sockaddr_storage *ss, exo_err *err)
{
    const char *colon = strrchr(addr, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || end == colon + 1 || *end || port < 0 || port > 65535)
        return err_set(err, "%s\"%s\": want [host]:port, e.g. %s", name, addr, example);
    memset(ss, 0, sizeof *ss);
    size_t hlen = (size_t)(colon - addr);
    char host[64]; /* the longest IP literal is 47 with its brackets */
    if (hlen >= sizeof host)
        return err_set(err, "%s\"%s\": host too long", name, addr);
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        host[hlen - 1] = '\0';
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return err_set(err, "%s\"%s\": not an IPv6 address", name, addr);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (hlen == 0)
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return err_set(err, "%s\"%s\": want an IP address before the port", name, addr);
    return 0;
}

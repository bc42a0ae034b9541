#include "support_bundle_tar.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#define BLOCK 512

/* The ustar header's fields, at their offsets (POSIX.1-1988). */
enum {
    NAME = 0, MODE = 100, UID = 108, GID = 116, SIZE = 124, MTIME = 136, CHKSUM = 148,
    TYPEFLAG = 156, MAGIC = 257, VERSION = 263, UNAME = 265, GNAME = 297, PREFIX = 345,
};

/* Octal, zero-padded to width - 1 digits and a NUL, as ustar wants. */
static void octal(unsigned char *field, size_t width, unsigned long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%0*llo", (int)(width - 1), v);
    memcpy(field, tmp, width - 1);
    field[width - 1] = '\0';
}

static bool unsafe_name(const char *name)
{
    if (!*name || name[0] == '/')
        return true;
    for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == name || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return true;
    return false;
}

int support_bundle_tar_add(buf *tar, const char *name, const void *data, size_t len,
                           time_t mtime, exo_err *err)
{
    if (unsafe_name(name))
        return err_set(err, "archive member \"%s\": not a relative path", name);
    size_t n = strlen(name);
    const char *base = name;
    size_t prefix_len = 0;
    if (n > 100) {
        /* The last '/' that leaves at most 100 bytes after it and 155 before. */
        const char *split = NULL;
        for (const char *p = name; (p = strchr(p, '/')) != NULL; p++)
            if ((size_t)(p - name) <= 155 && n - (size_t)(p - name) - 1 <= 100 && p[1])
                split = p;
        if (!split)
            return err_set(err, "archive member \"%s\": name too long for ustar", name);
        prefix_len = (size_t)(split - name);
        base = split + 1;
    }
    unsigned char h[BLOCK] = {0};
    memcpy(h + NAME, base, strlen(base));
    memcpy(h + PREFIX, name, prefix_len);
    octal(h + MODE, 8, 0644);
    octal(h + UID, 8, 0);
    octal(h + GID, 8, 0);
    octal(h + SIZE, 12, len);
    octal(h + MTIME, 12, mtime > 0 ? (unsigned long long)mtime : 0);
    h[TYPEFLAG] = '0';
    memcpy(h + MAGIC, "ustar", 6);
    memcpy(h + VERSION, "00", 2);
    memcpy(h + UNAME, "root", 4);
    memcpy(h + GNAME, "root", 4);
    /* The checksum is taken with its own field as eight spaces. */
    memset(h + CHKSUM, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += h[i];
    char chk[8];
    snprintf(chk, sizeof chk, "%06o", sum);
    memcpy(h + CHKSUM, chk, 7); /* six digits and a NUL; the space stays */
    buf_append(tar, h, BLOCK);
    buf_append(tar, data, len);
    static const unsigned char zeros[BLOCK];
    if (len % BLOCK)
        buf_append(tar, zeros, BLOCK - len % BLOCK);
    return 0;
}

void support_bundle_tar_finish(buf *tar)
{
    static const unsigned char zeros[2 * BLOCK];
    buf_append(tar, zeros, sizeof zeros);
}

int support_bundle_gzip(buf *out, const void *data, size_t len, exo_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: a gzip wrapper instead of zlib's own. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return err_set(err, "zlib: cannot start compressing");
    z.next_in = (Bytef *)data;
    int rc;
    unsigned char chunk[65536];
    size_t left = len;
    do {
        /* avail_in is 32 bits: feed at most 1 GiB at a time. */
        if (z.avail_in == 0 && left) {
            uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
            z.avail_in = take;
            left -= take;
        }
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = deflate(&z, left || z.avail_in ? Z_NO_FLUSH : Z_FINISH);
        if (rc == Z_STREAM_ERROR) {
            deflateEnd(&z);
            return err_set(err, "zlib: compression failed");
        }
        buf_append(out, chunk, sizeof chunk - z.avail_out);
    } while (rc != Z_STREAM_END);
    deflateEnd(&z);
    return 0;
}

/* The archive of `exo-install support-bundle`: a POSIX ustar stream of
 * regular files built in memory, then gzip-compressed with zlib. Small on
 * purpose (no links, devices or pax headers): what the bundle writes is a
 * few dozen text files with short names. libarchive is not a dependency of
 * the project; zlib is (libcurl and OpenSSL already load it). */
#ifndef EXO_SUPPORT_BUNDLE_TAR_H
#define EXO_SUPPORT_BUNDLE_TAR_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "err.h"

/* Appends one regular file (mode 0644, owner 0:0) to the tar stream in
 * tar. A name longer than ustar's 100 bytes is split at a '/' into its
 * 155-byte prefix; a name that cannot be split, or that is empty, absolute
 * or holds "..", is refused with -1 naming it. */
int support_bundle_tar_add(buf *tar, const char *name, const void *data, size_t len,
                           time_t mtime, exo_err *err);

/* Ends the stream: two zero blocks, as tar readers expect. */
void support_bundle_tar_finish(buf *tar);

/* gzip of data (RFC 1952, zlib's deflate at its default level) into out. */
int support_bundle_gzip(buf *out, const void *data, size_t len, exo_err *err);

#endif

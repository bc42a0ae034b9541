/* The asciicast validator (v2 and v3): judges a recording that arrives in
 * chunks cut anywhere (inside a line or a UTF-8 sequence), line by line as
 * the lines complete, without a file or a socket. The recording store
 * (casts.h) runs every upload through one; so does the fuzz harness.
 *
 * What it accepts: line 1 a header object (v2: "version" 2, positive integer
 * "width" and "height"; v3: "version" 3, "term" with positive integer "cols"
 * and "rows"); then event arrays [time, code, data] with a number >= 0 (v2
 * times never go back; v3 intervals may), a one-letter code (o i m r, and x
 * in v3), string data, "COLSxROWS" for r; blank lines, and in v3 `#`
 * comments. Every line strict UTF-8 without raw control characters but tab
 * and CR, at most CAST_VALIDATE_MAX_LINE bytes. A refusal's message starts
 * with the line it names ("line N: what is wrong", or "line N is longer than
 * 1 MiB"), counted from 1.
 *
 * Common event lines take a one-pass check without a cJSON tree; it only
 * ever accepts what the full check (cJSON) accepts, and the full check words
 * every refusal, so the verdict never depends on the path or the chunking.
 *
 * Memory is bounded: a validator holds at most one partial line of at most
 * CAST_VALIDATE_MAX_LINE bytes. */
#ifndef EXO_CAST_VALIDATE_H
#define EXO_CAST_VALIDATE_H

#include <stddef.h>

#include "err.h"

/* The longest line accepted, newline excluded. */
#define CAST_VALIDATE_MAX_LINE (1024 * 1024)

typedef struct cast_validator cast_validator;

/* A validator at the start of a recording, owned by the caller, who frees
 * it with cast_validate_free(). Never NULL (out of memory aborts). */
cast_validator *cast_validate_new(void);

/* Judges len more bytes (len 0 is fine): every line they complete is
 * checked, and the bytes after the last newline are kept for the next call.
 * Returns 0, or -1 with the first bad line in err. After a refusal the
 * validator has no more to say: the caller stops feeding it. */
int cast_validate_feed(cast_validator *v, const void *data, size_t len, exo_err *err);

/* The end of the recording: a final line without a newline must be valid
 * too, and the header is required. Returns 0, or -1 with the line in err
 * ("line 1: the recording is empty; ..." when there was no header). */
int cast_validate_finish(cast_validator *v, exo_err *err);

/* NULL is accepted. */
void cast_validate_free(cast_validator *v);

#endif

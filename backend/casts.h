/* Session recordings (asciicast v2 and v3) as files in the storage
 * directory (EXO_CAST_STORAGE_DIR): `<id>.cast` for a session id.
 *
 * An upload streams into a temporary file `.<id>.cast.<random>.tmp` in the
 * same directory, judged line by line as the chunks arrive (by the asciicast
 * validator of cast_validate.h, before any of a chunk is written), and is
 * renamed over `<id>.cast` only when complete and fsynced. So the final file
 * is always the old complete recording or the new complete one; a crash
 * leaves at most a temporary, which casts_sweep_temporaries() removes.
 *
 * File names are built only from the decimal form of a positive session id
 * and an absolute directory, so no identifier can name a path outside it.
 * Memory is bounded: beside its paths, a writer holds only its validator's
 * partial line, at most CAST_VALIDATE_MAX_LINE bytes. */
#ifndef EXO_CASTS_H
#define EXO_CASTS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* casts_write(): the body grew past max_bytes (HTTP 413). */
#define CASTS_TOO_LARGE (-2)
/* casts_open_read(): no recording for that session (HTTP 404). */
#define CASTS_NOT_FOUND (-3)

typedef struct casts_writer casts_writer;

/* Sets *out to the path of the recording of session_id (whether or not it
 * exists). -1 when the id is not positive or dir is not absolute. */
int casts_path(buf *out, const char *dir, int64_t session_id, exo_err *err);

/* Starts an upload of at most max_bytes (> 0) body bytes: creates the
 * temporary file (O_EXCL, mode 0600). *out is owned by the caller and must
 * end in exactly one casts_commit() or casts_abort(). */
int casts_open_writer(casts_writer **out, const char *dir, int64_t session_id, int64_t max_bytes,
                      exo_err *err);

/* Appends len bytes of the body, cut anywhere (inside a line or a UTF-8
 * sequence), and validates every line they complete. Returns 0;
 * CASTS_TOO_LARGE when the body would exceed max_bytes (nothing of this chunk
 * is written); -1 for invalid content ("line N: what is wrong") or an I/O
 * error. After any failure the writer only accepts casts_abort(). */
int casts_write(casts_writer *w, const void *data, size_t len, exo_err *err);

/* Ends the upload: validates the end (a final line without a newline must be
 * valid too; at least the header is required), fsyncs, renames over
 * `<id>.cast`, fsyncs the directory. Frees w whether or not it succeeds; on
 * failure the temporary file is removed and any old recording is kept. */
int casts_commit(casts_writer *w, exo_err *err);

/* Drops an upload (refused, client gone): removes the temporary file and
 * frees w. NULL is accepted. */
void casts_abort(casts_writer *w);

/* Opens the recording for reading (GET): *fd (O_RDONLY, close-on-exec,
 * owned by the caller, who closes it) and its size in bytes. The file seen
 * through *fd stays complete even if a new upload replaces it meanwhile.
 * CASTS_NOT_FOUND when there is none; -1 on other errors. */
int casts_open_read(int *fd, int64_t *size, const char *dir, int64_t session_id, exo_err *err);

/* Deletes the recording of a session (retention). One that does not exist
 * is not an error. */
int casts_remove(const char *dir, int64_t session_id, exo_err *err);

/* Removes temporary files left by a crash that were last modified at least
 * min_age_seconds ago, and sets *removed to how many. Called at startup; 0
 * removes them all, which is right when this process is the only writer of
 * dir. Replicas sharing the volume (ReadWriteMany) should pass more than the
 * HTTP connection timeout, so that they do not remove each other's live
 * uploads (a live upload touches its file with every chunk). */
int casts_sweep_temporaries(int *removed, const char *dir, int64_t min_age_seconds, exo_err *err);

/* Body bytes written to temporary files since start, by all writers, for
 * /metrics. Safe from any thread. */
uint64_t casts_bytes_written(void);

#endif

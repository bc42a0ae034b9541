/* The one error record. Functions that can fail return int (0 on success,
 * negative on failure) and fill an exo_err with a message that names what
 * failed. Messages never hold secrets: redact where the message is made. */
#ifndef EXO_ERR_H
#define EXO_ERR_H

typedef struct {
    char *msg;         /* owned; NULL when no error has been set */
    int http_status;   /* for API calls; 0 otherwise */
    char *reason;      /* Kubernetes Status reason, owned, may be NULL */
    long retry_after;  /* seconds from Retry-After, -1 when absent */
} exo_err;

#define EXO_ERR_INIT {NULL, 0, NULL, -1}

/* Replaces any earlier message; returns -1 so callers can `return err_set(...)`. */
int err_set(exo_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to the current message (context as the error rises). */
int err_prefix(exo_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message, or "unknown error" when none was set; borrowed. */
const char *err_msg(const exo_err *e);
void err_clear(exo_err *e);

#endif

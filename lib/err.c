#include "err.h"

#include <stdarg.h>
#include <stdlib.h>

#include "buf.h"

int err_set(exo_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(e->msg);
    e->msg = buf_detach(&b);
    return -1;
}

int err_prefix(exo_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_puts(&b, ": ");
    buf_puts(&b, e->msg ? e->msg : "unknown error");
    free(e->msg);
    e->msg = buf_detach(&b);
    return -1;
}

const char *err_msg(const exo_err *e)
{
    return e && e->msg ? e->msg : "unknown error";
}

void err_clear(exo_err *e)
{
    if (!e)
        return;
    free(e->msg);
    free(e->reason);
    e->msg = NULL;
    e->reason = NULL;
    e->http_status = 0;
    e->retry_after = -1;
}

#include "progress.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

static const char frames[] = "|/-\\";

void progress_init(progress *p, FILE *out)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    /* TERM=dumb: editors' and CI's pseudo-terminals that do not move the cursor. */
    const char *term = getenv("TERM");
    p->tty = isatty(fileno(out)) && !(term && strcmp(term, "dumb") == 0);
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

void progress_free(progress *p)
{
    if (p->spinner_shown) {
        fputs("\r\033[K", p->out);
        fflush(p->out); /* before a message on stderr */
        p->spinner_shown = false;
    }
    free(p->last_wait);
    p->last_wait = NULL;
    free(p->spin_line);
    p->spin_line = NULL;
}

double progress_elapsed(const progress *p)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - p->start.tv_sec) + (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
}

static void clear_spinner(progress *p)
{
    if (p->spinner_shown) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->spinner_shown = false;
    }
}

void progress_step(progress *p, const char *fmt, ...)
{
    clear_spinner(p);
    va_list ap;
    va_start(ap, fmt);
    fprintf(p->out, "[%6.1fs] ", progress_elapsed(p));
    vfprintf(p->out, fmt, ap);
    fputc('\n', p->out);
    va_end(ap);
    fflush(p->out);
    free(p->last_wait);
    p->last_wait = NULL;
}

void progress_waiting(progress *p, const char *what, const char *why)
{
    if (p->tty) {
        fprintf(p->out, "\r\033[K[%6.1fs] %c %s: %s", progress_elapsed(p), frames[p->spin++ % 4],
                what, why);
        fflush(p->out);
        p->spinner_shown = true;
        buf line = BUF_INIT;
        buf_printf(&line, "%s: %s", what, why);
        free(p->spin_line);
        p->spin_line = buf_detach(&line);
        return;
    }
    buf line = BUF_INIT;
    buf_printf(&line, "%s: %s", what, why);
    if (!p->last_wait || strcmp(p->last_wait, line.ptr) != 0) {
        fprintf(p->out, "[%6.1fs]   waiting for %s\n", progress_elapsed(p), line.ptr);
        fflush(p->out);
        free(p->last_wait);
        p->last_wait = buf_detach(&line);
    }
    buf_free(&line);
}

void progress_sleep(progress *p, long ms)
{
    while (ms > 0) {
        long step = p->tty && p->spinner_shown && ms > 100 ? 100 : ms;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
        if (p->tty && p->spinner_shown && p->spin_line && ms > 0) {
                fprintf(p->out, "\r\033[K[%6.1fs] %c %s", progress_elapsed(p), frames[p->spin++ % 4],
                    p->spin_line);
            fflush(p->out);
        }
    }
}

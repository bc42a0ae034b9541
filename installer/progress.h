/* Progress of a long command: one line per finished step with the elapsed
 * time; while waiting, a spinner line rewritten in place on a terminal, and
 * in CI (not a terminal) a plain line only when what is awaited changes. */
#ifndef EXO_PROGRESS_H
#define EXO_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

typedef struct {
    FILE *out;
    bool tty;
    struct timespec start;
    unsigned spin;
    bool spinner_shown;
    char *last_wait; /* the last waiting line printed without a terminal */
    char *spin_line; /* what the spinner shows, to redraw it while sleeping */
} progress;

void progress_init(progress *p, FILE *out);
void progress_free(progress *p);

/* Seconds since progress_init. */
double progress_elapsed(const progress *p);

/* "[  12.3s] TEXT" on its own line. */
void progress_step(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Waiting for something: "what" stays, "why" is its current state. */
void progress_waiting(progress *p, const char *what, const char *why);

/* Sleeps ms; on a terminal the spinner keeps turning meanwhile. */
void progress_sleep(progress *p, long ms);

#endif

#include "queue.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Both sets are small (one entry per ExoControlPlane), so plain arrays with
 * linear search beat the bookkeeping of a heap plus a hash table; 500 keys
 * cost microseconds per operation. */
typedef struct {
    char *key;
    long due_ms;
} waiting;

typedef struct {
    char *key;
    int failures;
} failing;

struct queue {
    long base_ms, max_ms;
    waiting *w;
    size_t nw, capw;
    failing *f;
    size_t nf, capf;
};

queue *queue_new(long base_ms, long max_ms)
{
    queue *q = xcalloc(1, sizeof *q);
    q->base_ms = base_ms > 0 ? base_ms : 1;
    q->max_ms = max_ms >= q->base_ms ? max_ms : q->base_ms;
    return q;
}

void queue_free(queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->nw; i++)
        free(q->w[i].key);
    for (size_t i = 0; i < q->nf; i++)
        free(q->f[i].key);
    free(q->w);
    free(q->f);
    free(q);
}

static waiting *find_waiting(const queue *q, const char *key)
{
    for (size_t i = 0; i < q->nw; i++)
        if (strcmp(q->w[i].key, key) == 0)
            return &q->w[i];
    return NULL;
}

static failing *find_failing(const queue *q, const char *key)
{
    for (size_t i = 0; i < q->nf; i++)
        if (strcmp(q->f[i].key, key) == 0)
            return &q->f[i];
    return NULL;
}

void queue_add_after(queue *q, const char *key, long now_ms, long delay_ms)
{
    long due = now_ms + (delay_ms > 0 ? delay_ms : 0);
    waiting *w = find_waiting(q, key);
    if (w) {
        if (due < w->due_ms)
            w->due_ms = due;
        return;
    }
    if (q->nw == q->capw) {
        q->capw = q->capw ? q->capw * 2 : 16;
        q->w = xrealloc(q->w, q->capw * sizeof *q->w);
    }
    q->w[q->nw++] = (waiting){xstrdup(key), due};
}

void queue_add(queue *q, const char *key, long now_ms)
{
    queue_add_after(q, key, now_ms, 0);
}

long queue_add_backoff(queue *q, const char *key, long now_ms)
{
    failing *f = find_failing(q, key);
    if (!f) {
        if (q->nf == q->capf) {
            q->capf = q->capf ? q->capf * 2 : 16;
            q->f = xrealloc(q->f, q->capf * sizeof *q->f);
        }
        f = &q->f[q->nf++];
        *f = (failing){xstrdup(key), 0};
    }
    long delay = q->base_ms;
    for (int i = 0; i < f->failures && delay < q->max_ms; i++)
        delay *= 2;
    if (delay > q->max_ms)
        delay = q->max_ms;
    f->failures++;
    queue_add_after(q, key, now_ms, delay);
    return delay;
}

void queue_forget(queue *q, const char *key)
{
    failing *f = find_failing(q, key);
    if (!f)
        return;
    free(f->key);
    *f = q->f[--q->nf];
}

int queue_failures(const queue *q, const char *key)
{
    const failing *f = find_failing(q, key);
    return f ? f->failures : 0;
}

char *queue_pop(queue *q, long now_ms)
{
    size_t best = q->nw;
    for (size_t i = 0; i < q->nw; i++)
        if (q->w[i].due_ms <= now_ms && (best == q->nw || q->w[i].due_ms < q->w[best].due_ms))
            best = i;
    if (best == q->nw)
        return NULL;
    char *key = q->w[best].key;
    /* Keep arrival order among equal due times: shift rather than swap. */
    memmove(&q->w[best], &q->w[best + 1], (q->nw - best - 1) * sizeof *q->w);
    q->nw--;
    return key;
}

long queue_next_due(const queue *q, long now_ms)
{
    if (q->nw == 0)
        return -1;
    long min = q->w[0].due_ms;
    for (size_t i = 1; i < q->nw; i++)
        if (q->w[i].due_ms < min)
            min = q->w[i].due_ms;
    return min <= now_ms ? 0 : min - now_ms;
}

size_t queue_len(const queue *q)
{
    return q->nw;
}

/* The work queue: keys ("namespace/name") waiting to be reconciled.
 *
 * De-duplicating: a key is in the queue at most once; adding a key already
 * waiting keeps the earlier of the two due times, so a burst of events for
 * one object costs one reconcile. Rate-limited: queue_add_backoff delays a
 * key by base * 2^failures (capped), counting failures per key until
 * queue_forget, as client-go's per-item exponential limiter does.
 *
 * Time is passed in (milliseconds of a monotonic clock), so tests drive it.
 * Not thread-safe: the controller's one loop owns it. */
#ifndef EXO_CTL_QUEUE_H
#define EXO_CTL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct queue queue;

/* base_ms: first backoff delay; max_ms: its cap. *out is owned by the caller
 * (queue_free). */
queue *queue_new(long base_ms, long max_ms);
void queue_free(queue *q);

/* Due at now_ms + delay_ms, or earlier if the key already waits. */
void queue_add_after(queue *q, const char *key, long now_ms, long delay_ms);
/* Due now. */
void queue_add(queue *q, const char *key, long now_ms);
/* Due after this key's backoff, which then doubles. Returns the delay. */
long queue_add_backoff(queue *q, const char *key, long now_ms);
/* The key succeeded: its backoff starts again from base. */
void queue_forget(queue *q, const char *key);
/* How many failures the key has had since the last forget. */
int queue_failures(const queue *q, const char *key);

/* Takes the key due earliest if it is due at now_ms: returns it (caller
 * frees) and removes it from the queue; NULL when none is due. */
char *queue_pop(queue *q, long now_ms);
/* Milliseconds until the next key is due (0 when one is), -1 when empty. */
long queue_next_due(const queue *q, long now_ms);
/* Keys waiting, due or not. */
size_t queue_len(const queue *q);

#endif

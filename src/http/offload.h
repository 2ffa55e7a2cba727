/* The offload pool: the threads that run the handlers that may wait (on
 * PostgreSQL, or on long work such as a list page), so that libmicrohttpd's
 * own threads never do. libmicrohttpd serves each connection on one of its
 * threads, and a thread busy in a handler holds every connection it serves:
 * a /healthz that shares a thread with a POST waiting on a hung database
 * would wait with it. A route whose `offload` predicate says so has its
 * connection suspended (MHD_suspend_connection), its handler run here, and
 * its answer queued when the connection is resumed (router.c).
 * The queue is bounded: a request that finds it full is answered 503 at
 * once by the caller. */
#ifndef LTVD_HTTP_OFFLOAD_H
#define LTVD_HTTP_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct offload offload;

/* A job: fn(arg) on one of the pool's threads. */
typedef void (*offload_fn)(void *arg);

/* Starts n_threads threads (>= 1) and a queue of up to queue_max jobs
 * waiting for one. Returns the pool, or NULL when it cannot start. */
offload *offload_start(size_t n_threads, size_t queue_max);

/* Queues fn(arg); false (nothing queued) when the queue is full or the pool
 * is stopping. Never waits. */
bool offload_submit(offload *p, offload_fn fn, void *arg);

/* Jobs queued or running now. */
size_t offload_busy(offload *p);

/* Refuses new jobs (offload_submit returns false from now on), runs every
 * job already queued, waits for them all and joins the threads. The pool
 * stays valid until offload_free, so callers that may still submit (the
 * HTTP threads, until the daemon stops) meet a refusal, not freed memory.
 * NULL is fine. */
void offload_drain(offload *p);

/* Frees a pool; drains it first if need be. NULL is fine. */
void offload_free(offload *p);

/* offload_drain then offload_free. */
void offload_stop(offload *p);

#endif

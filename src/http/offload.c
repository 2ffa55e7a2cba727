/* The offload pool (see offload.h): a ring of jobs under one mutex, and
 * threads that take them in order. */
#include "http/offload.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct job {
    offload_fn fn;
    void *arg;
} job;

struct offload {
    pthread_mutex_t mu;
    pthread_cond_t ready; /* a job was queued, or stopping */
    job *ring;
    size_t cap, head, n; /* queued jobs: ring[head .. head+n) mod cap */
    size_t running;
    bool stopping;
    size_t n_threads;
    pthread_t *threads;
};

static void *offload_main(void *arg)
{
    offload *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->n == 0 && !p->stopping)
            pthread_cond_wait(&p->ready, &p->mu);
        if (p->n == 0)
            break; /* stopping, and nothing left to run */
        job j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

offload *offload_start(size_t n_threads, size_t queue_max)
{
    if (n_threads == 0 || queue_max == 0)
        return NULL;
    offload *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->ring = calloc(queue_max, sizeof *p->ring);
    p->threads = calloc(n_threads, sizeof *p->threads);
    if (p->ring == NULL || p->threads == NULL)
        goto failed;
    p->cap = queue_max;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->ready, NULL);
    for (; p->n_threads < n_threads; p->n_threads++)
        if (pthread_create(&p->threads[p->n_threads], NULL, offload_main, p) != 0)
            break;
    if (p->n_threads == n_threads)
        return p;
    offload_stop(p); /* joins the threads that did start */
    return NULL;
failed:
    free(p->ring);
    free(p->threads);
    free(p);
    return NULL;
}

bool offload_submit(offload *p, offload_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    bool ok = !p->stopping && p->n < p->cap;
    if (ok) {
        p->ring[(p->head + p->n) % p->cap] = (job){fn, arg};
        p->n++;
        pthread_cond_signal(&p->ready);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

size_t offload_busy(offload *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->n + p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void offload_drain(offload *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    p->n_threads = 0; /* joined: a second drain joins nothing */
}

void offload_free(offload *p)
{
    if (p == NULL)
        return;
    offload_drain(p);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->mu);
    free(p->ring);
    free(p->threads);
    free(p);
}

void offload_stop(offload *p)
{
    offload_free(p);
}

/* A fixed-size connection pool: a stack of free connections under a mutex,
 * threads wait on a condition variable when it is empty. */
#include "store/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"

struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    store_db **all;  /* every connection, for closing */
    store_db **free; /* stack of free connections */
    size_t size, n_free;
};

store_pool *store_pool_open(const char *url, size_t size, const store_db_limits *lim,
                            char err[STORE_ERR_MAX])
{
    store_pool *p = calloc(1, sizeof *p);
    if (p == NULL || size == 0 || (p->all = calloc(size, sizeof *p->all)) == NULL ||
        (p->free = calloc(size, sizeof *p->free)) == NULL) {
        snprintf(err, STORE_ERR_MAX, size == 0 ? "pool: size 0" : "pool: out of memory");
        goto failed;
    }
    for (; p->size < size; p->size++) {
        if ((p->all[p->size] = store_db_open_limited(url, lim, err)) == NULL)
            goto failed;
        p->free[p->n_free++] = p->all[p->size];
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca; /* waits on the monotonic clock: a step of the
                            * wall clock does not stretch them */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &ca);
    pthread_condattr_destroy(&ca);
    return p;
failed:
    if (p != NULL) {
        for (size_t i = 0; i < p->size; i++)
            store_db_close(p->all[i]);
        free(p->all);
        free(p->free);
        free(p);
    }
    return NULL;
}

void store_pool_close(store_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->size; i++)
        store_db_close(p->all[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->all);
    free(p->free);
    free(p);
}

store_db_limits store_pool_limits(const store_pool *p)
{
    return p->all[0]->lim; /* the same for every connection (size >= 1) */
}

store_db *store_pool_acquire(store_pool *p, long timeout_ms)
{
    struct timespec until = base_mono_after_ms(timeout_ms);
    store_db *db = NULL;
    pthread_mutex_lock(&p->lock);
    while (p->n_free == 0) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&p->freed, &p->lock)
                                : pthread_cond_timedwait(&p->freed, &p->lock, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    if (p->n_free > 0)
        db = p->free[--p->n_free];
    pthread_mutex_unlock(&p->lock);
    return db;
}

void store_pool_release(store_pool *p, store_db *db)
{
    store_db_set_deadline(db, 0);
    pthread_mutex_lock(&p->lock);
    p->free[p->n_free++] = db;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

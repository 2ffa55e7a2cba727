/* The ticker thread (base/ticker.h): a monotonic timed wait on a condition
 * variable, woken early by ticker_wake and for good by ticker_stop. */
#include "base/ticker.h"

#include "base/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct ticker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    ticker_fn fn;
    void *arg;
    long period_ms;
    long next_ms; /* delay before the first call */
    bool woken;   /* guarded by mu */
    atomic_bool stopping;
};

/* Waits up to ms or until woken or stopped; false when stopping. */
static bool wait_turn(ticker *t, long ms)
{
    struct timespec until = base_mono_after_ms(ms);
    pthread_mutex_lock(&t->mu);
    while (!t->woken && !atomic_load(&t->stopping) &&
           pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT) {
    }
    t->woken = false;
    pthread_mutex_unlock(&t->mu);
    return !atomic_load(&t->stopping);
}

static void *ticker_main(void *arg)
{
    ticker *t = arg;
    long delay = t->next_ms;
    while (wait_turn(t, delay)) {
        long next = t->fn(t->arg);
        delay = next < 0 ? t->period_ms : next;
    }
    return NULL;
}

ticker *ticker_start(long period_ms, long first_ms, ticker_fn fn, void *arg)
{
    if (period_ms <= 0 || fn == NULL)
        return NULL;
    ticker *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    pthread_condattr_t ca;
    bool attr = pthread_condattr_init(&ca) == 0;
    bool ok = attr && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&t->cv, &ca) == 0;
    if (attr)
        pthread_condattr_destroy(&ca);
    if (!ok)
        goto failed;
    pthread_mutex_init(&t->mu, NULL);
    t->fn = fn;
    t->arg = arg;
    t->period_ms = period_ms;
    t->next_ms = first_ms < 0 ? 0 : first_ms;
    atomic_init(&t->stopping, false);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        goto failed;
    }
    return t;
failed:
    free(t);
    return NULL;
}

void ticker_wake(ticker *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    t->woken = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

bool ticker_stopping(ticker *t)
{
    return t != NULL && atomic_load(&t->stopping);
}

void ticker_stop(ticker *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->stopping, true);
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

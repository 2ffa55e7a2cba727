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
    ticker_group *group; /* NULL: the thread below is its own */
    long long due_ms;    /* grouped: base_mono_ms of the next call (group->mu) */
    size_t pos;          /* grouped: its index in the group's heap (group->mu) */
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

/* ------------------------------------------------------------ groups */

struct ticker_group {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: the thread and ticker_stop wait */
    ticker **v;        /* the members: a binary min-heap on due_ms */
    size_t n, cap;
    ticker *running; /* whose fn runs now (mu released meanwhile) */
    bool stopping;
};

/* The heap (mu held): O(log n) a turn. A linear look for the member due
 * first cost O(members) a turn, O(members^2) a second: 10,000 tenants,
 * each with a worker and a list keeper looking once a second, took 67% of
 * a core at rest. */
static void put(ticker_group *g, size_t i, ticker *t)
{
    g->v[i] = t;
    t->pos = i;
}

static void sift_up(ticker_group *g, size_t i)
{
    ticker *t = g->v[i];
    while (i > 0 && g->v[(i - 1) / 2]->due_ms > t->due_ms) {
        put(g, i, g->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    put(g, i, t);
}

static void sift_down(ticker_group *g, size_t i)
{
    ticker *t = g->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g->n)
            break;
        if (c + 1 < g->n && g->v[c + 1]->due_ms < g->v[c]->due_ms)
            c++;
        if (g->v[c]->due_ms >= t->due_ms)
            break;
        put(g, i, g->v[c]);
        i = c;
    }
    put(g, i, t);
}

/* After a change of the due_ms of the member at i. */
static void fix(ticker_group *g, size_t i)
{
    ticker *t = g->v[i];
    sift_up(g, i);
    sift_down(g, t->pos);
}

/* The member due first, or NULL (mu held). */
static ticker *first_due(const ticker_group *g)
{
    return g->n > 0 ? g->v[0] : NULL;
}

static void *group_main(void *arg)
{
    ticker_group *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        ticker *t = first_due(g);
        long long now = base_mono_ms();
        if (t == NULL) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        if (t->due_ms > now) {
            struct timespec until = base_mono_after_ms((long)(t->due_ms - now));
            pthread_cond_timedwait(&g->cv, &g->mu, &until);
            continue;
        }
        g->running = t;
        t->woken = false;
        pthread_mutex_unlock(&g->mu);
        long next = t->fn(t->arg);
        pthread_mutex_lock(&g->mu);
        g->running = NULL;
        t->due_ms =
            t->woken ? base_mono_ms() : base_mono_ms() + (next < 0 ? t->period_ms : next);
        fix(g, t->pos);
        pthread_cond_broadcast(&g->cv); /* a ticker_stop waiting for this call */
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

ticker_group *ticker_group_start(void)
{
    ticker_group *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    pthread_condattr_t ca;
    bool attr = pthread_condattr_init(&ca) == 0;
    bool ok = attr && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&g->cv, &ca) == 0;
    if (attr)
        pthread_condattr_destroy(&ca);
    if (!ok) {
        free(g);
        return NULL;
    }
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->thread, NULL, group_main, g) != 0) {
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
        free(g);
        return NULL;
    }
    return g;
}

void ticker_group_stop(ticker_group *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->v);
    free(g);
}

ticker *ticker_start_in(ticker_group *g, long period_ms, long first_ms, ticker_fn fn,
                        void *arg)
{
    if (g == NULL)
        return ticker_start(period_ms, first_ms, fn, arg);
    if (period_ms <= 0 || fn == NULL)
        return NULL;
    ticker *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->group = g;
    t->fn = fn;
    t->arg = arg;
    t->period_ms = period_ms;
    atomic_init(&t->stopping, false);
    pthread_mutex_lock(&g->mu);
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        ticker **v = realloc(g->v, cap * sizeof *v);
        if (v == NULL) {
            pthread_mutex_unlock(&g->mu);
            free(t);
            return NULL;
        }
        g->v = v;
        g->cap = cap;
    }
    t->due_ms = base_mono_ms() + (first_ms < 0 ? 0 : first_ms);
    put(g, g->n++, t);
    sift_up(g, t->pos);
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return t;
}

/* ticker_stop of a grouped ticker: out of the group once its call ended. */
static void group_remove(ticker *t)
{
    ticker_group *g = t->group;
    pthread_mutex_lock(&g->mu);
    atomic_store(&t->stopping, true);
    while (g->running == t)
        pthread_cond_wait(&g->cv, &g->mu);
    size_t i = t->pos;
    ticker *last = g->v[--g->n];
    if (i < g->n) {
        put(g, i, last);
        fix(g, i);
    }
    pthread_mutex_unlock(&g->mu);
    free(t);
}

/* ------------------------------------------------------------ both */

void ticker_wake(ticker *t)
{
    if (t == NULL)
        return;
    if (t->group != NULL) {
        pthread_mutex_lock(&t->group->mu);
        t->woken = true;
        if (t->group->running != t) {
            t->due_ms = base_mono_ms();
            sift_up(t->group, t->pos);
        }
        pthread_cond_broadcast(&t->group->cv);
        pthread_mutex_unlock(&t->group->mu);
        return;
    }
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
    if (t->group != NULL) {
        group_remove(t);
        return;
    }
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->stopping, true);
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

/* A helper thread that fills the memo for a page's histories
 * (score_ahead.h). On Linux the helper is bound to the CPUs other than the
 * caller's (none: no helper): left to itself, the scheduler starts a new thread on its
 * creator's CPU, where the two share the CPU for milliseconds before one
 * is moved (measured on this project's 2-vCPU machines: a 6 ms job split
 * in two took 12 ms; bound, 8 ms with the helper running from 0.1 ms). */
#ifdef __linux__
#define _GNU_SOURCE /* sched_getcpu, pthread_attr_setaffinity_np */
#endif
#include "cache/score_ahead.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cache/score_memo.h"

struct cache_score_ahead {
    pthread_t thread;
    const cache_model *m;
    cache_scores_spec sp;
    atomic_size_t next; /* the first customer nobody has taken */
    atomic_bool stop;
    size_t n;
    cache_summary s[]; /* n of them */
};

/* Scores the next customer nobody has taken; false when none is left. */
static bool take_one(cache_score_ahead *a)
{
    size_t i = atomic_fetch_add(&a->next, 1);
    if (i >= a->n)
        return false;
    cache_score_row row;
    cache_score_memo_row(a->m, &a->sp, &a->s[i], &row);
    return true;
}

static void *run(void *arg)
{
    cache_score_ahead *a = arg;
    while (!atomic_load_explicit(&a->stop, memory_order_relaxed) && take_one(a))
        ;
    return NULL;
}

/* Binds the thread attr will start to the process's CPUs but the
 * caller's; false when there is no other (a helper would only share the
 * caller's CPU). Elsewhere than Linux, leaves attr as it is. */
static bool elsewhere(pthread_attr_t *attr)
{
#ifdef __linux__
    cpu_set_t set;
    int here = sched_getcpu();
    if (here < 0 || here >= CPU_SETSIZE || sched_getaffinity(0, sizeof set, &set) != 0)
        return true; /* unknown: unbound */
    CPU_CLR(here, &set);
    if (CPU_COUNT(&set) == 0)
        return false;
    pthread_attr_setaffinity_np(attr, sizeof set, &set);
#else
    (void)attr;
#endif
    return true;
}

cache_score_ahead *cache_score_ahead_start(const cache_model *m,
                                           const cache_scores_spec *sp,
                                           const cache_summary *const *s, size_t n)
{
    if (n == 0)
        return NULL;
    cache_score_ahead *a = malloc(sizeof *a + n * sizeof a->s[0]);
    if (a == NULL)
        return NULL;
    a->m = m;
    a->sp = *sp;
    a->n = n;
    atomic_init(&a->next, 0);
    atomic_init(&a->stop, false);
    for (size_t i = 0; i < n; i++)
        a->s[i] = *s[i];
    pthread_attr_t attr;
    bool attr_ok = pthread_attr_init(&attr) == 0;
    if (!attr_ok || !elsewhere(&attr) || pthread_create(&a->thread, &attr, run, a) != 0)
        goto fail;
    pthread_attr_destroy(&attr);
    return a;
fail:
    if (attr_ok)
        pthread_attr_destroy(&attr);
    free(a);
    return NULL;
}

bool cache_score_ahead_help(cache_score_ahead *a)
{
    return a != NULL && take_one(a);
}

void cache_score_ahead_end(cache_score_ahead *a)
{
    if (a == NULL)
        return;
    atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    free(a);
}

/* A helper thread that fills the memo for a page's histories
 * (score_ahead.h). */
#include "cache/score_ahead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cache/score_memo.h"

struct cache_score_ahead {
    pthread_t thread;
    const cache_model *m;
    cache_scores_spec sp;
    atomic_bool stop;
    size_t n;
    cache_summary s[]; /* n of them */
};

static void *run(void *arg)
{
    cache_score_ahead *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        if (atomic_load_explicit(&a->stop, memory_order_relaxed))
            break;
        cache_score_row row;
        cache_score_memo_row(a->m, &a->sp, &a->s[i], &row);
    }
    return NULL;
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
    atomic_init(&a->stop, false);
    for (size_t i = 0; i < n; i++)
        a->s[i] = *s[i];
    if (pthread_create(&a->thread, NULL, run, a) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

void cache_score_ahead_end(cache_score_ahead *a, bool finish)
{
    if (a == NULL)
        return;
    if (!finish)
        atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    free(a);
}

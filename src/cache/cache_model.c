/* The cache's model snapshot (immutable, reference counted, swapped whole)
 * and scoring a cached customer with it. */
#define _GNU_SOURCE /* PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP */
#include "cache/cache_model.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "model/gg.h"

/* A published snapshot with its reference count: one reference for being
 * current, one per reader holding it. */
typedef struct snap {
    atomic_uint refs;
    cache_model m;
} snap;

/* Reading the pointer and counting the reference must be one step: were the
 * pointer loaded, then the count bumped, the setter could drop the last
 * reference in between and the reader would bump freed memory. A lock-free
 * fix (hazard pointers, split counts) is not worth it for a few nanoseconds:
 * acquirers share the read side of a rwlock (they do not serialise with each
 * other), cache_snapshot_set takes the write side only to swap one pointer. */
struct cache_snap_holder {
    pthread_rwlock_t lock;
    snap *cur;
    uint64_t serial; /* of the last published snapshot, under lock */
};

/* Serials are unique in the process, not only per cache: what is memoized
 * by serial (score_memo.c) cannot be taken for another tenant's. */
static atomic_uint_fast64_t last_serial;

static void snap_unref(snap *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

cache_snap_holder *cache_snap_holder_new(void)
{
    cache_snap_holder *h = calloc(1, sizeof *h);
    pthread_rwlockattr_t a;
    if (h == NULL || pthread_rwlockattr_init(&a) != 0) {
        free(h);
        return NULL;
    }
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&h->lock, &a);
    pthread_rwlockattr_destroy(&a);
    if (rc != 0) {
        free(h);
        return NULL;
    }
    return h;
}

void cache_snap_holder_free(cache_snap_holder *h)
{
    if (h == NULL)
        return;
    snap_unref(h->cur);
    pthread_rwlock_destroy(&h->lock);
    free(h);
}

int cache_snapshot_set(cache *c, const cache_model *m)
{
    if (m == NULL || m->model == NULL || !(m->period_days > 0) ||
        !isfinite(m->period_days))
        return CACHE_EINVAL;
    snap *s = malloc(sizeof *s);
    if (s == NULL)
        return CACHE_ENOMEM;
    s->m = *m;
    atomic_init(&s->refs, 1);
    cache_snap_holder *h = cache_snap_holder_of(c);
    pthread_rwlock_wrlock(&h->lock);
    s->m.serial = h->serial = atomic_fetch_add(&last_serial, 1) + 1;
    snap *old = h->cur;
    h->cur = s;
    pthread_rwlock_unlock(&h->lock);
    snap_unref(old);
    return CACHE_OK;
}

const cache_model *cache_snapshot_acquire(cache *c)
{
    cache_snap_holder *h = cache_snap_holder_of(c);
    pthread_rwlock_rdlock(&h->lock);
    snap *s = h->cur;
    if (s != NULL)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_rwlock_unlock(&h->lock);
    return s == NULL ? NULL : &s->m;
}

void cache_snapshot_release(const cache_model *m)
{
    if (m != NULL)
        snap_unref((snap *)((char *)m - offsetof(snap, m)));
}

const cache_model *cache_snapshot_ref(const cache_model *m)
{
    if (m != NULL)
        atomic_fetch_add_explicit(&((snap *)((char *)m - offsetof(snap, m)))->refs, 1,
                                  memory_order_relaxed);
    return m;
}

/* ---------------------------------------------------------------- scoring */

static bool all_finite(const cache_score_result *r)
{
    return isfinite(r->x) && isfinite(r->t_x) && isfinite(r->T) && isfinite(r->m) &&
           isfinite(r->p_alive) && isfinite(r->expected) && isfinite(r->p_purchase) &&
           isfinite(r->expected_spend) && isfinite(r->clv);
}

/* The purchase model's numbers, then spend and CLV when there is a model. */
static int score_values(const cache_model *m, double horizon, double p_horizon,
                        const clv_options *clv, cache_score_result *r)
{
    const btyd_model *b = m->model;
    int rc = b->p_alive(m->params, r->x, r->t_x, r->T, &r->p_alive);
    if (rc == GSL_SUCCESS)
        rc = b->expected(m->params, r->x, r->t_x, r->T, horizon, &r->expected);
    if (rc == GSL_SUCCESS)
        rc = btyd_p_any(b, m->params, r->x, r->t_x, r->T, p_horizon, &r->p_purchase);
    if (rc != GSL_SUCCESS || !m->has_spend)
        return rc;
    rc = gg_expected_spend(m->gg_params, r->x, r->m, &r->expected_spend);
    if (rc == GSL_SUCCESS && clv != NULL)
        rc = clv_value(b, m->params, r->x, r->t_x, r->T, r->expected_spend, clv, &r->clv);
    return rc;
}

int cache_score_summary(const cache_model *m, const cache_summary *s, int64_t as_of_day,
                        double horizon, double p_horizon, const clv_options *clv,
                        cache_score_result *out)
{
    out->summary = *s;
    if (as_of_day < s->first_day)
        return CACHE_SCORE_NOT_YET;
    if (as_of_day < s->last_day)
        return CACHE_SCORE_AS_OF_EARLY;
    if (!(horizon >= 0) || !isfinite(horizon) || !(p_horizon >= 0) ||
        !isfinite(p_horizon) || (clv != NULL && !clv_options_valid(clv)))
        return GSL_EDOM;
    cache_score_result r = {
        .summary = *s, .has_spend = m->has_spend, .model_version = m->version};
    r.x = (double)s->n_days - 1;
    r.t_x = (double)((int64_t)s->last_day - s->first_day) / m->period_days;
    r.T = (double)(as_of_day - s->first_day) / m->period_days;
    r.m = r.x > 0 ? cache_repeat_amount(s) / r.x : 0;
    int rc = score_values(m, horizon, p_horizon, clv, &r);
    if (rc == GSL_SUCCESS && !all_finite(&r))
        rc = GSL_ERANGE;
    if (rc == GSL_SUCCESS)
        *out = r;
    return rc;
}

int cache_score(cache *c, const char *id, int64_t as_of_day, double horizon,
                const clv_options *clv, cache_score_result *out)
{
    cache_summary s;
    if (cache_get(c, id, &s) != CACHE_OK)
        return CACHE_SCORE_UNKNOWN;
    const cache_model *m = cache_snapshot_acquire(c);
    if (m == NULL)
        return CACHE_SCORE_NO_MODEL;
    int rc = cache_score_summary(m, &s, as_of_day, horizon, horizon, clv, out);
    cache_snapshot_release(m);
    return rc;
}

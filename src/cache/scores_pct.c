/* Percentiles of predicted LTV among a score table's customers (scores.h):
 * each published rank carries a sorted sample of its records' LTV, built
 * by the refresher when it builds the rank (O(n) sequential reads plus
 * sorting at most CACHE_LTV_SAMPLE numbers), so a document's percentile is
 * one binary search, never a pass over the customers. */
#include "cache/scores_impl.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Whether row counts in the sample: scored (a customer erased since has
 * no row), with a finite LTV. Every scored customer counts, ranked or not
 * (one not in the id index yet is not ranked), so that every process of a
 * fleet holding the same customers gives them the same percentiles. */
static bool counts(const cache_rank *r, const cache_score_row *row, double *key)
{
    if (row->rc != GSL_SUCCESS)
        return false;
    *key = cache_scores_rank_key(CACHE_RANK_LTV, row, r->margin, r->period_days);
    return isfinite(*key);
}

bool cache_scores_ltv_sample(const cache_scores *t, cache_rank *r)
{
    /* one pass: the stride from the rows (a few unscored ones only make
     * the sample a little smaller than CACHE_LTV_SAMPLE) */
    size_t stride =
        t->n > CACHE_LTV_SAMPLE ? (t->n + CACHE_LTV_SAMPLE - 1) / CACHE_LTV_SAMPLE : 1;
    size_t cap = t->n / stride + 1, n = 0, seen = 0;
    double *v = malloc(cap * sizeof *v), k;
    if (v == NULL)
        return false;
    for (size_t rec = 0; rec < t->n && n < cap; rec++)
        if (counts(r, &t->rows[rec], &k) && seen++ % stride == 0)
            v[n++] = k;
    qsort(v, n, sizeof *v, dbl_cmp);
    r->ltv = v;
    r->n_ltv = n;
    return true;
}

/* How many of v[0..n) (sorted) are < x. */
static size_t below(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool cache_scores_ltv_percentile(cache_scores *t, double ltv, double *pct)
{
    if (!isfinite(ltv))
        return false;
    cache_rank *r = cache_scores_rank_acquire(t);
    bool ok = r != NULL && r->ltv != NULL && r->n_ltv > 0;
    if (ok)
        *pct = 100.0 * (double)below(r->ltv, r->n_ltv, ltv) / (double)r->n_ltv;
    cache_scores_rank_release(r);
    return ok;
}

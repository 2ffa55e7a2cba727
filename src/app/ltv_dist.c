/* The predicted-LTV histogram (ltv_dist.h): every customer's LTV is read
 * from the score table's row (margin * spend * discounted, exactly what a
 * customer document serves) or, when the row is stale or missing, scored
 * with app_score_compute; the values are collected, sorted for the
 * quantiles, and counted in equal-width bins from the smallest to the 99th
 * percentile so that a heavy tail does not squash the chart (the customers
 * above it are counted apart). */
#include "app/ltv_dist.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "app/list_table.h"
#include "base/clock.h"
#include "cache/scores.h"

typedef struct collecting {
    app_tenant *tn;
    const cache_model *m;
    app_score_opts o;
    app_ltv_dist *out;
    double *v; /* the LTVs, n of cap */
    size_t n, cap;
    size_t scored;
    int64_t deadline_ms;
    bool over, no_memory;
} collecting;

static int push(collecting *k, double x)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 4096;
        double *v = realloc(k->v, cap * sizeof *v);
        if (v == NULL) {
            k->no_memory = true;
            return 1;
        }
        k->v = v;
        k->cap = cap;
    }
    k->v[k->n++] = x;
    return 0;
}

/* Collects one customer's LTV (a cache_scores_fn). */
static int collect_one(const char *id, const cache_summary *s, const cache_score_row *row,
                       void *arg)
{
    (void)id;
    collecting *k = arg;
    if (row != NULL && row->rc == GSL_SUCCESS && s->last_day <= k->o.as_of_day) {
        double x = k->o.margin * row->spend * row->discounted;
        if (isfinite(x))
            return push(k, x);
        k->out->n_failed++;
        return 0;
    }
    if (++k->scored % 64 == 0 && base_mono_ms() >= k->deadline_ms) {
        k->over = true;
        return 1;
    }
    app_score_row r;
    if (app_score_compute(k->m, s, &k->o, app_tenant_config(k->tn), &r) != GSL_SUCCESS ||
        !isfinite(r.r.clv)) {
        k->out->n_failed++;
        return 0;
    }
    return push(k, r.r.has_spend ? r.r.clv : 0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile q of the sorted v[0..n), n > 0. */
static double quantile(const double *v, size_t n, double q)
{
    size_t i = (size_t)ceil(q * (double)n);
    return v[i == 0 ? 0 : i - 1];
}

/* Fills the histogram and figures of out from the n sorted values. */
static void summarise(app_ltv_dist *out, double *v, size_t n)
{
    out->n_counted = n;
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    out->total = sum;
    out->mean = sum / (double)n;
    out->max = v[n - 1];
    out->p50 = quantile(v, n, 0.5);
    out->p90 = quantile(v, n, 0.9);
    out->p99 = quantile(v, n, 0.99);
    out->lo = v[0];
    out->hi = out->p99 > out->lo ? out->p99 : out->max;
    double w = (out->hi - out->lo) / (double)out->bins;
    for (size_t i = 0; i < n; i++) {
        if (v[i] > out->hi) {
            out->above++;
            continue;
        }
        size_t b = w > 0 ? (size_t)((v[i] - out->lo) / w) : 0;
        out->counts[b < out->bins ? b : out->bins - 1]++;
    }
}

/* Collects with table r (acquired; NULL: scoring every customer) into the
 * app_ltv_dist *out (an app_list_pass_fn). */
static app_list_status collect_all(app_tenant *tn, app_list_table *r, void *arg)
{
    app_ltv_dist *out = arg;
    out->has_spend = out->m->has_spend;
    const ltvd_config *cfg = app_tenant_config(tn);
    collecting k = {.tn = tn,
                    .m = out->m,
                    .out = out,
                    .deadline_ms = base_mono_ms() + cfg->list_budget_ms,
                    .o = app_score_opts_configured(cfg, out->as_of_day)};
    int rc = cache_scores_scan(r != NULL ? r->t : NULL, tn->cache, collect_one, &k);
    app_list_status st = rc == CACHE_ENOMEM || k.no_memory ? APP_LIST_NO_MEMORY
                         : k.over                          ? APP_LIST_BUDGET
                                                           : APP_LIST_OK;
    if (st == APP_LIST_OK)
        summarise(out, k.v, k.n);
    free(k.v);
    return st;
}

app_list_status app_ltv_dist_run(app_tenant *tn, size_t bins, app_ltv_dist *out)
{
    memset(out, 0, sizeof *out);
    out->bins = bins < 1 ? 1 : bins > APP_LTV_BINS_MAX ? APP_LTV_BINS_MAX : bins;
    out->n_customers = app_tenant_customers(tn);
    out->as_of_day = app_tenant_as_of_day(tn);
    return app_list_aggregate(tn, out->as_of_day, &out->m, collect_all, out);
}

void app_ltv_dist_free(app_ltv_dist *d)
{
    cache_snapshot_release(d->m);
    memset(d, 0, sizeof *d);
}

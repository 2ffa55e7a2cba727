/* The cost of the marketer fields per customer document (docs/service.md,
 * "The fields marketers expect"; docs/benchmarks.md): on 200,000 simulated
 * customers in a cache, the score table's refresh and its rank with the
 * LTV sample; a percentile lookup in the sample; and per document the
 * scoring a document already does beside app_marketer_fields (without the
 * percentile), and btyd_next_purchase_steps alone for BG/NBD and
 * Pareto/NBD on a grid of histories. `make bench-fields`. */
#include <gsl/gsl_errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app/marketer_fields.h"
#include "cache/cache.h"
#include "cache/scores.h"
#include "model/bgnbd.h"
#include "model/next_purchase.h"

#define N_CUSTOMERS 200000
#define DAY0 9000 /* first purchases from here (1994-08-23) */
#define AS_OF 9600

static const double bg[4] = {0.242593, 4.413532, 0.792886, 2.425753};
static const double pareto[4] = {0.553, 10.58, 0.606, 11.67};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cell(const cache_score_row *r, void *arg)
{
    (void)arg;
    return r->p_alive < 0.3 ? 0 : r->p_alive < 0.7 ? 1 : 2;
}

static cache *customers(void)
{
    cache *c = cache_new(N_CUSTOMERS);
    char id[32];
    srand(1);
    for (size_t i = 0; c != NULL && i < N_CUSTOMERS; i++) {
        cache_summary s = {
            .first_day = DAY0 + rand() % 300, .n_days = 1 + rand() % 8, .month_bits = 1};
        s.last_day = s.first_day + (s.n_days > 1 ? (int)s.n_days - 1 + rand() % 200 : 0);
        s.first_units = 100000 + rand() % 500000;
        s.repeat_units = (int64_t)(s.n_days - 1) * (100000 + rand() % 500000);
        snprintf(id, sizeof id, "c%zu", i);
        if (cache_upsert(c, id, &s) != CACHE_OK)
            return NULL;
    }
    return c;
}

static void next_purchase(const btyd_model *m, const double *p)
{
    size_t n = 0, dated = 0;
    double t0 = now();
    for (int x = 0; x < 30; x++)
        for (int T = 5; T < 80; T += 5)
            for (int f = 0; f < 4; f++) {
                unsigned k;
                double tx = x > 0 ? T * (f + 1) / 4.0 : 0;
                if (btyd_next_purchase_steps(m, p, x, tx, T, 1 / 7.0, 3650, 0.5, &k) ==
                    GSL_SUCCESS)
                    dated += k > 0;
                n++;
            }
    printf("expected_next_purchase_by, %s: %.2f us a document (%zu of %zu dated)\n",
           m->name, (now() - t0) / n * 1e6, dated, n);
}

int main(void)
{
    gsl_set_error_handler_off();
    cache *c = customers();
    cache_model model = {.model = &bgnbd_model,
                         .has_spend = true,
                         .gg_params = {6.248802, 3.744588, 15.447748},
                         .period_days = 7,
                         .version = 1};
    for (int i = 0; i < 4; i++)
        model.params[i] = bg[i];
    if (c == NULL || cache_snapshot_set(c, &model) != CACHE_OK)
        return 1;
    const cache_model *m = cache_snapshot_acquire(c);
    cache_scores_spec sp = {.model_version = m->serial,
                            .as_of_day = AS_OF,
                            .horizon_days = 365,
                            .discount_rate = 0.01,
                            .horizon = 365 / 7.0,
                            .p_horizon = 30 / 7.0,
                            .clv = {12, 0.01, 1, clv_month_periods(&bgnbd_model, 7)}};
    cache_scores *t = cache_scores_new(&sp);
    atomic_bool stop = false;
    double t0 = now();
    if (t == NULL || cache_scores_refresh(t, c, m, &stop, NULL) != 0 ||
        cache_scores_index_ids(t, c) != CACHE_OK)
        return 2;
    double t1 = now();
    if (cache_scores_rank(t, cell, NULL) != CACHE_OK)
        return 3;
    printf("%d customers: table refresh %.1f ms, rank with the LTV sample %.1f ms\n",
           N_CUSTOMERS, (t1 - t0) * 1e3, (now() - t1) * 1e3);
    double pct, sum = 0;
    t0 = now();
    for (size_t i = 0; i < 1000000; i++)
        if (cache_scores_ltv_percentile(t, (double)(i % 1000), &pct))
            sum += pct;
    printf("predicted_ltv_percentile lookup: %.3f us (checksum %g)\n",
           (now() - t0) /* s for 10^6 = us each */, sum);
    app_score_opts o = {
        .horizon_days = 365, .discount_rate = 0.01, .margin = 1, .as_of_day = AS_OF};
    ltvd_config cfg = {.churn_high_below = 0.3, .churn_medium_below = 0.7};
    double score = 0, fields = 0;
    char id[32];
    for (size_t i = 0; i < 20000; i++) {
        cache_summary s;
        app_score_row row;
        app_marketer k;
        snprintf(id, sizeof id, "c%zu", i);
        if (cache_get(c, id, &s) != CACHE_OK)
            return 4;
        double a = now();
        if (app_score_compute(m, &s, &o, &cfg, &row) != GSL_SUCCESS)
            continue;
        double b = now();
        app_marketer_fields(m, &o, &row, &k);
        score += b - a;
        fields += now() - b;
    }
    printf("per document (BG/NBD, 20000): scoring %.2f us, marketer fields %.2f us\n",
           score / 20000 * 1e6, fields / 20000 * 1e6);
    next_purchase(&bgnbd_model, bg);
    next_purchase(&pareto_model, pareto);
    cache_scores_free(t);
    cache_snapshot_release(m);
    cache_free(c);
    return 0;
}

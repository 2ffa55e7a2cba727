/* make bench-intervals: the cost of one customer's 90% intervals
 * (intervals_compute: P(alive), expected purchases, CLV with Gamma-Gamma)
 * beside the cost of the point scores they accompany, per model, at the
 * service's default horizon (365 days: 52.14 weeks, 12 months of CLV) on
 * CDNOW-like histories. Wall-clock microseconds per customer on this
 * machine, one thread; docs/benchmarks.md and docs/intervals.md. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model/btyd.h"
#include "model/clv.h"
#include "model/gg.h"
#include "model/intervals.h"
#include "model/simulate.h"

#define N 20000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A covariance of 5% relative standard errors, correlations 0.3. */
static void covariance(const double *p, size_t n, double *cov)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            cov[i * n + j] = (i == j ? 1.0 : 0.3) * 0.0025 * p[i] * p[j];
}

static void bench(const btyd_model *m, const double *params, const gsl_rng *rng)
{
    static const double gg[3] = {6.25, 3.74, 15.44};
    double cov[16], gcov[9];
    covariance(params, m->n_params, cov);
    covariance(gg, 3, gcov);
    btyd_pattern *pat = malloc(N * sizeof *pat);
    if (pat == NULL || simulate_customers(m, params, N, 27, 39, 1.0 / 7, rng, pat) != 0) {
        fprintf(stderr, "bench_intervals: simulation failed\n");
        exit(1);
    }
    clv_options clv = {12, 0.01, 1, CLV_MONTH_WEEKS};
    intervals_spec s = {m, params, cov, gg, gcov, 365.0 / 7, &clv, INTERVALS_LEVEL};
    double sink = 0, t0 = now();
    for (size_t i = 0; i < N; i++) { /* the point scores of a customer document */
        double pa, e, spend, v;
        double mean = 20 + (double)(i % 50);
        if (m->p_alive(params, pat[i].x, pat[i].t_x, pat[i].T, &pa) != 0 ||
            m->expected(params, pat[i].x, pat[i].t_x, pat[i].T, s.horizon, &e) != 0 ||
            gg_expected_spend(gg, pat[i].x, mean, &spend) != 0 ||
            clv_value(m, params, pat[i].x, pat[i].t_x, pat[i].T, spend, &clv, &v) != 0)
            continue;
        sink += pa + e + v;
    }
    double t_score = (now() - t0) / N * 1e6;
    size_t ok = 0;
    t0 = now();
    for (size_t i = 0; i < N; i++) {
        intervals_result r;
        intervals_compute(&s, pat[i].x, pat[i].t_x, pat[i].T, 20 + (double)(i % 50), &r);
        ok += r.p_alive.ok && r.expected.ok && r.ltv.ok;
        sink += r.ltv.hi;
    }
    double t_iv = (now() - t0) / N * 1e6;
    printf("  %-7s scores %6.2f us/customer, intervals %6.2f us/customer (%.1fx), "
           "%zu of %d with all three intervals%s\n",
           m->name, t_score, t_iv, t_iv / t_score, ok, N, sink == 0 ? " " : "");
    free(pat);
}

int main(void)
{
    static const double bgnbd[] = {0.243, 4.414, 0.793, 2.426};
    static const double pareto[] = {0.553, 10.578, 0.606, 11.669};
    static const double mbgnbd[] = {0.525, 6.183, 0.891, 1.614};
    gsl_set_error_handler_off();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 42);
    printf("# intervals (issue 12): one customer's 90%% intervals vs its point scores, "
           "%d CDNOW-like customers, horizon 52.14 weeks, CLV 12 months\n",
           N);
    bench(&bgnbd_model, bgnbd, rng);
    bench(&pareto_model, pareto, rng);
    bench(&mbgnbd_model, mbgnbd, rng);
    gsl_rng_free(rng);
    return 0;
}

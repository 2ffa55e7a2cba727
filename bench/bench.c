/* make bench: fit times of every model and the scoring rate on 10k, 100k and
 * 1M simulated customers (CDNOW-like: ages of 27 to 39 weeks recorded by day,
 * parameters near the published CDNOW fits). Timings are wall-clock seconds
 * on this machine; the fit is timed after summarising (collapsing customers
 * into distinct patterns), which is timed on its own. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/btyd.h"
#include "model/clv.h"
#include "model/fit.h"
#include "model/gg.h"
#include "model/score.h"
#include "model/simulate.h"

static const double bgnbd_true[] = {0.243, 4.414, 0.793, 2.426};
static const double mbgnbd_true[] = {0.525, 6.183, 0.891, 1.614};
static const double pareto_true[] = {0.553, 10.578, 0.606, 11.669};
static const double bgbb_true[] = {1.204, 0.750, 0.657, 2.783};
static const double gg_true[] = {6.25, 3.74, 15.44};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench: %s: %s\n", what, gsl_strerror(rc));
    exit(1);
}

/* Simulates n customers of model m with times recorded to `grid` weeks,
 * collapses them and fits; prints a row. */
static void bench_model(const btyd_model *m, const double *truth, size_t n, double grid,
                        gsl_rng *rng)
{
    btyd_pattern *p = malloc(n * sizeof *p);
    if (p == NULL)
        die("malloc", GSL_ENOMEM);
    int rc = m->discrete ? simulate_customers(m, truth, n, 6, 7, 0, rng, p)
                         : simulate_customers(m, truth, n, 27, 39, grid, rng, p);
    if (rc != GSL_SUCCESS)
        die(m->name, rc);
    double t0 = now();
    size_t k = btyd_patterns_collapse(p, n);
    double t_sum = now() - t0;
    fit_result r;
    rc = fit_btyd(m, p, k, 0, NULL, &r);
    if (rc != GSL_SUCCESS)
        die(m->name, rc);
    char label[32];
    snprintf(label, sizeof label, "%s%s", m->name, grid == 1 ? "/wk" : "");
    printf("%-9s %9zu %9zu %10.4f %10.4f %6zu %-5s", label, n, k, t_sum, r.seconds,
           r.iterations, r.converged ? "yes" : "NO");
    for (size_t i = 0; i < m->n_params; i++)
        printf(" %s=%.4g", m->param_names[i], r.params[i]);
    putchar('\n');
    free(p);
}

/* Gamma-Gamma on the repeat customers of n simulated BG/NBD customers, with
 * spend drawn from the model and rounded to cents. */
static void bench_gg(size_t n, gsl_rng *rng)
{
    btyd_pattern *c = malloc(n * sizeof *c);
    gg_pattern *p = malloc(n * sizeof *p);
    if (c == NULL || p == NULL)
        die("malloc", GSL_ENOMEM);
    int rc = simulate_customers(&bgnbd_model, bgnbd_true, n, 27, 39, 1.0 / 7, rng, c);
    if (rc != GSL_SUCCESS)
        die("simulate", rc);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double mval;
        if (c[i].x < 1)
            continue;
        if ((rc = gg_simulate(gg_true, c[i].x, rng, &mval)) != GSL_SUCCESS)
            die("gg_simulate", rc);
        p[k++] = (gg_pattern){c[i].x, round(mval * 100) / 100, 1.0};
    }
    fit_result r;
    rc = gg_fit(p, k, 0, NULL, &r);
    if (rc != GSL_SUCCESS)
        die("gg", rc);
    printf("%-9s %9zu %9zu %10s %10.4f %6zu %-5s p=%.4g q=%.4g v=%.4g\n", "gg", n, k, "-",
           r.seconds, r.iterations, r.converged ? "yes" : "NO", r.params[0], r.params[1],
           r.params[2]);
    free(c);
    free(p);
}

/* Scores n simulated customers: P(alive), expected purchases and
 * P(purchase) over 39 weeks, Gamma-Gamma spend and 12-month CLV, through
 * score_batch (each distinct history once, every core). */
static void bench_score(const btyd_model *m, const double *params, size_t n, gsl_rng *rng)
{
    btyd_pattern *p = malloc(n * sizeof *p);
    score_input *in = malloc(n * sizeof *in);
    score_output *out = malloc(n * sizeof *out);
    if (p == NULL || in == NULL || out == NULL)
        die("malloc", GSL_ENOMEM);
    int rc = simulate_customers(m, params, n, 27, 39, 1.0 / 7, rng, p);
    if (rc != GSL_SUCCESS)
        die("simulate", rc);
    for (size_t i = 0; i < n; i++)
        in[i] = (score_input){p[i].x, p[i].t_x, p[i].T,
                              p[i].x > 0 ? 20 + (double)(i % 50) : 0};
    score_spec spec = {m, params, gg_true, 39, {12, 0.01, 1, CLV_MONTH_WEEKS}};
    size_t bad;
    double t0 = now();
    rc = score_batch(&spec, in, n, out, &bad);
    double dt = now() - t0;
    if (rc != GSL_SUCCESS)
        die("score", rc);
    double sink = 0;
    for (size_t i = 0; i < n; i++)
        sink += out[i].p_alive + out[i].expected + out[i].clv;
    printf("score %-8s %9zu customers %8.3f s %12.0f customers/s (checksum %.6g)\n",
           m->name, n, dt, (double)n / dt, sink);
    free(p);
    free(in);
    free(out);
}

int main(int argc, char **argv)
{
    size_t max_n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    gsl_set_error_handler_off();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261125);
    printf("# fit: seconds after summarising (collapse timed apart), from the default "
           "start;\n"
           "# times recorded by day (in weeks), or by whole week for the /wk rows;\n"
           "# gg: the repeat customers of n simulated BG/NBD customers\n");
    printf("%-9s %9s %9s %10s %10s %6s %-5s %s\n", "model", "customers", "patterns",
           "collapse_s", "fit_s", "iters", "conv", "estimates");
    for (size_t n = 10000; n <= max_n; n *= 10) {
        bench_model(&bgnbd_model, bgnbd_true, n, 1.0 / 7, rng);
        bench_model(&bgnbd_model, bgnbd_true, n, 1.0, rng);
        bench_model(&pareto_model, pareto_true, n, 1.0 / 7, rng);
        bench_model(&pareto_model, pareto_true, n, 1.0, rng);
        bench_model(&mbgnbd_model, mbgnbd_true, n, 1.0 / 7, rng);
        bench_model(&bgbb_model, bgbb_true, n, 0, rng);
        bench_gg(n, rng);
    }
    printf(
        "# scoring: P(alive), expected purchases (39 weeks), spend, CLV (12 months)\n");
    for (size_t n = 10000; n <= max_n; n *= 10) {
        bench_score(&bgnbd_model, bgnbd_true, n, rng);
        bench_score(&pareto_model, pareto_true, n, rng);
    }
    gsl_rng_free(rng);
    return 0;
}

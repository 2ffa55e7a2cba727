/* make bench-clv: the cost of one list item's CLV at a custom horizon, per
 * model (clv_discounted_purchases at 12, 36 and 120 months), on customers
 * like those of bench/service.sh's lists (BG/NBD-like buyers by day, first
 * purchases spread over a year, cut at day 545) and each model fitted to
 * them (BG/BB: its own simulated opportunities). Prints microseconds per
 * customer (CPU time: the machine is shared) over pages of 1000 customers
 * (best of 5 passes), and a checksum
 * of the values so two builds can be compared.
 *   bench_clv [N]   N customers (default 20000) */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model/btyd.h"
#include "model/clv.h"
#include "model/fit.h"
#include "model/simulate.h"

#define AS_OF 545
#define PAGE 1000

static const double bgbb_true[] = {1.204, 0.750, 0.657, 2.783};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* a loaded machine: CPU time */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_clv: %s: %s\n", what, gsl_strerror(rc));
    exit(1);
}

/* The list benchmark's customers (bench/service.sh, part 5), in days. */
static void lists_customers(size_t n, const gsl_rng *rng, btyd_pattern *out)
{
    for (size_t g = 1; g <= n; g++) {
        double f = (double)(g % 365);
        double gap = 1 + floor(gsl_ran_exponential(rng, 40));
        double p = 0.05 + 0.6 * pow(gsl_rng_uniform(rng), 2);
        double k = fmin(30, floor(log(1 - gsl_rng_uniform(rng)) / log(1 - p)));
        double x = 0, last = f;
        for (double j = 1; j <= k && f + j * gap <= AS_OF; j++) {
            x++;
            last = f + j * gap;
        }
        out[g - 1] = (btyd_pattern){x, last - f, AS_OF - f, 1};
    }
}

/* Microseconds per customer of clv_discounted_purchases over p[0..n), the
 * best of 5 passes; *sum gets the sum of the values. */
static double time_clv(const btyd_model *m, const double *params, const btyd_pattern *p,
                       size_t n, const clv_options *o, double *sum)
{
    double best = INFINITY;
    for (int pass = 0; pass < 5; pass++) {
        double s = 0, t0 = now();
        for (size_t i = 0; i < n; i++) {
            double d;
            int rc = clv_discounted_purchases(m, params, p[i].x, p[i].t_x, p[i].T, o, &d);
            if (rc != GSL_SUCCESS)
                die(m->name, rc);
            s += d;
        }
        best = fmin(best, (now() - t0) / (double)n * 1e6);
        *sum = s;
    }
    return best;
}

static void bench_model(const btyd_model *m, btyd_pattern *p, size_t n)
{
    btyd_pattern *c = malloc(n * sizeof *c);
    if (c == NULL)
        die("malloc", GSL_ENOMEM);
    for (size_t i = 0; i < n; i++)
        c[i] = p[i];
    size_t k = btyd_patterns_collapse(c, n);
    fit_result r;
    int rc = fit_btyd(m, c, k, 0, NULL, &r);
    free(c);
    if (rc != GSL_SUCCESS)
        die(m->name, rc);
    printf("%-7s", m->name);
    for (size_t i = 0; i < m->n_params; i++)
        printf(" %s=%.4g", m->param_names[i], r.params[i]);
    putchar('\n');
    static const unsigned months[] = {12, 36, 120};
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++) {
        clv_options o = {months[i], 0.01, 1, m->discrete ? 1 : CLV_MONTH_DAYS};
        double sum, us = time_clv(m, r.params, p, n < PAGE ? n : PAGE, &o, &sum);
        printf("  %3u months: %8.2f us/customer  %8.2f ms/page of %d  (checksum %.17g)\n",
               months[i], us, us * PAGE / 1e3, PAGE, sum);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    gsl_set_error_handler_off();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261207);
    btyd_pattern *p = malloc(n * sizeof *p);
    if (p == NULL)
        die("malloc", GSL_ENOMEM);
    lists_customers(n, rng, p);
    printf("# clv_discounted_purchases, d = 0.01/month, %zu customers fitted, "
           "pages of the first %d\n",
           n, PAGE);
    bench_model(&bgnbd_model, p, n);
    bench_model(&pareto_model, p, n);
    bench_model(&mbgnbd_model, p, n);
    int rc = simulate_customers(&bgbb_model, bgbb_true, n, 6, 7, 0, rng, p);
    if (rc != GSL_SUCCESS)
        die("simulate", rc);
    bench_model(&bgbb_model, p, n);
    free(p);
    gsl_rng_free(rng);
    return 0;
}

/* Fit checks shared by the BG/NBD and MBG/NBD suites: the CDNOW calibration
 * summary against published / independently computed optima, and parameter
 * recovery on simulated customers (see nbd_checks.h). */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/fit.h"
#include "nbd_checks.h"
#include "refcsv.h"

#define CDNOW "tests/data/cdnow_customers_summary.csv"

/* ID,frequency,recency,T -> collapsed weighted patterns; the caller frees. */
static size_t load_cdnow(btyd_pattern **out)
{
    FILE *f = fopen(CDNOW, "r");
    ck_assert_msg(f != NULL, "cannot open %s", CDNOW);
    size_t cap = 4096, n = 0;
    btyd_pattern *p = malloc(cap * sizeof *p);
    char line[256];
    ck_assert(p != NULL && fgets(line, sizeof line, f) != NULL); /* header */
    double id, x, t_x, T;
    while (fgets(line, sizeof line, f) &&
           sscanf(line, "%lf,%lf,%lf,%lf", &id, &x, &t_x, &T) == 4) {
        ck_assert_uint_lt(n, cap);
        p[n++] = (btyd_pattern){x, t_x, T, 1};
    }
    fclose(f);
    ck_assert_uint_eq(n, 2357);
    *out = p;
    return btyd_patterns_collapse(p, n);
}

void nbd_check_cdnow_fit(const btyd_model *m, const double *want, double rel,
                         double abs_tol, double want_ll, double ll_tol)
{
    btyd_pattern *pat;
    size_t n = load_cdnow(&pat);
    fit_result r;
    ck_assert_int_eq(fit_btyd(m, pat, n, 0, NULL, &r), GSL_SUCCESS);
    fprintf(stderr,
            "%s CDNOW fit: r=%.6f alpha=%.6f a=%.6f b=%.6f LL=%.4f, %zu iterations, "
            "converged %d, %.3f s (%zu patterns)\n",
            m->name, r.params[0], r.params[1], r.params[2], r.params[3], r.log_likelihood,
            r.iterations, r.converged, r.seconds, n);
    ck_assert(r.converged);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(fabs(r.params[i] - want[i]) <= fmax(rel * want[i], abs_tol),
                      "%s: %s = %.6f, want %.6f", m->name, m->param_names[i], r.params[i],
                      want[i]);
    ck_assert_msg(fabs(r.log_likelihood - want_ll) <= ll_tol, "LL %.4f, want %.4f",
                  r.log_likelihood, want_ll);
    free(pat);
}

int nbd_read_fit_reference(int model_id, double *params, double *ll)
{
    refcsv t;
    if (refcsv_load("tests/data/ref_cdnow_fit.csv", &t) != 0)
        return -1;
    const char *names[6] = {"model", "r", "alpha", "a", "b", "loglik"};
    int c[6], rc = -1;
    for (int i = 0; i < 6; i++)
        if ((c[i] = refcsv_col(&t, names[i])) < 0)
            goto done;
    for (size_t i = 0; i < t.n_rows; i++) {
        if (refcsv_at(&t, i, c[0]) != model_id)
            continue;
        for (int k = 0; k < 4; k++)
            params[k] = refcsv_at(&t, i, c[k + 1]);
        *ll = refcsv_at(&t, i, c[5]);
        rc = 0;
    }
done:
    refcsv_free(&t);
    return rc;
}

void nbd_check_recovery(const btyd_model *m, const double *truth, size_t n)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7919);
    btyd_pattern *pat = malloc(n * sizeof *pat);
    ck_assert(rng != NULL && pat != NULL);
    for (size_t i = 0; i < n; i++) {
        double T = 20 + 20 * gsl_rng_uniform(rng), x, t_x;
        ck_assert_int_eq(m->simulate(truth, T, rng, &x, &t_x), GSL_SUCCESS);
        pat[i] = (btyd_pattern){x, t_x, T, 1};
    }
    size_t k = btyd_patterns_collapse(pat, n);
    fit_result r;
    ck_assert_int_eq(fit_btyd(m, pat, k, 0, NULL, &r), GSL_SUCCESS);
    ck_assert(r.converged && r.std_errors_ok);
    for (int i = 0; i < 4; i++) {
        double z = (r.params[i] - truth[i]) / r.std_errors[i];
        fprintf(stderr, "%s recovery: %s true %.4f fit %.4f se %.4f (%+.2f se)\n",
                m->name, m->param_names[i], truth[i], r.params[i], r.std_errors[i], z);
        ck_assert_msg(fabs(z) <= 3, "%s off by %.2f standard errors", m->param_names[i],
                      z);
    }
    free(pat);
    gsl_rng_free(rng);
}

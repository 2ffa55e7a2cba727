/* Gamma-Gamma spend model: agreement with the mpmath reference values of
 * tests/data/ref_gg.csv and ref_gg_fit.csv (tests/reference/gg.py, gg_fit.py),
 * properties over a grid, the domain and the zero-spend policy, the published
 * CDNOW fit, and parameter recovery. Run from the repository root. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gg.h"
#include "rowcsv.h"

#define REF_CSV "tests/data/ref_gg.csv"
#define REF_FIT_CSV "tests/data/ref_gg_fit.csv"
#define CDNOW_CSV "tests/data/cdnow_customers_summary_with_transactions.csv"
#define REL_TOL 1e-9

static void setup(void)
{
    gsl_set_error_handler_off();
}

static double rel_err(double got, double want)
{
    return want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
}

/* ---- (a) reference values ---- */

typedef struct ref_stats {
    double max_rel;
    int rows, failures;
} ref_stats;

static void ref_row(char **f, void *ctx)
{
    ref_stats *s = ctx;
    double par[3] = {atof(f[1]), atof(f[2]), atof(f[3])};
    double x = atof(f[5]), m = atof(f[6]), want = atof(f[7]), got = NAN;
    int rc = strcmp(f[4], "loglik") == 0 ? gg_loglik(par, x, m, &got)
                                         : gg_expected_spend(par, x, m, &got);
    double e = rc == GSL_SUCCESS ? rel_err(got, want) : INFINITY;
    s->rows++;
    if (!(e <= REL_TOL)) {
        s->failures++;
        fprintf(stderr, "gg ref %s %s x=%s m=%s: rc=%d got %.17g want %.17g\n", f[0],
                f[4], f[5], f[6], rc, got, want);
    }
    if (e > s->max_rel)
        s->max_rel = e;
}

START_TEST(test_gg_reference_values)
{
    ref_stats s = {0, 0, 0};
    ck_assert_msg(rowcsv_read(REF_CSV, 8, ref_row, &s) > 0,
                  "cannot read " REF_CSV " (run from the repository root)");
    ck_assert_int_gt(s.rows, 70);
    printf("gg: %d reference values, max rel. error %.3g\n", s.rows, s.max_rel);
    ck_assert_int_eq(s.failures, 0);
}
END_TEST

/* ---- (b) properties ---- */

START_TEST(test_gg_properties_grid)
{
    const double pv[] = {0.01, 0.7, 6.25, 300, 1e5};
    const double qv[] = {1.0001, 1.5, 3.74, 200, 1e5};
    const double xv[] = {1, 2, 7, 100, 5000};
    const double mv[] = {1e-9, 0.5, 22.35, 1e4, 1e9};
    for (size_t i = 0; i < 5 * 5 * 5; i++) {
        double par[3] = {pv[i % 5], qv[i / 5 % 5], pv[i / 25]};
        double pop;
        ck_assert_int_eq(gg_expected_spend(par, 0, 0, &pop), GSL_SUCCESS);
        ck_assert(isfinite(pop) && pop > 0);
        for (size_t j = 0; j < 25; j++) {
            double x = xv[j % 5], m = mv[j / 5], ll, e;
            ck_assert_int_eq(gg_loglik(par, x, m, &ll), GSL_SUCCESS);
            ck_assert(isfinite(ll));
            ck_assert_int_eq(gg_expected_spend(par, x, m, &e), GSL_SUCCESS);
            /* a credibility-weighted average of the population mean and m */
            ck_assert(isfinite(e) && e >= fmin(pop, m) * (1 - 1e-12) &&
                      e <= fmax(pop, m) * (1 + 1e-12));
        }
    }
}
END_TEST

/* ---- (c) the domain and the zero-spend policy ---- */

START_TEST(test_gg_domain)
{
    const double ok[3] = {6.25, 3.74, 15.44};
    const double bad[][3] = {{0, 3, 1}, {1, -3, 1}, {1, 3, NAN}, {INFINITY, 3, 1}};
    double out = 42;
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(gg_loglik(bad[i], 2, 10, &out), GSL_EDOM);
        ck_assert_int_eq(gg_expected_spend(bad[i], 2, 10, &out), GSL_EDOM);
    }
    ck_assert_int_eq(gg_loglik(ok, 0, 10, &out), GSL_EDOM);
    ck_assert_int_eq(gg_loglik(ok, 0.5, 10, &out), GSL_EDOM);
    ck_assert_int_eq(gg_loglik(ok, 2, 0, &out), GSL_EDOM); /* zero spend */
    ck_assert_int_eq(gg_loglik(ok, 2, -1, &out), GSL_EDOM);
    ck_assert_int_eq(gg_loglik(ok, NAN, 1, &out), GSL_EDOM);
    ck_assert_int_eq(gg_expected_spend(ok, -1, 1, &out), GSL_EDOM);
    ck_assert_int_eq(gg_expected_spend(ok, 1, INFINITY, &out), GSL_EDOM);
    const double q1[3] = {6.25, 1.0, 15.44};
    ck_assert_int_eq(gg_expected_spend(q1, 3, 10, &out), GSL_EDOM);
    ck_assert_double_eq(out, 42);
    /* a zero-spend repeat customer is scored with their own m = 0 */
    ck_assert_int_eq(gg_expected_spend(ok, 2, 0, &out), GSL_SUCCESS);
    ck_assert_double_eq_tol(out, 6.25 * 15.44 / (12.5 + 2.74), 1e-12);
    fit_result r;
    gg_pattern none[2] = {{0, 0, 10}, {3, 0, 5}};
    ck_assert_int_eq(gg_fit(none, 2, 0, NULL, &r), GSL_EDOM);
    gg_pattern badp[1] = {{0.5, 3, 1}};
    ck_assert_int_eq(gg_fit(badp, 1, 0, NULL, &r), GSL_EDOM);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_int_eq(gg_simulate(ok, 0, rng, &out), GSL_EDOM);
    ck_assert_int_eq(gg_simulate(bad[0], 2, rng, &out), GSL_EDOM);
    gsl_rng_free(rng);
}
END_TEST

/* ---- (e) the CDNOW fit ---- */

typedef struct customers {
    gg_pattern p[3000];
    size_t n;
} customers;

static void cdnow_row(char **f, void *ctx)
{
    customers *c = ctx;
    if (c->n < 3000)
        c->p[c->n++] = (gg_pattern){atof(f[1]), atof(f[4]), 1};
}

typedef struct fit_ref {
    double opt[3], opt_ll, pub_ll;
} fit_ref;

static void fit_ref_row(char **f, void *ctx)
{
    fit_ref *r = ctx;
    if (strcmp(f[0], "optimum") == 0) {
        for (int i = 0; i < 3; i++)
            r->opt[i] = atof(f[1 + i]);
        r->opt_ll = atof(f[4]);
    } else {
        r->pub_ll = atof(f[4]);
    }
}

static double total_ll(const double *par, const customers *c)
{
    double s = 0, l;
    for (size_t i = 0; i < c->n; i++)
        if (c->p[i].x > 0) {
            ck_assert_int_eq(gg_loglik(par, c->p[i].x, c->p[i].m, &l), GSL_SUCCESS);
            s += l;
        }
    return s;
}

START_TEST(test_gg_cdnow_fit)
{
    static customers c;
    c.n = 0;
    ck_assert_int_eq(rowcsv_read(CDNOW_CSV, 5, cdnow_row, &c), 2357);
    fit_ref ref = {{0}, 0, 0};
    ck_assert_int_eq(rowcsv_read(REF_FIT_CSV, 5, fit_ref_row, &ref), 2);
    fit_result r;
    ck_assert_int_eq(gg_fit(c.p, c.n, 0, NULL, &r), GSL_SUCCESS);
    ck_assert(r.converged && r.std_errors_ok);
    ck_assert(fabs(r.params[0] - 6.25) <= 0.005 + 0.001 * 6.25);
    ck_assert(fabs(r.params[1] - 3.74) <= 0.005 + 0.001 * 3.74);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(rel_err(r.params[i], ref.opt[i]) < 1e-4, "%s = %.8f, exact %.8f",
                      gg_param_names[i], r.params[i], ref.opt[i]);
    ck_assert_msg(fabs(r.log_likelihood - ref.opt_ll) < 1e-6, "LL %.10f vs %.10f",
                  r.log_likelihood, ref.opt_ll);
    const double pub[3] = {6.25, 3.74, 15.44};
    double ll_pub = total_ll(pub, &c);
    ck_assert(rel_err(ll_pub, ref.pub_ll) < 1e-12);
    ck_assert(r.log_likelihood >= ll_pub);
    /* The fit's fast sum agrees with gg_loglik's careful form. */
    ck_assert(rel_err(r.log_likelihood, total_ll(r.params, &c)) < 1e-12);
    printf("gg cdnow: p %.6f q %.6f v %.6f LL %.6f (published values: LL %.6f; "
           "%zu iterations; SE %.4f %.4f %.4f)\n",
           r.params[0], r.params[1], r.params[2], r.log_likelihood, ll_pub, r.iterations,
           r.std_errors[0], r.std_errors[1], r.std_errors[2]);
    /* zero-spend repeat customers are left out, not fatal */
    c.p[c.n++] = (gg_pattern){4, 0, 3};
    fit_result r0;
    ck_assert_int_eq(gg_fit(c.p, c.n, 0, r.params, &r0), GSL_SUCCESS);
    ck_assert(rel_err(r0.log_likelihood, r.log_likelihood) < 1e-12);
}
END_TEST

/* ---- (f) parameter recovery ---- */

START_TEST(test_gg_recovery)
{
    const double truth[3] = {6.25, 3.74, 15.44};
    static gg_pattern pat[20000];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20130101);
    for (size_t i = 0; i < 20000; i++) {
        double x = 1 + (double)(i % 10), m;
        ck_assert_int_eq(gg_simulate(truth, x, rng, &m), GSL_SUCCESS);
        pat[i] = (gg_pattern){x, m, 1};
    }
    gsl_rng_free(rng);
    fit_result r;
    ck_assert_int_eq(gg_fit(pat, 20000, 0, NULL, &r), GSL_SUCCESS);
    ck_assert(r.converged && r.std_errors_ok);
    printf("gg recovery (20000 customers):");
    for (int i = 0; i < 3; i++) {
        printf(" %s %.4f (SE %.4f)", gg_param_names[i], r.params[i], r.std_errors[i]);
        ck_assert_msg(fabs(r.params[i] - truth[i]) <= 3 * r.std_errors[i],
                      "%s = %.4f +- %.4f", gg_param_names[i], r.params[i],
                      r.std_errors[i]);
    }
    printf("\n");
}
END_TEST

Suite *suite_gg(void)
{
    Suite *s = suite_create("gg");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gg_reference_values);
    tcase_add_test(tc, test_gg_properties_grid);
    tcase_add_test(tc, test_gg_domain);
    tcase_add_test(tc, test_gg_cdnow_fit);
    tcase_add_test(tc, test_gg_recovery);
    suite_add_tcase(s, tc);
    return s;
}

/* BG/BB: agreement with the mpmath reference values of tests/data/ref_bgbb.csv
 * (made by tests/reference/bgbb.py), properties over a wide parameter grid,
 * the domain, the fit of the published donation data, and parameter
 * recovery from simulated customers. Run from the repository root. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bgbb.h"
#include "model/fit.h"
#include "rowcsv.h"

#define REF_CSV "tests/data/ref_bgbb.csv"
#define DONATIONS_CSV "tests/data/donations.csv"
#define REL_TOL 1e-9

static const btyd_model *const M = &bgbb_model;

static void setup(void)
{
    gsl_set_error_handler_off();
}

static double rel_err(double got, double want)
{
    if (want == 0)
        return fabs(got);
    return fabs(got - want) / fabs(want);
}

/* ---- (a) reference values ---- */

typedef struct ref_stats {
    double max_rel;
    char worst[160];
    int rows, failures;
} ref_stats;

static int eval_row(char **f, const double *par, double *out)
{
    const char *kind = f[5];
    double x = atof(f[6]), tx = atof(f[7]), n = atof(f[8]), t = atof(f[9]);
    unsigned k = (unsigned)atoi(f[10]);
    if (strcmp(kind, "loglik") == 0)
        return M->loglik(par, x, tx, n, out);
    if (strcmp(kind, "p_alive") == 0)
        return M->p_alive(par, x, tx, n, out);
    if (strcmp(kind, "expected") == 0)
        return M->expected(par, x, tx, n, t, out);
    if (strcmp(kind, "p_n") == 0)
        return M->p_n(par, x, tx, n, t, k, out);
    if (strcmp(kind, "expected_new") == 0)
        return M->expected_new(par, t, out);
    if (strcmp(kind, "p_n_new") == 0)
        return M->p_n_new(par, t, k, out);
    return -1; /* a fit row, tested below */
}

static void ref_row(char **f, void *ctx)
{
    ref_stats *s = ctx;
    double par[4] = {atof(f[1]), atof(f[2]), atof(f[3]), atof(f[4])};
    double want = atof(f[11]), got = NAN;
    int rc = eval_row(f, par, &got);
    if (rc == -1)
        return;
    s->rows++;
    /* a log-likelihood near 0 (a history of probability ~1) is held to an
     * absolute 1e-9, i.e. the likelihood itself to 1e-9 relative */
    int is_log = strcmp(f[5], "loglik") == 0 && fabs(want) < 1;
    double e = rc != GSL_SUCCESS ? INFINITY
               : is_log          ? fabs(got - want)
                                 : rel_err(got, want);
    if (!(e <= REL_TOL)) {
        s->failures++;
        fprintf(stderr,
                "bgbb ref %s %s x=%s t_x=%s n=%s t=%s k=%s: rc=%d got %.17g want %.17g\n",
                f[0], f[5], f[6], f[7], f[8], f[9], f[10], rc, got, want);
    }
    if (e > s->max_rel) {
        s->max_rel = e;
        snprintf(s->worst, sizeof s->worst, "%s %s x=%s t_x=%s n=%s t=%s k=%s", f[0],
                 f[5], f[6], f[7], f[8], f[9], f[10]);
    }
}

START_TEST(test_bgbb_reference_values)
{
    ref_stats s = {0};
    int rows = rowcsv_read(REF_CSV, 12, ref_row, &s);
    ck_assert_msg(rows > 0, "cannot read " REF_CSV " (run from the repository root)");
    ck_assert_int_gt(s.rows, 1500);
    printf("bgbb: %d reference values, max rel. error %.3g (%s)\n", s.rows, s.max_rel,
           s.worst);
    ck_assert_int_eq(s.failures, 0);
}
END_TEST

/* ---- (b) properties on a grid ---- */

static const double grid_vals[] = {0.005, 0.5, 1.0, 2.5, 300.0};
static const double grid_customers[][3] = {
    {0, 0, 0},    {0, 0, 1},   {1, 1, 1},   {0, 0, 10},      {3, 7, 10},
    {10, 10, 10}, {1, 1, 200}, {0, 0, 200}, {150, 199, 200},
};
static const double horizons[] = {0, 1, 2, 5, 50, 1000, 1e9, 1e15};

static void check_customer(const double *par, const double *c)
{
    double ll, pa, prev = 0;
    ck_assert_int_eq(M->loglik(par, c[0], c[1], c[2], &ll), GSL_SUCCESS);
    ck_assert(isfinite(ll) && ll <= 0);
    ck_assert_int_eq(M->p_alive(par, c[0], c[1], c[2], &pa), GSL_SUCCESS);
    ck_assert(pa >= 0 && pa <= 1);
    for (size_t h = 0; h < sizeof horizons / sizeof horizons[0]; h++) {
        double e;
        ck_assert_int_eq(M->expected(par, c[0], c[1], c[2], horizons[h], &e),
                         GSL_SUCCESS);
        ck_assert(isfinite(e) && e >= 0 && e <= horizons[h] * (1 + 1e-12));
        ck_assert_msg(e >= prev * (1 - 1e-12), "E not monotone at t=%g", horizons[h]);
        prev = e;
    }
}

/* sum_k P(k) = 1 and sum_k k P(k) = E over short horizons: p_n and expected
 * are computed by different formulas. */
static void check_distribution(const double *par, const double *c)
{
    for (double t = 1; t <= 8; t *= 2) {
        double s0 = 0, s1 = 0, e, pk;
        for (unsigned k = 0; k <= t + 1; k++) {
            ck_assert_int_eq(M->p_n(par, c[0], c[1], c[2], t, k, &pk), GSL_SUCCESS);
            ck_assert(pk >= 0 && pk <= 1);
            s0 += pk;
            s1 += k * pk;
        }
        ck_assert_int_eq(M->expected(par, c[0], c[1], c[2], t, &e), GSL_SUCCESS);
        ck_assert_double_eq_tol(s0, 1.0, 1e-11);
        ck_assert_msg(fabs(s1 - e) <= 1e-10 * (1 + e), "sum k P(k) %.17g vs E %.17g", s1,
                      e);
    }
}

START_TEST(test_bgbb_properties_grid)
{
    const size_t nv = sizeof grid_vals / sizeof grid_vals[0];
    for (size_t i = 0; i < nv * nv * nv * nv; i++) {
        double par[4] = {grid_vals[i % nv], grid_vals[i / nv % nv],
                         grid_vals[i / (nv * nv) % nv], grid_vals[i / (nv * nv * nv)]};
        for (size_t c = 0; c < sizeof grid_customers / sizeof grid_customers[0]; c++) {
            check_customer(par, grid_customers[c]);
            if (c % 3 == 0)
                check_distribution(par, grid_customers[c]);
        }
    }
}
END_TEST

START_TEST(test_bgbb_gamma_near_one_is_continuous)
{
    /* the closed-form expectation has gamma - 1 in a denominator */
    double e0, e1, e2;
    const double a[4] = {0.8, 2.5, 1.0, 4.5}, b[4] = {0.8, 2.5, 1.0 + 1e-12, 4.5},
                 c[4] = {0.8, 2.5, 1.0 - 1e-12, 4.5};
    for (double t = 1; t <= 1e12; t *= 10) {
        ck_assert_int_eq(M->expected(a, 2, 5, 9, t, &e0), GSL_SUCCESS);
        ck_assert_int_eq(M->expected(b, 2, 5, 9, t, &e1), GSL_SUCCESS);
        ck_assert_int_eq(M->expected(c, 2, 5, 9, t, &e2), GSL_SUCCESS);
        ck_assert(rel_err(e1, e0) < 1e-10 && rel_err(e2, e0) < 1e-10);
    }
}
END_TEST

/* ---- (c) the domain ---- */

START_TEST(test_bgbb_domain)
{
    const double ok[4] = {1.204, 0.75, 0.657, 2.783};
    const double bad_params[][4] = {
        {0, 1, 1, 1}, {1, -1, 1, 1}, {1, 1, NAN, 1}, {1, 1, 1, INFINITY}};
    const double bad_hist[][3] = {{2, 1, 6},   {1, 7, 6},        {0, 3, 6},   {2, 0, 6},
                                  {-1, 0, 6},  {1.5, 2, 6},      {1, 2.5, 6}, {1, 2, 6.5},
                                  {NAN, 1, 6}, {1, 1, INFINITY}, {0, 0, 2e6}};
    double out = 42;
    for (size_t i = 0; i < sizeof bad_hist / sizeof bad_hist[0]; i++) {
        const double *h = bad_hist[i];
        ck_assert_int_eq(M->loglik(ok, h[0], h[1], h[2], &out), GSL_EDOM);
        ck_assert_int_eq(M->p_alive(ok, h[0], h[1], h[2], &out), GSL_EDOM);
        ck_assert_int_eq(M->expected(ok, h[0], h[1], h[2], 5, &out), GSL_EDOM);
        ck_assert_int_eq(M->p_n(ok, h[0], h[1], h[2], 5, 1, &out), GSL_EDOM);
    }
    for (size_t i = 0; i < sizeof bad_params / sizeof bad_params[0]; i++) {
        ck_assert_int_eq(M->loglik(bad_params[i], 1, 2, 6, &out), GSL_EDOM);
        ck_assert_int_eq(M->expected_new(bad_params[i], 3, &out), GSL_EDOM);
        ck_assert_int_eq(M->p_n_new(bad_params[i], 3, 1, &out), GSL_EDOM);
    }
    const double bad_t[] = {-1, 2.5, NAN, INFINITY, 1e16};
    for (size_t i = 0; i < sizeof bad_t / sizeof bad_t[0]; i++) {
        ck_assert_int_eq(M->expected(ok, 1, 2, 6, bad_t[i], &out), GSL_EDOM);
        ck_assert_int_eq(M->p_n(ok, 1, 2, 6, bad_t[i], 0, &out), GSL_EDOM);
        ck_assert_int_eq(M->expected_new(ok, bad_t[i], &out), GSL_EDOM);
    }
    ck_assert_int_eq(M->p_n(ok, 1, 2, 6, 2e6, 0, &out), GSL_EDOM); /* loop bound */
    ck_assert_double_eq(out, 42);
    btyd_pattern neg = {1, 2, 6, -1};
    ck_assert_int_eq(M->loglik_sum(ok, &neg, 1, &out), GSL_EDOM);
    ck_assert_int_eq(M->p_n(ok, 1, 2, 6, 3, 4, &out), GSL_SUCCESS); /* k > t */
    ck_assert_double_eq(out, 0);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    double x, tx;
    ck_assert_int_eq(M->simulate(bad_params[0], 6, r, &x, &tx), GSL_EDOM);
    ck_assert_int_eq(M->simulate(ok, 6.5, r, &x, &tx), GSL_EDOM);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_bgbb_table)
{
    ck_assert_ptr_eq(btyd_model_find("bgbb"), &bgbb_model);
    ck_assert_str_eq(M->title, "BG/BB");
    ck_assert_int_eq(M->discrete, 1);
    ck_assert_uint_eq(M->n_params, 4);
    const char *names[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(M->param_names[i], names[i]);
}
END_TEST

/* ---- (d) the published donation fit ---- */

typedef struct patterns {
    btyd_pattern p[64];
    size_t n;
} patterns;

static void donation_row(char **f, void *ctx)
{
    patterns *ps = ctx;
    if (ps->n < 64)
        ps->p[ps->n++] = (btyd_pattern){atof(f[0]), atof(f[1]), atof(f[2]), atof(f[3])};
}

typedef struct fit_ref {
    double opt[4], opt_ll, pub_ll;
} fit_ref;

static void fit_ref_row(char **f, void *ctx)
{
    fit_ref *r = ctx;
    if (strcmp(f[5], "fit_ll") == 0) {
        for (int i = 0; i < 4; i++)
            r->opt[i] = atof(f[1 + i]);
        r->opt_ll = atof(f[11]);
    } else if (strcmp(f[5], "total_ll") == 0) {
        r->pub_ll = atof(f[11]);
    }
}

START_TEST(test_bgbb_donation_fit)
{
    patterns ps = {.n = 0};
    ck_assert_int_eq(rowcsv_read(DONATIONS_CSV, 4, donation_row, &ps), 22);
    fit_ref ref = {{0}, 0, 0};
    rowcsv_read(REF_CSV, 12, fit_ref_row, &ref);
    ck_assert(ref.opt_ll < 0 && ref.pub_ll < 0);
    fit_result r;
    ck_assert_int_eq(fit_btyd(M, ps.p, ps.n, 0, NULL, &r), GSL_SUCCESS);
    ck_assert(r.converged && r.std_errors_ok);
    const double pub[4] = {1.204, 0.750, 0.657, 2.783};
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(fabs(r.params[i] - pub[i]) <= fmax(0.001 * pub[i], 0.0005),
                      "%s = %.6f, published %.3f", M->param_names[i], r.params[i],
                      pub[i]);
        ck_assert_msg(rel_err(r.params[i], ref.opt[i]) < 1e-4, "%s = %.8f, exact %.8f",
                      M->param_names[i], r.params[i], ref.opt[i]);
    }
    ck_assert_msg(fabs(r.log_likelihood - ref.opt_ll) < 1e-6, "LL %.10f, exact %.10f",
                  r.log_likelihood, ref.opt_ll);
    double ll_pub;
    ck_assert_int_eq(fit_btyd_loglik(M, pub, ps.p, ps.n, &ll_pub), GSL_SUCCESS);
    ck_assert(rel_err(ll_pub, ref.pub_ll) < 1e-12);
    ck_assert(r.log_likelihood >= ll_pub);
    printf("bgbb donations: alpha %.6f beta %.6f gamma %.6f delta %.6f LL %.6f "
           "(%zu iterations; SE %.4f %.4f %.4f %.4f)\n",
           r.params[0], r.params[1], r.params[2], r.params[3], r.log_likelihood,
           r.iterations, r.std_errors[0], r.std_errors[1], r.std_errors[2],
           r.std_errors[3]);
}
END_TEST

/* ---- (f) parameter recovery ---- */

/* Histogram of simulated (x, t_x) over n opportunities: index x * (n+1) + t_x. */
static size_t simulate_patterns(const double *par, double n, size_t customers,
                                btyd_pattern *pat)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 20100101);
    size_t side = (size_t)n + 1, used = 0;
    for (size_t i = 0; i < side * side; i++)
        pat[i] = (btyd_pattern){(double)(i / side), (double)(i % side), n, 0};
    for (size_t c = 0; c < customers; c++) {
        double x, tx;
        ck_assert_int_eq(M->simulate(par, n, r, &x, &tx), GSL_SUCCESS);
        pat[(size_t)x * side + (size_t)tx].weight += 1;
    }
    gsl_rng_free(r);
    for (size_t i = 0; i < side * side; i++)
        if (pat[i].weight > 0)
            pat[used++] = pat[i];
    return used;
}

START_TEST(test_bgbb_recovery)
{
    const double truth[4] = {1.204, 0.750, 0.657, 2.783};
    btyd_pattern pat[11 * 11];
    size_t n = simulate_patterns(truth, 10, 20000, pat);
    fit_result r;
    ck_assert_int_eq(fit_btyd(M, pat, n, 0, NULL, &r), GSL_SUCCESS);
    ck_assert(r.converged && r.std_errors_ok);
    printf("bgbb recovery (20000 customers, n = 10):");
    for (int i = 0; i < 4; i++) {
        printf(" %s %.4f (SE %.4f)", M->param_names[i], r.params[i], r.std_errors[i]);
        ck_assert_msg(fabs(r.params[i] - truth[i]) <= 3 * r.std_errors[i],
                      "%s = %.4f +- %.4f, truth %.4f", M->param_names[i], r.params[i],
                      r.std_errors[i], truth[i]);
    }
    printf("\n");
}
END_TEST

Suite *suite_bgbb(void)
{
    Suite *s = suite_create("bgbb");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bgbb_table);
    tcase_add_test(tc, test_bgbb_reference_values);
    tcase_add_test(tc, test_bgbb_properties_grid);
    tcase_add_test(tc, test_bgbb_gamma_near_one_is_continuous);
    tcase_add_test(tc, test_bgbb_domain);
    tcase_add_test(tc, test_bgbb_donation_fit);
    tcase_add_test(tc, test_bgbb_recovery);
    suite_add_tcase(s, tc);
    return s;
}

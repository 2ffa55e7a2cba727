/* The expectation at many horizons of one history (btyd_expected_many,
 * hyp2f1_log_err_many) and the CLV built on it against the one-horizon
 * functions they replace: on random parameters (tiny to huge) and random
 * histories (x = 0, t_x = T, huge T among them) every model's discounted
 * CLV equals the month-by-month sum of m->expected to 1e-12 (and fails with
 * the same code where that fails), and expected_many and hyp2f1_log_err_many
 * equal the one-horizon functions bit for bit (a list item and the
 * customer's own GET may compute the same expectation either way). */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>

#include "model/btyd.h"
#include "model/clv.h"
#include "model/hyp2f1.h"

#define TOL 1e-12

static void setup(void)
{
    gsl_set_error_handler_off();
}

/* The CLV loop as it was: m->expected at each month. */
static int slow_discounted(const btyd_model *m, const double *params, double x,
                           double t_x, double T, const clv_options *o, double *out)
{
    if (!clv_options_valid(o))
        return GSL_EDOM;
    double sum = 0, prev = 0;
    for (unsigned k = 1; k <= o->months; k++) {
        double e;
        int rc = m->expected(params, x, t_x, T, k * o->month_periods, &e);
        if (rc != GSL_SUCCESS)
            return rc;
        sum += (e - prev) / pow(1 + o->discount_rate, k);
        prev = e;
    }
    if (!isfinite(sum))
        return GSL_ERANGE;
    *out = sum;
    return GSL_SUCCESS;
}

static double rel(double got, double want)
{
    if (got == want)
        return 0;
    return fabs(got - want) / fmax(fabs(want), 1e-300);
}

/* log-uniform in [lo, hi] */
static double log_uniform(const gsl_rng *r, double lo, double hi)
{
    return exp(log(lo) + gsl_rng_uniform(r) * (log(hi) - log(lo)));
}

/* A random parameter: mostly moderate, sometimes tiny or huge. */
static double random_param(const gsl_rng *r)
{
    double u = gsl_rng_uniform(r);
    if (u < 0.1)
        return log_uniform(r, 1e-4, 1e-2);
    if (u < 0.2)
        return log_uniform(r, 1e2, 1e4);
    return log_uniform(r, 0.05, 50);
}

/* A random history of model m; the edge cases come often. */
static void random_history(const btyd_model *m, const gsl_rng *r, double *x, double *t_x,
                           double *T)
{
    double u = gsl_rng_uniform(r);
    if (m->discrete) {
        double n = floor(u < 0.1 ? 0 : log_uniform(r, 1, 400));
        double xx = floor(gsl_rng_uniform(r) * (n + 1));
        double tx = xx == 0 ? 0 : xx + floor(gsl_rng_uniform(r) * (n - xx + 1));
        if (xx > 0 && gsl_rng_uniform(r) < 0.2)
            tx = n; /* bought at the last opportunity */
        *x = xx;
        *t_x = tx;
        *T = n;
        return;
    }
    double TT = u < 0.05   ? 0
                : u < 0.15 ? log_uniform(r, 1e4, 1e6)
                           : log_uniform(r, 0.1, 600);
    double v = gsl_rng_uniform(r);
    double xx =
        v < 0.25 ? 0 : floor(v < 0.9 ? log_uniform(r, 1, 30) : log_uniform(r, 30, 500));
    double tx = xx == 0 ? 0 : gsl_rng_uniform(r) < 0.2 ? TT : gsl_rng_uniform(r) * TT;
    *x = xx;
    *t_x = tx;
    *T = TT;
}

static const btyd_model *const models[] = {&bgnbd_model, &pareto_model, &mbgnbd_model,
                                           &bgbb_model,  &bggeo_model,  &bgpois_model};

/* n random cases of model m: clv_discounted_purchases against the loop. */
static void check_model(const btyd_model *m, const gsl_rng *r, size_t n)
{
    static const unsigned months[] = {1, 12, 36, 65, 120};
    static const double month_len[] = {CLV_MONTH_DAYS, CLV_MONTH_WEEKS, 1, 0.25};
    size_t ok = 0, same_error = 0, joint = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double p[BTYD_MAX_PARAMS], x, t_x, T;
        for (size_t j = 0; j < m->n_params; j++)
            p[j] = random_param(r);
        random_history(m, r, &x, &t_x, &T);
        clv_options o = {months[gsl_rng_uniform_int(r, 5)], 0.01 * gsl_rng_uniform(r), 1,
                         m->discrete ? 1 : month_len[gsl_rng_uniform_int(r, 4)]};
        double fast = NAN, slow = NAN;
        int rf = clv_discounted_purchases(m, p, x, t_x, T, &o, &fast);
        int rs = slow_discounted(m, p, x, t_x, T, &o, &slow);
        ck_assert_msg(rf == rs,
                      "%s p = {%.17g, %.17g, %.17g, %.17g} x %.17g t_x %.17g T %.17g "
                      "%u months of %g: rc %d, the loop's %d",
                      m->name, p[0], p[1], p[2], p[3], x, t_x, T, o.months,
                      o.month_periods, rf, rs);
        if (rf != GSL_SUCCESS) {
            same_error++;
            continue;
        }
        /* with the horizon in the batch: the same bits as the calls apart */
        double h =
            m->discrete ? floor(log_uniform(r, 1, 300)) : log_uniform(r, 1e-3, 5e3);
        double joint_d = NAN, joint_e = NAN, alone_e = NAN;
        int rj = clv_discounted_and_expected(m, p, x, t_x, T, &o, h, &joint_e, &joint_d);
        int ra = m->expected(p, x, t_x, T, h, &alone_e);
        ck_assert_int_eq(rj == GSL_SUCCESS, ra == GSL_SUCCESS && rf == GSL_SUCCESS);
        if (rj == GSL_SUCCESS) {
            ck_assert_msg(
                joint_d == fast && joint_e == alone_e,
                "%s x %.17g t_x %.17g T %.17g h %.17g: %.17g %.17g, apart %.17g "
                "%.17g",
                m->name, x, t_x, T, h, joint_d, joint_e, fast, alone_e);
            joint++;
        }
        double e = rel(fast, slow);
        ck_assert_msg(e <= TOL,
                      "%s p = {%.17g, %.17g, %.17g, %.17g} x %.17g t_x %.17g T %.17g "
                      "%u months of %g: %.17g, the loop %.17g (rel %.3g)",
                      m->name, p[0], p[1], p[2], p[3], x, t_x, T, o.months,
                      o.month_periods, fast, slow, e);
        worst = fmax(worst, e);
        ok++;
    }
    fprintf(stderr,
            "clv_many %s: %zu equal (worst rel %.3g), %zu same error, %zu with the "
            "horizon in the batch the same bits\n",
            m->name, ok, worst, same_error, joint);
    ck_assert_uint_ge(ok, n / 4); /* bggeo refuses many random parameters */
}

START_TEST(test_clv_fast_equals_loop)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1207 + (unsigned long)_i);
    check_model(models[_i], r, 400);
    gsl_rng_free(r);
}
END_TEST

/* Edge histories with the CDNOW-like parameters of each family (and at
 * 44 months a = 1.00003, b = 0.1 for the continuous ones). */
START_TEST(test_clv_fast_edges)
{
    static const double cont[4] = {0.243, 4.414, 0.793, 2.426};
    static const double bgbb[4] = {1.204, 0.750, 0.657, 2.783};
    /* a within A_GUARD of 1 (BG/NBD's interpolation), a+b small */
    static const double near_one[4] = {0.243, 4.414, 1.00003, 0.1};
    static const double hist[][3] = {{0, 0, 0},    {0, 0, 38},    {5, 38, 38},
                                     {5, 0.5, 38}, {0, 0, 1e6},   {300, 1e6, 1e6},
                                     {1, 1e-9, 1}, {2000, 30, 39}};
    const btyd_model *m = models[_i];
    for (size_t h = 0; h < sizeof hist / sizeof hist[0]; h++) {
        double x = hist[h][0], t_x = hist[h][1], T = hist[h][2];
        if (m->discrete) { /* whole opportunities, x = 0 exactly when t_x = 0 */
            T = fmin(floor(T), 5000);
            t_x = fmin(ceil(t_x), T);
            x = fmin(x, t_x);
            if (x == 0)
                t_x = 0;
        }
        for (unsigned months = 1; months <= 130; months += 43) {
            clv_options o = {months, 0.01, 1, m->discrete ? 1 : CLV_MONTH_WEEKS};
            double fast = NAN, slow = NAN;
            const double *p = m->discrete ? bgbb : months == 44 ? near_one : cont;
            int rf = clv_discounted_purchases(m, p, x, t_x, T, &o, &fast);
            int rs = slow_discounted(m, p, x, t_x, T, &o, &slow);
            ck_assert_msg(rf == rs, "%s (%g, %g, %g) %u months: rc %d, the loop's %d",
                          m->name, x, t_x, T, months, rf, rs);
            if (rf == GSL_SUCCESS)
                ck_assert_msg(rel(fast, slow) <= TOL, "%s (%g, %g, %g): %.17g vs %.17g",
                              m->name, x, t_x, T, fast, slow);
        }
    }
}
END_TEST

/* expected_many at horizons in any order, 0 among them, and a bad horizon
 * at a random place: each value (to the bit), and the first failure, as
 * expected's. */
START_TEST(test_expected_many_any_horizons)
{
    const btyd_model *m = models[_i];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 99 + (unsigned long)_i);
    for (int c = 0; c < 60; c++) {
        double p[BTYD_MAX_PARAMS], x, t_x, T, t[80], many[80], one;
        for (size_t j = 0; j < m->n_params; j++)
            p[j] = random_param(r);
        random_history(m, r, &x, &t_x, &T);
        size_t n = 1 + gsl_rng_uniform_int(r, 80);
        for (size_t i = 0; i < n; i++) {
            double u = gsl_rng_uniform(r);
            t[i] = u < 0.1       ? 0
                   : m->discrete ? floor(log_uniform(r, 1, 300))
                                 : log_uniform(r, 1e-3, 5e3);
        }
        if (c % 3 == 0) /* a horizon expected refuses */
            t[gsl_rng_uniform_int(r, n)] = c % 2 ? -1 : (m->discrete ? 2.5 : NAN);
        int rm = btyd_expected_many(m, p, x, t_x, T, t, n, many), want = GSL_SUCCESS;
        for (size_t i = 0; i < n; i++) {
            int r1 = m->expected(p, x, t_x, T, t[i], &one);
            if (r1 != GSL_SUCCESS) {
                want = r1;
                break;
            }
            ck_assert_msg(many[i] == one, "%s t = %.17g: %.17g vs %.17g", m->name, t[i],
                          many[i], one);
        }
        ck_assert_msg(rm == want, "%s: rc %d, expected's %d", m->name, rm, want);
    }
    gsl_rng_free(r);
}
END_TEST

/* hyp2f1_log_err_many against hyp2f1_log_err, z spread over [0, 1) with
 * bad ones among them, c-a-b near an integer sometimes. */
START_TEST(test_hyp2f1_many_equals_one)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 4242);
    for (int c = 0; c < 300; c++) {
        double a = (gsl_rng_uniform(r) - 0.3) * 60, b = (gsl_rng_uniform(r) - 0.3) * 10;
        double cc = log_uniform(r, 0.05, 400);
        if (c % 7 == 0)
            b = cc - a - 3 + 1e-6 * gsl_rng_uniform(r); /* c-a-b near 3 */
        size_t n = 1 + gsl_rng_uniform_int(r, 150);
        double z[150], out[150], err[150];
        int rc[150];
        for (size_t i = 0; i < n; i++) {
            double u = gsl_rng_uniform(r);
            z[i] = u < 0.05   ? 0
                   : u < 0.08 ? 1.5
                   : u < 0.1  ? -0.1
                              : gsl_rng_uniform(r) * 0.999;
        }
        int first = hyp2f1_log_err_many(a, b, cc, z, n, out, err, rc), want_first = 0;
        for (size_t i = 0; i < n; i++) {
            double o1 = NAN, e1 = NAN;
            int r1 = hyp2f1_log_err(a, b, cc, z[i], &o1, &e1);
            ck_assert_msg(rc[i] == r1, "2F1(%.17g, %.17g; %.17g; %.17g): rc %d vs %d", a,
                          b, cc, z[i], rc[i], r1);
            if (r1 == GSL_SUCCESS) {
                ck_assert_msg(out[i] == o1,
                              "2F1(%.17g, %.17g; %.17g; %.17g): %.17g vs %.17g", a, b, cc,
                              z[i], out[i], o1);
                ck_assert(err[i] == e1);
            } else if (want_first == GSL_SUCCESS) {
                want_first = r1;
            }
        }
        ck_assert_int_eq(first, want_first);
    }
    gsl_rng_free(r);
}
END_TEST

Suite *suite_clv_many(void)
{
    Suite *s = suite_create("clv_many");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 600);
    int n = (int)(sizeof models / sizeof models[0]);
    tcase_add_loop_test(tc, test_clv_fast_equals_loop, 0, n);
    tcase_add_loop_test(tc, test_clv_fast_edges, 0, n);
    tcase_add_loop_test(tc, test_expected_many_any_horizons, 0, n);
    tcase_add_test(tc, test_hyp2f1_many_equals_one);
    suite_add_tcase(s, tc);
    return s;
}

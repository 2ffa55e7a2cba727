/* hyp2f1_log against mpmath reference values (tests/reference/hyp2f1.py),
 * including z near 1 and c-a-b near an integer, plus its domain checks. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>

#include "model/hyp2f1.h"
#include "refcsv.h"

/* log 2F1 is compared absolutely: that is the relative error of 2F1. */
#define TOL 1e-11

static void setup(void)
{
    gsl_set_error_handler_off();
}

START_TEST(test_reference)
{
    refcsv t;
    ck_assert_int_eq(refcsv_load("tests/data/ref_hyp2f1.csv", &t), 0);
    int ca = refcsv_col(&t, "a"), cb = refcsv_col(&t, "b"), cc = refcsv_col(&t, "c");
    int cz = refcsv_col(&t, "z"), cv = refcsv_col(&t, "log2f1");
    ck_assert(ca >= 0 && cb >= 0 && cc >= 0 && cz >= 0 && cv >= 0);
    ck_assert_uint_gt(t.n_rows, 100);
    double worst = 0;
    size_t failed = 0;
    for (size_t i = 0; i < t.n_rows; i++) {
        double a = refcsv_at(&t, i, ca), b = refcsv_at(&t, i, cb);
        double c = refcsv_at(&t, i, cc), z = refcsv_at(&t, i, cz);
        double ref = refcsv_at(&t, i, cv), got = NAN;
        int rc = hyp2f1_log(a, b, c, z, &got);
        double err = rc == GSL_SUCCESS ? fabs(got - ref) / fmax(1, fabs(ref)) : INFINITY;
        if (!(err <= TOL)) {
            failed++;
            fprintf(stderr,
                    "hyp2f1_log(%.17g, %.17g, %.17g, %.17g): rc %d got %.17g "
                    "ref %.17g\n",
                    a, b, c, z, rc, got, ref);
        } else if (err > worst) {
            worst = err;
        }
    }
    fprintf(stderr, "hyp2f1_log: %zu reference values, max error %.3g\n", t.n_rows,
            worst);
    refcsv_free(&t);
    ck_assert_uint_eq(failed, 0);
}
END_TEST

START_TEST(test_domain)
{
    double v = 12345;
    ck_assert_int_eq(hyp2f1_log(1, 1, 0, 0.5, &v), GSL_EDOM);
    ck_assert_int_eq(hyp2f1_log(1, 1, -1.5, 0.5, &v), GSL_EDOM);
    ck_assert_int_eq(hyp2f1_log(1, 1, 2, 1, &v), GSL_EDOM);
    ck_assert_int_eq(hyp2f1_log(1, 1, 2, -0.1, &v), GSL_EDOM);
    ck_assert_int_eq(hyp2f1_log(NAN, 1, 2, 0.1, &v), GSL_EDOM);
    ck_assert_int_eq(hyp2f1_log(1, INFINITY, 2, 0.1, &v), GSL_EDOM);
    /* 2F1(-1, 1; 1; z) = 1 - z, 2F1(-1, 3; 1; 0.5) = -0.5 < 0 */
    ck_assert_int_eq(hyp2f1_log(-1, 3, 1, 0.5, &v), GSL_EDOM);
    ck_assert(v == 12345);
    ck_assert_int_eq(hyp2f1_log(-1, 1, 1, 0.25, &v), GSL_SUCCESS);
    ck_assert(fabs(v - log(0.75)) < 1e-15);
}
END_TEST

/* Closed forms: 2F1(1,1;2;z) = -log(1-z)/z, 2F1(a,b;b;z) = (1-z)^-a. */
START_TEST(test_closed_forms)
{
    for (double z = 0.01; z < 1; z = 1 - (1 - z) * 0.5) {
        double v;
        ck_assert_int_eq(hyp2f1_log(1, 1, 2, z, &v), GSL_SUCCESS);
        double ref = log(-log1p(-z) / z);
        ck_assert_msg(fabs(v - ref) < 2e-11, "z=%g v=%.17g ref=%.17g", z, v, ref);
        ck_assert_int_eq(hyp2f1_log(0.7, 2.5, 2.5, z, &v), GSL_SUCCESS);
        ref = -0.7 * log1p(-z);
        ck_assert_msg(fabs(v - ref) < 1e-12 * fmax(1, fabs(ref)), "z=%g", z);
        if (z > 1 - 1e-9)
            break;
    }
}
END_TEST

/* Never a non-finite value with success, over a wide grid. */
START_TEST(test_grid_finite)
{
    const double p[] = {-3.5, -0.7, 1e-4, 0.3, 1, 2.5, 17, 300, 1e4};
    const double zs[] = {0, 1e-9, 0.2, 0.5, 0.8, 0.99, 1 - 1e-6};
    size_t ok = 0, total = 0;
    for (size_t i = 0; i < 9; i++)
        for (size_t j = 0; j < 9; j++)
            for (size_t k = 2; k < 9; k++)
                for (size_t l = 0; l < 7; l++) {
                    double v = NAN;
                    int rc = hyp2f1_log(p[i], p[j], p[k], zs[l], &v);
                    total++;
                    if (rc == GSL_SUCCESS) {
                        ck_assert(isfinite(v));
                        ok++;
                    }
                }
    fprintf(stderr, "hyp2f1_log grid: %zu of %zu succeeded\n", ok, total);
}
END_TEST

Suite *suite_hyp2f1(void)
{
    Suite *s = suite_create("hyp2f1");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reference);
    tcase_add_test(tc, test_domain);
    tcase_add_test(tc, test_closed_forms);
    tcase_add_test(tc, test_grid_finite);
    suite_add_tcase(s, tc);
    return s;
}

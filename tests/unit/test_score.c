/* CLV against high-precision references (tests/reference/clv.py), and batch
 * scoring against one-by-one scoring. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/clv.h"
#include "model/gg.h"
#include "model/score.h"

static const double bgnbd_cdnow[4] = {0.243, 4.414, 0.793, 2.426};
static const double gg_cdnow[3] = {6.25, 3.74, 15.44};

static void setup(void)
{
    gsl_set_error_handler_off();
}

static void assert_rel(double got, double want, double tol, const char *what)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    ck_assert_msg(err <= tol, "%s: got %.17g want %.17g (rel %.3g)", what, got, want,
                  err);
}

START_TEST(test_clv_matches_reference)
{
    FILE *f = fopen("tests/data/ref_clv.csv", "r");
    ck_assert_msg(f != NULL,
                  "cannot read tests/data/ref_clv.csv (run from the repo root)");
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        double v[10];
        unsigned months;
        if (line[0] == '#' || line[0] == 'x')
            continue;
        int n = sscanf(line, "%lf,%lf,%lf,%lf,%u,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1],
                       &v[2], &v[3], &months, &v[5], &v[6], &v[7], &v[8], &v[9]);
        ck_assert_int_eq(n, 10);
        double spend, clv;
        ck_assert_int_eq(gg_expected_spend(gg_cdnow, v[0], v[3], &spend), GSL_SUCCESS);
        assert_rel(spend, v[8], 1e-12, "expected spend");
        clv_options o = {months, v[5], v[6], v[7]};
        ck_assert_int_eq(
            clv_value(&bgnbd_model, bgnbd_cdnow, v[0], v[1], v[2], spend, &o, &clv),
            GSL_SUCCESS);
        assert_rel(clv, v[9], 1e-9, "clv");
        rows++;
    }
    fclose(f);
    ck_assert_int_ge(rows, 8);
}
END_TEST

START_TEST(test_clv_month_lengths_and_domain)
{
    ck_assert_double_eq(clv_month_periods(&bgnbd_model, 1), 30.0);
    ck_assert_double_eq(clv_month_periods(&bgnbd_model, 7), 4.345);
    ck_assert_double_eq(clv_month_periods(&bgbb_model, 7), 1.0);
    clv_options o = {12, 0.01, 1, 4.345};
    double out = 42;
    ck_assert_int_eq(clv_value(&bgnbd_model, bgnbd_cdnow, 1, 2, 3, -1, &o, &out),
                     GSL_EDOM);
    o.months = 0;
    ck_assert_int_eq(clv_value(&bgnbd_model, bgnbd_cdnow, 1, 2, 3, 10, &o, &out),
                     GSL_EDOM);
    o = (clv_options){12, -1, 1, 4.345};
    ck_assert_int_eq(clv_value(&bgnbd_model, bgnbd_cdnow, 1, 2, 3, 10, &o, &out),
                     GSL_EDOM);
    o = (clv_options){12, 0.01, 1, 4.345};
    ck_assert_int_eq(clv_value(&bgnbd_model, bgnbd_cdnow, 3, 2, 1, 10, &o, &out),
                     GSL_EDOM);
    ck_assert_double_eq(out, 42);
}
END_TEST

/* Histories repeat (as they do in real data); -0 and 0 are one history. */
static void make_inputs(score_input *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double x = (double)(i % 7), T = 20 + (double)(i % 13);
        in[i] = (score_input){x, x > 0 ? T * (double)(i % 5) / 5 : (i % 2 ? -0.0 : 0.0),
                              T, x > 0 ? 10 + (double)(i % 11) : 0};
    }
}

START_TEST(test_score_batch_equals_one_by_one)
{
    enum { N = 5000 };
    static score_input in[N];
    static score_output out[N];
    make_inputs(in, N);
    const btyd_model *models[] = {&bgnbd_model, &pareto_model, &mbgnbd_model};
    const double params[3][4] = {{0.243, 4.414, 0.793, 2.426},
                                 {0.553, 10.578, 0.606, 11.669},
                                 {0.525, 6.183, 0.891, 1.614}};
    for (int k = 0; k < 3; k++) {
        score_spec spec = {models[k], params[k], gg_cdnow, 10, {12, 0.01, 0.5, 4.345}};
        size_t bad = 99;
        ck_assert_int_eq(score_batch(&spec, in, N, out, &bad), GSL_SUCCESS);
        for (size_t i = 0; i < N; i += 37) {
            const score_input *c = &in[i];
            double pa, e, pp, sp, clv;
            const btyd_model *m = models[k];
            ck_assert_int_eq(m->p_alive(params[k], c->x, c->t_x, c->T, &pa), GSL_SUCCESS);
            ck_assert_int_eq(m->expected(params[k], c->x, c->t_x, c->T, 10, &e),
                             GSL_SUCCESS);
            ck_assert_int_eq(btyd_p_any(m, params[k], c->x, c->t_x, c->T, 10, &pp),
                             GSL_SUCCESS);
            ck_assert_int_eq(gg_expected_spend(gg_cdnow, c->x, c->m, &sp), GSL_SUCCESS);
            ck_assert_int_eq(
                clv_value(m, params[k], c->x, c->t_x, c->T, sp, &spec.clv, &clv),
                GSL_SUCCESS);
            ck_assert_double_eq(out[i].p_alive, pa);
            ck_assert_double_eq(out[i].expected, e);
            ck_assert_double_eq(out[i].p_purchase, pp);
            ck_assert_double_eq(out[i].expected_spend, sp);
            assert_rel(out[i].clv, clv, 1e-14, "clv");
        }
    }
}
END_TEST

START_TEST(test_score_batch_reports_first_bad_customer)
{
    score_input in[4] = {{1, 2, 10, 5}, {0, 0, 10, 0}, {2, 11, 10, 5}, {-1, 0, 10, 0}};
    score_output out[4];
    score_spec spec = {&bgnbd_model, bgnbd_cdnow, NULL, 10, {12, 0.01, 1, 4.345}};
    size_t bad = 99;
    ck_assert_int_eq(score_batch(&spec, in, 4, out, &bad), GSL_EDOM);
    ck_assert_uint_eq(bad, 2);
    ck_assert_int_eq(score_batch(&spec, in, 2, out, &bad), GSL_SUCCESS);
    ck_assert_double_eq(out[0].clv, 0);
    ck_assert_int_eq(score_batch(&spec, in, 0, out, &bad), GSL_SUCCESS);
}
END_TEST

Suite *suite_score(void)
{
    Suite *s = suite_create("score");
    TCase *tc = tcase_create("clv_and_batch");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_clv_matches_reference);
    tcase_add_test(tc, test_clv_month_lengths_and_domain);
    tcase_add_test(tc, test_score_batch_equals_one_by_one);
    tcase_add_test(tc, test_score_batch_reports_first_bad_customer);
    suite_add_tcase(s, tc);
    return s;
}

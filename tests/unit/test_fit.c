/* The fitting engine on likelihoods whose optimum and standard errors are
 * known in closed form. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>

#include "model/fit.h"

/* Exponential waiting times (n1 of them summing to s1) and Poisson counts
 * (n2 of them summing to s2): MLE lambda = n1/s1 with SE lambda/sqrt(n1),
 * mu = s2/n2 with SE sqrt(mu/n2). */
typedef struct {
    double n1, s1, n2, s2;
} expo_pois;

static int expo_pois_ll(const double *p, const void *data, double *ll)
{
    const expo_pois *d = data;
    *ll = d->n1 * log(p[0]) - p[0] * d->s1 + d->s2 * log(p[1]) - d->n2 * p[1];
    return GSL_SUCCESS;
}

static int expo_pois_grad(const double *p, const void *data, double *ll, double *g)
{
    const expo_pois *d = data;
    g[0] = d->n1 / p[0] - d->s1;
    g[1] = d->s2 / p[1] - d->n2;
    return expo_pois_ll(p, data, ll);
}

static int always_fails(const double *p, const void *data, double *ll)
{
    (void)p, (void)data, (void)ll;
    return GSL_ERANGE;
}

static void setup(void)
{
    gsl_set_error_handler_off();
}

START_TEST(test_fit_closed_form_optimum_and_se)
{
    expo_pois d = {400, 123.0, 250, 1000.0};
    const double init[2] = {1.0, 1.0};
    fit_spec spec = {.n_params = 2,
                     .loglik = expo_pois_ll,
                     .data = &d,
                     .total_weight = 650,
                     .init = init};
    fit_result r;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_SUCCESS);
    ck_assert(r.converged);
    double lambda = 400 / 123.0, mu = 1000.0 / 250;
    ck_assert_double_eq_tol(r.params[0], lambda, 1e-7 * lambda);
    ck_assert_double_eq_tol(r.params[1], mu, 1e-7 * mu);
    ck_assert(r.std_errors_ok);
    ck_assert_double_eq_tol(r.std_errors[0], lambda / sqrt(400), 1e-5 * lambda);
    ck_assert_double_eq_tol(r.std_errors[1], sqrt(mu / 250), 1e-5 * mu);
    double ll;
    expo_pois_ll(r.params, &d, &ll);
    ck_assert_double_eq_tol(r.log_likelihood, ll, 1e-9);
    ck_assert(r.seconds >= 0);
}
END_TEST

START_TEST(test_fit_analytic_gradient_same_optimum)
{
    expo_pois d = {400, 123.0, 250, 1000.0};
    const double init[2] = {1.0, 1.0};
    fit_spec spec = {.n_params = 2,
                     .loglik = expo_pois_ll,
                     .loglik_grad = expo_pois_grad,
                     .data = &d,
                     .total_weight = 650,
                     .penalizer = 0.01,
                     .init = init};
    fit_result a, b;
    ck_assert_int_eq(fit_mle(&spec, &a), GSL_SUCCESS);
    spec.loglik_grad = NULL;
    ck_assert_int_eq(fit_mle(&spec, &b), GSL_SUCCESS);
    ck_assert(a.converged && b.converged);
    for (int i = 0; i < 2; i++)
        ck_assert_double_eq_tol(a.params[i], b.params[i], 1e-7 * b.params[i]);
}
END_TEST

START_TEST(test_fit_warm_start_converges_at_once)
{
    expo_pois d = {400, 123.0, 250, 1000.0};
    const double init[2] = {400 / 123.0, 4.0};
    fit_spec spec = {.n_params = 2,
                     .loglik = expo_pois_ll,
                     .data = &d,
                     .total_weight = 650,
                     .init = init};
    fit_result r;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_SUCCESS);
    ck_assert(r.converged);
    ck_assert_uint_le(r.iterations, 2);
}
END_TEST

START_TEST(test_fit_penalizer_shrinks)
{
    expo_pois d = {400, 123.0, 250, 1000.0};
    const double init[2] = {1.0, 1.0};
    fit_spec spec = {.n_params = 2,
                     .loglik = expo_pois_ll,
                     .data = &d,
                     .total_weight = 650,
                     .penalizer = 0.1,
                     .init = init};
    fit_result r;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_SUCCESS);
    ck_assert(r.converged);
    ck_assert_double_lt(r.params[0], 400 / 123.0);
    ck_assert_double_lt(r.params[1], 4.0);
}
END_TEST

START_TEST(test_fit_rejects_bad_spec)
{
    expo_pois d = {400, 123.0, 250, 1000.0};
    const double bad_init[2] = {-1.0, 1.0}, init[2] = {1, 1};
    fit_spec spec = {.n_params = 2,
                     .loglik = expo_pois_ll,
                     .data = &d,
                     .total_weight = 650,
                     .init = bad_init};
    fit_result r;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_EDOM);
    spec.init = init;
    spec.total_weight = 0;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_EDOM);
    spec.total_weight = 1;
    spec.penalizer = NAN;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_EDOM);
    spec.penalizer = 0;
    spec.loglik = always_fails;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_ERANGE);
}
END_TEST

/* A positive rate (exponential: 400 waits summing to 123) and a real mean
 * (unit-variance normal: 100 draws summing to -250) fitted together with
 * fit_mle_wide: lambda = 400/123 with SE lambda/20, mu = -2.5 with SE 0.1,
 * no covariance between them. */
static int rate_mean_ll(const double *p, const void *data, double *ll)
{
    (void)data;
    *ll = 400 * log(p[0]) - 123 * p[0] - (100 * p[1] * p[1] + 2 * 250 * p[1]) / 2;
    return GSL_SUCCESS;
}

static int rate_mean_grad(const double *p, const void *data, double *ll, double *g)
{
    g[0] = 400 / p[0] - 123;
    g[1] = -100 * p[1] - 250;
    return rate_mean_ll(p, data, ll);
}

START_TEST(test_fit_wide_real_parameters)
{
    const double init[2] = {1.0, 0.0};
    double cov[4];
    fit_spec spec = {.n_params = 2,
                     .loglik = rate_mean_ll,
                     .loglik_grad = rate_mean_grad,
                     .total_weight = 500,
                     .init = init,
                     .n_real = 1,
                     .covariance = cov};
    fit_result_wide w;
    ck_assert_int_eq(fit_mle_wide(&spec, &w), GSL_SUCCESS);
    ck_assert(w.converged && w.std_errors_ok);
    double lambda = 400 / 123.0;
    ck_assert_double_eq_tol(w.params[0], lambda, 1e-7 * lambda);
    ck_assert_double_eq_tol(w.params[1], -2.5, 1e-7);
    ck_assert_double_eq_tol(w.std_errors[0], lambda / 20, 1e-5 * lambda);
    ck_assert_double_eq_tol(w.std_errors[1], 0.1, 1e-5);
    ck_assert_double_eq_tol(cov[0], w.std_errors[0] * w.std_errors[0], 1e-9);
    ck_assert_double_eq_tol(cov[1], 0, 1e-9);
    /* fit_mle keeps its limits: no covariance, at most FIT_MAX_PARAMS */
    fit_result r;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_EDOM);
    spec.covariance = NULL;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_SUCCESS);
    ck_assert_double_eq_tol(r.params[1], -2.5, 1e-7);
    spec.n_params = FIT_MAX_PARAMS + 1;
    ck_assert_int_eq(fit_mle(&spec, &r), GSL_EDOM);
}
END_TEST

Suite *suite_fit(void)
{
    Suite *s = suite_create("fit");
    TCase *tc = tcase_create("mle");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_fit_closed_form_optimum_and_se);
    tcase_add_test(tc, test_fit_warm_start_converges_at_once);
    tcase_add_test(tc, test_fit_analytic_gradient_same_optimum);
    tcase_add_test(tc, test_fit_penalizer_shrinks);
    tcase_add_test(tc, test_fit_rejects_bad_spec);
    tcase_add_test(tc, test_fit_wide_real_parameters);
    suite_add_tcase(s, tc);
    return s;
}

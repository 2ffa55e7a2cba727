/* BG/NBD with a homogeneous purchase rate: the limit of BG/NBD when the
 * Gamma(r, alpha) of the purchase rates collapses to a point, r, alpha ->
 * infinity with r / alpha = lambda. Every customer buys at the same Poisson
 * rate lambda while alive; after each repeat purchase a customer drops out
 * with probability p ~ Beta(a, b). It is the nested model the service
 * falls back to when BG/NBD is not identified because real data sit on
 * that boundary (docs/models.md). Exposed as `bgpois_model` (btyd.h),
 * parameters {lambda, a, b}. With b' = b + x:
 *
 *   L        = lambda^x [ B(a, b')/B(a, b) e^(-lambda T)
 *                         + [x>0] B(a+1, b'-1)/B(a, b) e^(-lambda t_x) ]
 *   P(alive) = 1 / (1 + [x>0] a/(b'-1) e^(lambda (T - t_x)))
 *   E[Y(t)]  = P(alive) E[(1 - e^(-lambda p t)) / p],  p ~ Beta(a, b')
 *
 * which are BG/NBD's formulas in that limit ((alpha+T)^-(r+x) alpha^r
 * Gamma(r+x)/Gamma(r) -> lambda^x e^(-lambda T)). Given alive and p, the
 * purchases are a Poisson process of rate lambda stopped at the first one
 * after which the customer drops out (an exponential time of rate
 * lambda p), so E[Y(t) | p] = lambda E[min(t, Exp(lambda p))]
 * = (1 - e^(-lambda p t)) / p; p given the history and alive is
 * Beta(a, b'). That expectation is integrated over p by GSL's QAWS (the
 * Beta density's endpoint powers are its weight, the rest is smooth).
 * Y(t) = n when n purchases fall in t and the customer survives the n-th
 * (prob E[(1-p)^n]), or at least n fall and the customer drops out at the
 * n-th (E[p (1-p)^(n-1)]): Beta moments, Poisson tails. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

#include "model/btyd.h"

enum { LAMBDA, A, B };

static const char *const param_names[] = {"lambda", "a", "b"};
static const double init_params[] = {0.1, 1.0, 1.0};

#define QUAD_LIMIT 64

static int check(const double *p, double x, double t_x, double T)
{
    if (btyd_check_domain(p, 3, x, t_x, T) != GSL_SUCCESS || x != floor(x))
        return GSL_EDOM;
    return GSL_SUCCESS;
}

static int loglik(const double *p, double x, double t_x, double T, double *out)
{
    if (check(p, x, t_x, T) != GSL_SUCCESS)
        return GSL_EDOM;
    double lb = gsl_sf_lnbeta(p[A], p[B]);
    double head = x > 0 ? x * log(p[LAMBDA]) : 0;
    double alive = gsl_sf_lnbeta(p[A], p[B] + x) - lb - p[LAMBDA] * T;
    if (x == 0)
        return btyd_finite_out(head + alive, out);
    double dead = gsl_sf_lnbeta(p[A] + 1, p[B] + x - 1) - lb - p[LAMBDA] * t_x;
    double hi = fmax(alive, dead), lo = fmin(alive, dead);
    return btyd_finite_out(head + hi + log1p(exp(lo - hi)), out);
}

static int p_alive(const double *p, double x, double t_x, double T, double *out)
{
    if (check(p, x, t_x, T) != GSL_SUCCESS)
        return GSL_EDOM;
    if (x == 0) {
        *out = 1;
        return GSL_SUCCESS;
    }
    /* log of a/(b'-1) e^(lambda (T - t_x)): the odds of having dropped out */
    double lo = log(p[A]) - log(p[B] + x - 1) + p[LAMBDA] * (T - t_x);
    return btyd_finite_out(lo > 0 ? exp(-lo) / (1 + exp(-lo)) : 1 / (1 + exp(lo)), out);
}

/* (1 - e^(-s q)) / q, s at the pointer: smooth on [0, 1] (s at q = 0). */
static double stopped(double q, void *s)
{
    double v = *(const double *)s;
    return q > 0 ? -expm1(-v * q) / q : v;
}

/* The same expectation by the moments of p: (1 - e^(-s p)) / p =
 * sum_k>=1 (-1)^(k+1) s^k p^(k-1) / k!, and E[p^j] = prod_i<j (a+i)/(a+b+i).
 * It serves where the weight p^(a-1) is too near p^-1 for QAWS (a -> 0, a
 * drop-out probability that is almost always 0, b large): there the
 * moments fall fast and the terms with them. GSL_ELOSS when the terms
 * cancel more than 1e6-fold or do not fall below 1e-16 of the sum. */
static int beta_stopped_series(double s, double a, double b, double *out)
{
    double term = s, sum = s, biggest = s; /* k = 1: s E[p^0] */
    for (int k = 2; k < 2000; k++) {
        term *= -s / k * (a + k - 2) / (a + b + k - 2);
        sum += term;
        biggest = fmax(biggest, fabs(term));
        if (fabs(term) < 1e-16 * fabs(sum))
            return biggest > 1e6 * fabs(sum) ? GSL_ELOSS : btyd_finite_out(sum, out);
    }
    return GSL_ELOSS;
}

/* E[(1 - e^(-s p)) / p] for p ~ Beta(a, b): QAWS with the density's
 * powers as the weight, or the moment series where QAWS fails.
 * GSL_SUCCESS or the integrator's code. */
static int beta_stopped(double s, double a, double b, double *out)
{
    if (s == 0) {
        *out = 0;
        return GSL_SUCCESS;
    }
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(QUAD_LIMIT);
    gsl_integration_qaws_table *tab =
        gsl_integration_qaws_table_alloc(a - 1, b - 1, 0, 0);
    int rc = GSL_ENOMEM;
    double v = 0, err;
    if (w != NULL && tab != NULL) {
        gsl_function f = {stopped, &s};
        rc = gsl_integration_qaws(&f, 0, 1, tab, 0, 1e-10, QUAD_LIMIT, w, &v, &err);
    }
    gsl_integration_qaws_table_free(tab);
    gsl_integration_workspace_free(w);
    if (rc == GSL_SUCCESS)
        rc = btyd_finite_out(v / exp(gsl_sf_lnbeta(a, b)), out);
    if (rc != GSL_SUCCESS && rc != GSL_ENOMEM &&
        beta_stopped_series(s, a, b, out) == GSL_SUCCESS)
        rc = GSL_SUCCESS;
    return rc;
}

static int expected(const double *p, double x, double t_x, double T, double t,
                    double *out)
{
    double pa, e;
    if (!(t >= 0) || !isfinite(t) || p_alive(p, x, t_x, T, &pa) != GSL_SUCCESS)
        return GSL_EDOM;
    int rc = beta_stopped(p[LAMBDA] * t, p[A], p[B] + x, &e);
    return rc != GSL_SUCCESS ? rc : btyd_finite_out(pa * e, out);
}

/* P(Y(t) = n | alive, p ~ Beta(a, b)). */
static double p_n_alive(const double *p, double b, double t, unsigned n)
{
    double s = p[LAMBDA] * t;
    double lb = gsl_sf_lnbeta(p[A], b);
    double survive = exp(gsl_sf_lnbeta(p[A], b + n) - lb) * gsl_ran_poisson_pdf(n, s);
    if (n == 0)
        return survive;
    double drop =
        exp(gsl_sf_lnbeta(p[A] + 1, b + n - 1) - lb) * gsl_cdf_poisson_Q(n - 1, s);
    return survive + drop;
}

static int p_n(const double *p, double x, double t_x, double T, double t, unsigned n,
               double *out)
{
    double pa;
    if (!(t >= 0) || !isfinite(t) || p_alive(p, x, t_x, T, &pa) != GSL_SUCCESS)
        return GSL_EDOM;
    double v = pa * (t > 0 ? p_n_alive(p, p[B] + x, t, n) : n == 0);
    if (n == 0)
        v += 1 - pa;
    return btyd_finite_out(fmin(1, fmax(0, v)), out);
}

static int expected_new(const double *p, double t, double *out)
{
    if (check(p, 0, 0, 0) != GSL_SUCCESS || !(t >= 0) || !isfinite(t))
        return GSL_EDOM;
    return beta_stopped(p[LAMBDA] * t, p[A], p[B], out);
}

static int p_n_new(const double *p, double t, unsigned n, double *out)
{
    if (check(p, 0, 0, 0) != GSL_SUCCESS || !(t >= 0) || !isfinite(t))
        return GSL_EDOM;
    double v = t > 0 ? p_n_alive(p, p[B], t, n) : n == 0;
    return btyd_finite_out(fmin(1, fmax(0, v)), out);
}

static int simulate(const double *p, double T, const gsl_rng *rng, double *x, double *t_x)
{
    if (check(p, 0, 0, T) != GSL_SUCCESS || rng == NULL)
        return GSL_EDOM;
    double drop = gsl_ran_beta(rng, p[A], p[B]);
    btyd_simulate_poisson_dropout(p[LAMBDA], drop, T, rng, x, t_x);
    return GSL_SUCCESS;
}

const btyd_model bgpois_model = {
    .name = "bgpois",
    .title = "BG/NBD with a homogeneous purchase rate (the limit r, alpha -> infinity, "
             "lambda = r/alpha)",
    .n_params = 3,
    .param_names = param_names,
    .init = init_params,
    .discrete = 0,
    .loglik = loglik,
    .p_alive = p_alive,
    .expected = expected,
    .p_n = p_n,
    .expected_new = expected_new,
    .p_n_new = p_n_new,
    .simulate = simulate,
};

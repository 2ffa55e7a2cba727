/* BG/NBD with a homogeneous drop-out probability: the limit of BG/NBD when
 * the Beta(a, b) of the drop-out probability collapses to a point, a, b ->
 * infinity with a / (a + b) = p. Purchases follow a Poisson process with a
 * Gamma(r, alpha) rate; after each repeat purchase every customer drops out
 * with the same probability p. It is the nested model the service falls
 * back to when BG/NBD is not identified because real data sit on that
 * boundary (docs/models.md). Exposed as `bggeo_model` (btyd.h), parameters
 * {r, alpha, p} with 0 < p < 1. With r' = r + x and alpha' = alpha + T:
 *
 *   L       = Gamma(r')/Gamma(r) alpha^r [ (1-p)^x alpha'^-r'
 *                                         + [x>0] p (1-p)^(x-1) (alpha+t_x)^-r' ]
 *   P(alive) = 1 / (1 + [x>0] p/(1-p) (alpha'/(alpha+t_x))^r')
 *   E[Y(t)]  = P(alive) (1 - (alpha'/(alpha'+p t))^r') / p
 *
 * which are BG/NBD's formulas in that limit ((a+b+x-1)/(a-1) -> 1/p and
 * 2F1(r', b+x; a+b+x-1; z) -> (1-(1-p)z)^-r'). Conditional on being alive
 * with rate lambda, Y(t) = n when n purchase events fall in t and the
 * customer survives the n-th (prob (1-p)^n), or when at least n fall and
 * the customer drops out at the n-th (prob p (1-p)^(n-1)); lambda given the
 * history is Gamma(r', alpha'), so the event counts are NBD(r', alpha'). */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

#include "model/btyd.h"

enum { R, ALPHA, P };

static const char *const param_names[] = {"r", "alpha", "p"};
static const double init_params[] = {1.0, 1.0, 0.3};

static int check(const double *p, double x, double t_x, double T)
{
    if (btyd_check_domain(p, 3, x, t_x, T) != GSL_SUCCESS || !(p[P] < 1) || x != floor(x))
        return GSL_EDOM;
    return GSL_SUCCESS;
}

static int loglik(const double *p, double x, double t_x, double T, double *out)
{
    if (check(p, x, t_x, T) != GSL_SUCCESS)
        return GSL_EDOM;
    double rx = p[R] + x, lq = log1p(-p[P]);
    double head = lgamma(rx) - lgamma(p[R]) + p[R] * log(p[ALPHA]);
    double alive = x * lq - rx * log(p[ALPHA] + T);
    if (x == 0)
        return btyd_finite_out(head + alive, out);
    double dead = log(p[P]) + (x - 1) * lq - rx * log(p[ALPHA] + t_x);
    double hi = fmax(alive, dead), lo = fmin(alive, dead);
    return btyd_finite_out(head + hi + log1p(exp(lo - hi)), out);
}

/* log of p/(1-p) (alpha'/(alpha+t_x))^r': the odds of having dropped out. */
static double log_dead_odds(const double *p, double x, double t_x, double T)
{
    return log(p[P]) - log1p(-p[P]) +
           (p[R] + x) * (log(p[ALPHA] + T) - log(p[ALPHA] + t_x));
}

static int p_alive(const double *p, double x, double t_x, double T, double *out)
{
    if (check(p, x, t_x, T) != GSL_SUCCESS)
        return GSL_EDOM;
    if (x == 0) {
        *out = 1;
        return GSL_SUCCESS;
    }
    double lo = log_dead_odds(p, x, t_x, T);
    return btyd_finite_out(lo > 0 ? exp(-lo) / (1 + exp(-lo)) : 1 / (1 + exp(lo)), out);
}

/* E[Y(t)] for a customer alive with rate ~ Gamma(rx, a1). */
static double expected_alive(const double *p, double rx, double a1, double t)
{
    return -expm1(-rx * log1p(p[P] * t / a1)) / p[P];
}

static int expected(const double *p, double x, double t_x, double T, double t,
                    double *out)
{
    double pa;
    if (!(t >= 0) || !isfinite(t) || p_alive(p, x, t_x, T, &pa) != GSL_SUCCESS)
        return GSL_EDOM;
    return btyd_finite_out(pa * expected_alive(p, p[R] + x, p[ALPHA] + T, t), out);
}

/* P(Y(t) = n | alive, rate ~ Gamma(rx, a1)). */
static double p_n_alive(const double *p, double rx, double a1, double t, unsigned n)
{
    double lz0 = rx * log(a1 / (a1 + t)), lt = log(t / (a1 + t));
    double below = 0, nb_n = 0; /* sum of NBD(k) for k < n, and NBD(n) */
    for (unsigned k = 0; k <= n; k++) {
        double lnb =
            lz0 + (k > 0 ? k * lt : 0) + lgamma(rx + k) - lgamma(rx) - gsl_sf_lnfact(k);
        double v = exp(lnb);
        if (k < n)
            below += v;
        else
            nb_n = v;
    }
    double q = 1 - p[P];
    if (n == 0)
        return nb_n;
    double survive = exp(n * log(q)) * nb_n;
    double drop = p[P] * exp((n - 1.0) * log(q)) * fmax(0, 1 - below);
    return survive + drop;
}

static int p_n(const double *p, double x, double t_x, double T, double t, unsigned n,
               double *out)
{
    double pa;
    if (!(t >= 0) || !isfinite(t) || p_alive(p, x, t_x, T, &pa) != GSL_SUCCESS)
        return GSL_EDOM;
    double v = pa * (t > 0 ? p_n_alive(p, p[R] + x, p[ALPHA] + T, t, n) : n == 0);
    if (n == 0)
        v += 1 - pa;
    return btyd_finite_out(fmin(1, fmax(0, v)), out);
}

static int expected_new(const double *p, double t, double *out)
{
    if (check(p, 0, 0, 0) != GSL_SUCCESS || !(t >= 0) || !isfinite(t))
        return GSL_EDOM;
    return btyd_finite_out(expected_alive(p, p[R], p[ALPHA], t), out);
}

static int p_n_new(const double *p, double t, unsigned n, double *out)
{
    if (check(p, 0, 0, 0) != GSL_SUCCESS || !(t >= 0) || !isfinite(t))
        return GSL_EDOM;
    double v = t > 0 ? p_n_alive(p, p[R], p[ALPHA], t, n) : n == 0;
    return btyd_finite_out(fmin(1, fmax(0, v)), out);
}

static int simulate(const double *p, double T, const gsl_rng *rng, double *x, double *t_x)
{
    if (check(p, 0, 0, T) != GSL_SUCCESS || rng == NULL)
        return GSL_EDOM;
    double lambda = gsl_ran_gamma(rng, p[R], 1 / p[ALPHA]);
    btyd_simulate_poisson_dropout(lambda, p[P], T, rng, x, t_x);
    return GSL_SUCCESS;
}

const btyd_model bggeo_model = {
    .name = "bggeo",
    .title = "BG/NBD with homogeneous drop-out (the limit a, b -> infinity, p = a/(a+b))",
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

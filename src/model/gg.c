/* Gamma-Gamma model of the mean value of repeat purchases (Fader & Hardie
 * 2013; lifetimes' GammaGammaFitter): each purchase value z ~ Gamma(p, nu)
 * (shape p, rate nu), nu ~ Gamma(q, v) across customers, so the mean m of
 * x purchases satisfies x m | nu ~ Gamma(p x, nu).
 *
 * Zero-value purchases: a repeat customer whose mean spend is m = 0 has
 * density zero under the model (lifetimes takes log(0) = -inf and its fit
 * fails). Our policy: gg_loglik returns GSL_EDOM for m <= 0, gg_fit leaves
 * such customers out of the fit exactly like those with x = 0, and
 * gg_expected_spend still scores them with their own m (the posterior mean,
 * p (v + x m) / (p x + q - 1), is well defined at m = 0). */
#include "model/gg.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

enum { P, Q, V };

const char *const gg_param_names[3] = {"p", "q", "v"};
const double gg_init[3] = {1.0, 1.0, 1.0};

static int params_ok(const double *par)
{
    for (int i = 0; i < 3; i++)
        if (!isfinite(par[i]) || par[i] <= 0)
            return 0;
    return 1;
}

/* log f(m | x) = log Gamma(px+q) - log Gamma(px) - log Gamma(q) + q log v
 *   + (px-1) log m + px log x - (px+q) log(xm + v),
 * regrouped so that no two large logarithms cancel:
 *   lnpoch(px, q) - lnGamma(q) - q log1p(xm/v) - px log1p(v/(xm)) - log m. */
int gg_loglik(const double *params, double x, double m, double *out)
{
    if (!params_ok(params) || !isfinite(x) || x < 1 || !isfinite(m) || m <= 0)
        return GSL_EDOM;
    double p = params[P], q = params[Q], v = params[V], px = p * x, xm = x * m;
    double ll = gsl_sf_lnpoch(px, q) - gsl_sf_lngamma(q) - q * log1p(xm / v) -
                px * log1p(v / xm) - log(m);
    if (!isfinite(ll))
        return GSL_ERANGE;
    *out = ll;
    return GSL_SUCCESS;
}

/* Posterior mean of p / nu: p (v + x m) / (p x + q - 1); at x = 0 the
 * population mean p v / (q - 1). */
int gg_expected_spend(const double *params, double x, double m, double *out)
{
    if (!params_ok(params) || !(params[Q] > 1) || !isfinite(x) || x < 0 || !isfinite(m) ||
        m < 0)
        return GSL_EDOM;
    double p = params[P], q = params[Q], v = params[V];
    double e = p * (v + x * m) / (p * x + (q - 1));
    if (!isfinite(e))
        return GSL_ERANGE;
    *out = e;
    return GSL_SUCCESS;
}

int gg_simulate(const double *params, double x, const gsl_rng *rng, double *m)
{
    if (!params_ok(params) || !isfinite(x) || x < 1 || rng == NULL)
        return GSL_EDOM;
    double nu = gsl_ran_gamma(rng, params[Q], 1.0 / params[V]);
    if (!(nu > 0))
        return GSL_ERANGE;
    double mean = gsl_ran_gamma(rng, params[P] * x, 1.0 / nu) / x;
    if (!isfinite(mean))
        return GSL_ERANGE;
    *m = mean;
    return GSL_SUCCESS;
}

/* The Pareto/NBD purchase-count distribution: P(X(T, T+t) = n | history)
 * and, for a new customer, P(X(t) = n).
 *
 * A customer alive at T has the posterior lambda ~ Gamma(r+x, alpha+T),
 * mu ~ Gamma(s, beta+T), so the conditional PMF is
 *   [n = 0] P(dead at T) + P(alive at T) U(n; t | r+x, alpha+T, s, beta+T),
 * U being the unconditional PMF (Fader & Hardie 2006, Jerath, Fader & Hardie
 * 2011). U is computed from its definition over the death time tau,
 *   U(n) = NB(n; t) (b/(b+t))^s + int_0^t NB(n; tau) s b^s (b+tau)^-(s+1) dtau,
 * where NB is the gamma-Poisson count: the closed form with hypergeometric
 * functions subtracts nearly equal terms; this sum of two positive terms
 * does not. In v = log tau the integrand is log-concave with one mode, which
 * a short adaptive quadrature handles for every n and every parameter size. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

#include "model/btyd.h"
#include "model/pareto.h"

#define TAIL_DROP 60.0 /* e^-60: where the integrand stops mattering */

/* The unconditional problem: prior (r, a, s, b) and count n. */
typedef struct nb_ctx {
    double r, a, s, b, n, log_coef; /* log_coef = log Gamma(r+n)/(Gamma(r) n!) */
} nb_ctx;

/* log of the integrand of the death-time part in v = log tau. */
static double log_dead_integrand(double v, const void *p)
{
    const nb_ctx *q = p;
    double tau = exp(v);
    double lv = log(q->s) - log(q->b) - (q->s + 1) * log1p(tau / q->b) + q->log_coef -
                (q->r + q->n) * log1p(tau / q->a) + v;
    return q->n > 0 ? lv + q->n * (v - log(q->a)) : lv;
}

/* The mode of log_dead_integrand: the positive root of
 * (r+s) tau^2 - B tau - (n+1) a b = 0, B = (n-s) a + (1-r) b. */
static double log_mode(const nb_ctx *q)
{
    double B = (q->n - q->s) * q->a + (1 - q->r) * q->b;
    double D = 4 * (q->r + q->s) * (q->n + 1) * q->a * q->b;
    double root = sqrt(B * B + D);
    /* the two forms of the root, each free of cancellation on its side */
    double tau = B > 0 ? (B + root) / (2 * (q->r + q->s))
                       : 2 * (q->n + 1) * q->a * q->b / (root - B);
    return log(tau);
}

/* From v0 towards v0 + dir * d, doubling d until the integrand dropped by
 * TAIL_DROP or the limit is reached. */
static double tail_end(const nb_ctx *q, double v0, double top, double dir, double limit)
{
    for (double d = 0.5; d < 1e6; d *= 2) {
        double v = v0 + dir * d;
        if (dir > 0 && v >= limit)
            return limit;
        if (log_dead_integrand(v, q) < top - TAIL_DROP)
            return v;
    }
    return dir > 0 ? limit : v0 - 1e6;
}

/* log of the death-time part: int_0^t NB(n; tau) s b^s (b+tau)^-(s+1). */
static int log_dead_part(const nb_ctx *q, double t, double *out)
{
    double v_hi = log(t);
    double v_peak = fmin(log_mode(q), v_hi);
    double top = log_dead_integrand(v_peak, q);
    double lo = tail_end(q, v_peak, top, -1, 0);
    double hi = v_peak < v_hi ? tail_end(q, v_peak, top, 1, v_hi) : v_hi;
    if (!isfinite(top) || !isfinite(lo) || !(lo < hi))
        return GSL_ERANGE;
    return pareto_quad_log(log_dead_integrand, q, lo, hi, v_peak, out);
}

/* log U(n; t | r, a, s, b) for t > 0. */
static int log_unconditional(double r, double a, double s, double b, double t, unsigned n,
                             double *out)
{
    gsl_sf_result lf;
    int rc = gsl_sf_lnfact_e(n, &lf);
    if (rc != GSL_SUCCESS)
        return rc;
    nb_ctx q = {r, a, s, b, n, pareto_log_poch(r, n) - lf.val};
    double alive = q.log_coef - r * log1p(t / a) - s * log1p(t / b);
    if (n > 0)
        alive += n * (log(t) - log(a + t));
    double dead;
    rc = log_dead_part(&q, t, &dead);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = pareto_log_add(alive, dead);
    return isfinite(*out) ? GSL_SUCCESS : GSL_ERANGE;
}

/* log P(dead at T | history): "died in (t_x, T]" over the likelihood, by the
 * difference of the parts unless that cancels, then by direct quadrature. */
typedef struct dead_ctx {
    const double *p;
    double x;
} dead_ctx;

static double log_death_density(double u, const void *c)
{
    const dead_ctx *d = c;
    const double *p = d->p;
    double v =
        log(p[2]) - log(p[3] + u) - p[0] * log1p(u / p[1]) - p[2] * log1p(u / p[3]);
    return d->x > 0 ? v - d->x * log(p[1] + u) : v;
}

static int log_p_dead(const double *p, double x, double t_x, double T,
                      const pareto_parts *pp, double *out)
{
    if (t_x == T) {
        *out = -INFINITY;
        return GSL_SUCCESS;
    }
    double diff = pp->log_dead_T - pp->log_tx;
    if (diff < -M_LN2) {
        *out = pp->log_tx + log(-expm1(diff)) - pp->log_l;
        return GSL_SUCCESS;
    }
    dead_ctx d = {p, x};
    double li;
    int rc = pareto_quad_log(log_death_density, &d, t_x, T, t_x, &li);
    if (rc == GSL_SUCCESS)
        *out = fmin(li - pp->log_l, 0);
    return rc;
}

static int check_t(double t)
{
    return isfinite(t) && t >= 0 ? GSL_SUCCESS : GSL_EDOM;
}

int pareto_p_n(const double *params, double x, double t_x, double T, double t, unsigned n,
               double *out)
{
    int rc = btyd_check_domain(params, 4, x, t_x, T);
    if (rc == GSL_SUCCESS)
        rc = check_t(t);
    if (rc != GSL_SUCCESS)
        return rc;
    if (t == 0) {
        *out = n == 0 ? 1 : 0;
        return GSL_SUCCESS;
    }
    pareto_parts pp;
    double ld = -INFINITY, lu;
    rc = pareto_log_parts(params, x, t_x, T, &pp);
    if (rc == GSL_SUCCESS && n == 0)
        rc = log_p_dead(params, x, t_x, T, &pp, &ld);
    if (rc == GSL_SUCCESS)
        rc = log_unconditional(params[0] + x, params[1] + T, params[2], params[3] + T, t,
                               n, &lu);
    if (rc != GSL_SUCCESS)
        return rc;
    double la = fmin(pp.log_alive - pp.log_l, 0);
    double v = exp(pareto_log_add(ld, la + lu));
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v > 1 ? 1 : v;
    return GSL_SUCCESS;
}

int pareto_p_n_new(const double *params, double t, unsigned n, double *out)
{
    int rc = btyd_check_domain(params, 4, 0, 0, 0);
    if (rc == GSL_SUCCESS)
        rc = check_t(t);
    if (rc != GSL_SUCCESS)
        return rc;
    if (t == 0) {
        *out = n == 0 ? 1 : 0;
        return GSL_SUCCESS;
    }
    double lu;
    rc = log_unconditional(params[0], params[1], params[2], params[3], t, n, &lu);
    if (rc != GSL_SUCCESS)
        return rc;
    double v = exp(lu);
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v > 1 ? 1 : v;
    return GSL_SUCCESS;
}

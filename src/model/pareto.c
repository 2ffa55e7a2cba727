/* The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987):
 * likelihood as in Fader & Hardie's note on implementing it, in log space,
 * P(alive), conditional and unconditional expectations, and simulation.
 * The PMF lives in pareto_pmf.c, the likelihood summed over patterns (and
 * its gradient) in pareto_grad.c.
 *
 * The likelihood is Gamma(r+x)/Gamma(r) times
 *   Ptilde(t_x) phi(rho_tx; r+x, s) + Ptilde(T) phi(1/rho_T; s, r+x)
 * (see pareto.h for phi): "died after t_x" plus "alive at T or died after
 * it", two non-negative terms, so no cancellation and no separate forms for
 * alpha >= beta, alpha < beta, alpha = beta or t_x = T. */
#include "model/pareto.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>

#include "model/btyd.h"

#define CF_MAX_ITER 4000
#define RHO_DIRECT_LO 0.05 /* z = 1 - rho <= 0.95: the fraction converges fast */
#define RHO_DIRECT_HI 20.0

/* ---- phi: the death-time integral ------------------------------------- */

/* 2F1(1, B; C; z) for 0 <= z <= 0.95, C - B > 0, B > 0, by Gauss's
 * continued fraction (modified Lentz); every partial numerator is -k z with
 * k > 0, so the fraction is well conditioned. */
static int cf_2f1_one(double B, double C, double z, double *out)
{
    const double tiny = 1e-300;
    double f = 1.0, c = 1.0, d = 0.0;
    for (int n = 1; n <= CF_MAX_ITER; n++) {
        double m, k;
        if (n & 1) {
            m = (n - 1) / 2;
            k = (B + m) * (C - 1 + m) / ((C - 1 + 2 * m) * (C + 2 * m));
        } else {
            m = n / 2;
            k = m * (C - B - 1 + m) / ((C - 2 + 2 * m) * (C - 1 + 2 * m));
        }
        double a = -k * z;
        d = 1.0 + a * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + a / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double delta = c * d;
        f *= delta;
        if (fabs(delta - 1.0) <= 2 * DBL_EPSILON) { /* 1e-16 can stall on rounding */
            if (!(f > 0) || !isfinite(f))
                return GSL_ERANGE;
            *out = 1.0 / f;
            return GSL_SUCCESS;
        }
    }
    return GSL_EMAXITER;
}

/* log phi for RHO_DIRECT_LO <= rho <= RHO_DIRECT_HI. */
static int log_phi_direct(double rho, double b, double s, double *out)
{
    double F;
    int rc;
    if (rho <= 1) {
        rc = cf_2f1_one(b, b + s + 1, 1 - rho, &F);
        if (rc == GSL_SUCCESS)
            *out = log(s / (b + s)) + log(F);
    } else {
        rc = cf_2f1_one(s + 1, b + s + 1, 1 - 1 / rho, &F);
        if (rc == GSL_SUCCESS)
            *out = log(s / (b + s)) - log(rho) + log(F);
    }
    return rc;
}

typedef struct phi_ctx {
    double rho, b, s;
} phi_ctx;

/* rho small: integrand of J(u)/P(u) in eta = log((c+w)/(c+u)). */
static double log_f_small(double eta, const void *p)
{
    const phi_ctx *q = p;
    return log(q->s) - q->b * log1p(q->rho * expm1(eta)) - q->s * eta;
}

/* rho large: the same in eta = log((a+w)/(a+u)). */
static double log_f_large(double eta, const void *p)
{
    const phi_ctx *q = p;
    return log(q->s / q->rho) + (1 - q->b) * eta -
           (q->s + 1) * log1p(expm1(eta) / q->rho);
}

/* rho < RHO_DIRECT_LO: J(u) = J(v) + int_u^v, with v where rho_v = 0.1. */
static int log_phi_small(double rho, double b, double s, double *out)
{
    double eta_v = log((1 - rho) / (9 * rho)), tail, head;
    int rc = log_phi_direct(0.1, b, s, &tail);
    if (rc != GSL_SUCCESS)
        return rc;
    tail += -b * log1p((1 - 10 * rho) / 9) - s * eta_v;
    phi_ctx q = {rho, b, s};
    rc = pareto_quad_log(log_f_small, &q, 0, eta_v, 0, &head);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = pareto_log_add(tail, head);
    return GSL_SUCCESS;
}

/* rho > RHO_DIRECT_HI: the mirror image, with v where rho_v = 10. */
static int log_phi_large(double rho, double b, double s, double *out)
{
    double eta_v = log((rho - 1) / 9), tail, head;
    int rc = log_phi_direct(10, b, s, &tail);
    if (rc != GSL_SUCCESS)
        return rc;
    tail += -b * eta_v - s * log1p((rho - 10) / (9 * rho));
    phi_ctx q = {rho, b, s};
    double mode = 0;
    if (b < 1) { /* the integrand rises first when b < 1 */
        double e = (1 - b) * (rho - 1) / (b + s);
        mode = e > 1 ? fmin(log(e), eta_v) : 0;
    }
    rc = pareto_quad_log(log_f_large, &q, 0, eta_v, mode, &head);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = pareto_log_add(tail, head);
    return GSL_SUCCESS;
}

int pareto_log_phi_fast(double rho, double b, double s, double *out)
{
    double v;
    int rc;
    if (rho < RHO_DIRECT_LO)
        rc = log_phi_small(rho, b, s, &v);
    else if (rho > RHO_DIRECT_HI)
        rc = log_phi_large(rho, b, s, &v);
    else
        rc = log_phi_direct(rho, b, s, &v);
    if (rc != GSL_SUCCESS)
        return rc;
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v > 0 ? 0 : v; /* phi <= 1 */
    return GSL_SUCCESS;
}

/* Where phi > 1/2 its logarithm is tiny and carries the absolute error of
 * log(F): log1p of minus the complement phi(1/rho; s, b) is accurate. */
int pareto_log_phi(double rho, double b, double s, double *out)
{
    if (!(rho > 0) || !(b > 0) || !(s > 0) || !isfinite(rho) || !isfinite(b) ||
        !isfinite(s))
        return GSL_EDOM;
    double v, c;
    int rc = pareto_log_phi_fast(rho, b, s, &v);
    if (rc != GSL_SUCCESS)
        return rc;
    if (v > -M_LN2) {
        rc = pareto_log_phi_fast(1 / rho, s, b, &c);
        if (rc != GSL_SUCCESS)
            return rc;
        v = log1p(-exp(c));
        if (!isfinite(v))
            return GSL_ERANGE;
    }
    *out = v;
    return GSL_SUCCESS;
}

/* ---- likelihood ------------------------------------------------------- */

/* log[(a/(a+u))^r (b/(b+u))^s (a+u)^-x]: the alive-at-u part, accurate
 * also when it is close to 1 (small u). */
static double log_alive_at(const double *p, double x, double u)
{
    double v = -p[0] * log1p(u / p[1]) - p[2] * log1p(u / p[3]);
    return x > 0 ? v - x * log(p[1] + u) : v;
}

typedef int (*log_phi_fn)(double rho, double b, double s, double *out);

/* log of the "died after t_x" part at u = t_x. */
static int log_tx_part(const double *p, double x, double t_x, log_phi_fn phi, double *out)
{
    double lphi;
    int rc = phi((p[3] + t_x) / (p[1] + t_x), p[0] + x, p[2], &lphi);
    if (rc == GSL_SUCCESS)
        *out = log_alive_at(p, x, t_x) + lphi;
    return rc;
}

/* log of the "alive at T or died after it" part. */
static int log_T_part(const double *p, double x, double T, log_phi_fn phi, double *out)
{
    double lphi;
    int rc = phi((p[1] + T) / (p[3] + T), p[2], p[0] + x, &lphi);
    if (rc == GSL_SUCCESS)
        *out = log_alive_at(p, x, T) + lphi;
    return rc;
}

int pareto_log_parts(const double *params, double x, double t_x, double T,
                     pareto_parts *out)
{
    pareto_parts pp;
    double lphi, lq;
    pp.log_alive = log_alive_at(params, x, T);
    int rc = log_tx_part(params, x, t_x, pareto_log_phi, &pp.log_tx);
    if (rc == GSL_SUCCESS)
        rc = pareto_log_phi((params[3] + T) / (params[1] + T), params[0] + x, params[2],
                            &lphi);
    if (rc == GSL_SUCCESS)
        rc = log_T_part(params, x, T, pareto_log_phi, &lq);
    if (rc != GSL_SUCCESS)
        return rc;
    pp.log_dead_T = pp.log_alive + lphi;
    pp.log_l = t_x == T ? pp.log_alive : pareto_log_add(pp.log_tx, lq);
    if (!isfinite(pp.log_l) || !isfinite(pp.log_tx) || !isfinite(pp.log_dead_T))
        return GSL_ERANGE;
    *out = pp;
    return GSL_SUCCESS;
}

/* ---- log Gamma(a+x)/Gamma(a) ---------------------------------------- */

/* Stirling's series of log Gamma(z) - (z-1/2) log z + z - log(2 pi)/2, to
 * 1e-16 for z >= 10. */
static double stirling_tail(double z)
{
    static const double c[] = {1.0 / 12,   -1.0 / 360,      1.0 / 1260, -1.0 / 1680,
                               1.0 / 1188, -691.0 / 360360, 1.0 / 156};
    double z2 = 1 / (z * z), sum = 0, pw = 1 / z;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++, pw *= z2)
        sum += c[i] * pw;
    return sum;
}

/* GSL's lnpoch (and lgamma(a+x) - lgamma(a)) loses ~1e-11 absolutely for
 * large a, which shows in log-likelihoods near 0. Here the large terms are
 * combined analytically: for a >= 10,
 *   log Gamma(a+x)/Gamma(a) = (a - 1/2) log1p(x/a) + x log(a+x) - x + tails,
 * and smaller a is shifted up by the recurrence. */
double pareto_log_poch(double a, double x)
{
    if (x == 0)
        return 0;
    double shift = 0;
    while (a < 10) {
        shift -= log1p(x / a);
        a += 1;
    }
    return (a - 0.5) * log1p(x / a) + x * log(a + x) - x + stirling_tail(a + x) -
           stirling_tail(a) + shift;
}

/* The likelihood without the Gamma factor, to full relative accuracy. */
static int log_l_core(const double *p, double x, double t_x, double T, double *out)
{
    if (t_x == T) {
        *out = log_alive_at(p, x, T);
        return GSL_SUCCESS;
    }
    double a, b;
    int rc = log_tx_part(p, x, t_x, pareto_log_phi, &a);
    if (rc == GSL_SUCCESS)
        rc = log_T_part(p, x, T, pareto_log_phi, &b);
    if (rc == GSL_SUCCESS)
        *out = pareto_log_add(a, b);
    return rc;
}

static int pareto_loglik(const double *params, double x, double t_x, double T,
                         double *out)
{
    int rc = btyd_check_domain(params, 4, x, t_x, T);
    if (rc != GSL_SUCCESS)
        return rc;
    double lp = pareto_log_poch(params[0], x), ll;
    rc = log_l_core(params, x, t_x, T, &ll);
    if (rc != GSL_SUCCESS)
        return rc;
    if (!isfinite(lp + ll))
        return GSL_ERANGE;
    *out = lp + ll;
    return GSL_SUCCESS;
}

/* ---- predictions ------------------------------------------------------ */

static int pareto_p_alive(const double *params, double x, double t_x, double T,
                          double *out)
{
    int rc = btyd_check_domain(params, 4, x, t_x, T);
    if (rc != GSL_SUCCESS)
        return rc;
    double ll;
    rc = log_l_core(params, x, t_x, T, &ll);
    if (rc != GSL_SUCCESS)
        return rc;
    double p = exp(log_alive_at(params, x, T) - ll);
    if (!isfinite(p))
        return GSL_ERANGE;
    *out = p > 1 ? 1 : p;
    return GSL_SUCCESS;
}

/* log of [1 - q^(s-1)] / (s-1) with log q = -log1p(t / c) (the expected
 * purchases of an alive customer, per unit of rate), continuous at s = 1. */
static double log_growth(double s, double c, double t)
{
    double lq = -log1p(t / c), e = s - 1;
    double g = e == 0 ? -lq : -expm1(e * lq) / e;
    return log(g);
}

/* Expected purchases in (T, T+t] of a customer alive at T with the
 * posterior (r+x, alpha+T, s, beta+T): rate (r+x)/(alpha+T) times the mean
 * time alive within t, which is (beta+T) [1 - q^(s-1)]/(s-1). */
static double log_alive_rate(const double *p, double x, double T)
{
    return log(p[0] + x) - log(p[1] + T) + log(p[3] + T);
}

static double log_alive_expected(const double *p, double x, double T, double t)
{
    return log_alive_rate(p, x, T) + log_growth(p[2], p[3] + T, t);
}

static int pareto_expected(const double *params, double x, double t_x, double T, double t,
                           double *out)
{
    int rc = btyd_check_domain(params, 4, x, t_x, T);
    if (rc != GSL_SUCCESS)
        return rc;
    if (!isfinite(t) || t < 0)
        return GSL_EDOM;
    double ll;
    rc = log_l_core(params, x, t_x, T, &ll);
    if (rc != GSL_SUCCESS)
        return rc;
    if (t == 0) {
        *out = 0;
        return GSL_SUCCESS;
    }
    double la = log_alive_at(params, x, T) - ll;
    double v = exp(fmin(la, 0) + log_alive_expected(params, x, T, t));
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

/* pareto_expected at every t[i], the same operations in the same order
 * but P(alive) (the likelihood) and the alive rate once. */
static int pareto_expected_many(const double *params, double x, double t_x, double T,
                                const double *t, size_t n, double *out)
{
    int rc = btyd_check_domain(params, 4, x, t_x, T);
    if (rc != GSL_SUCCESS)
        return rc;
    double ll = 0, la = 0, rate = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || t[i] < 0)
            return GSL_EDOM;
        if (i == 0) {
            if ((rc = log_l_core(params, x, t_x, T, &ll)) != GSL_SUCCESS)
                return rc;
            la = fmin(log_alive_at(params, x, T) - ll, 0);
            rate = log_alive_rate(params, x, T);
        }
        if (t[i] == 0) {
            out[i] = 0;
            continue;
        }
        double v = exp(la + (rate + log_growth(params[2], params[3] + T, t[i])));
        if (!isfinite(v))
            return GSL_ERANGE;
        out[i] = v;
    }
    return GSL_SUCCESS;
}

static int pareto_expected_new(const double *params, double t, double *out)
{
    int rc = btyd_check_domain(params, 4, 0, 0, 0);
    if (rc != GSL_SUCCESS)
        return rc;
    if (!isfinite(t) || t < 0)
        return GSL_EDOM;
    if (t == 0) {
        *out = 0;
        return GSL_SUCCESS;
    }
    double v = exp(log_alive_expected(params, 0, 0, t));
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

/* ---- simulation ------------------------------------------------------- */

/* A Poisson count; beyond what gsl_ran_poisson's unsigned int can hold, the
 * normal approximation (relative error ~1e-5 at that size). */
static double poisson_draw(const gsl_rng *rng, double mean)
{
    if (mean < 1e9)
        return gsl_ran_poisson(rng, mean);
    return fmax(0, round(mean + sqrt(mean) * gsl_ran_ugaussian(rng)));
}

static int pareto_simulate(const double *params, double T, const gsl_rng *rng, double *x,
                           double *t_x)
{
    int rc = btyd_check_domain(params, 4, 0, 0, T);
    if (rc != GSL_SUCCESS)
        return rc;
    double lambda = gsl_ran_gamma(rng, params[0], 1 / params[1]);
    double mu = gsl_ran_gamma(rng, params[2], 1 / params[3]);
    double alive = T;
    if (mu > 0) {
        double tau = gsl_ran_exponential(rng, 1 / mu);
        if (tau < T)
            alive = tau;
    }
    double k = lambda > 0 && alive > 0 ? poisson_draw(rng, lambda * alive) : 0;
    /* The last of k uniform times on (0, alive]. */
    double last = k > 0 ? alive * pow(gsl_rng_uniform_pos(rng), 1 / k) : 0;
    if (!isfinite(k) || !isfinite(last))
        return GSL_ERANGE;
    *x = k;
    *t_x = last;
    return GSL_SUCCESS;
}

/* ---- the model table -------------------------------------------------- */

static const char *const param_names[] = {"r", "alpha", "s", "beta"};
static const double init[] = {1.0, 1.0, 1.0, 1.0};

const btyd_model pareto_model = {
    .name = "pareto",
    .title = "Pareto/NBD",
    .n_params = 4,
    .param_names = param_names,
    .init = init,
    .discrete = 0,
    .loglik = pareto_loglik,
    .loglik_sum = pareto_loglik_sum,
    .loglik_grad = pareto_loglik_grad,
    .p_alive = pareto_p_alive,
    .expected = pareto_expected,
    .expected_many = pareto_expected_many,
    .p_n = pareto_p_n,
    .expected_new = pareto_expected_new,
    .p_n_new = pareto_p_n_new,
    .simulate = pareto_simulate,
};

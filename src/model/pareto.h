/* Pareto/NBD (Schmittlein, Morrison & Colombo 1987), the parts shared by
 * pareto.c (likelihood, expectations, simulation), pareto_pmf.c (the
 * conditional and unconditional PMF) and pareto_quad.c (the quadrature both
 * fall back on). The model itself is `pareto_model` in btyd.h.
 *
 * Everything rests on one scale-free function of the death-time integral:
 *   phi(rho; b, s) = J(u) / P(u),  J(u) = int_u^inf s (a+w)^-b (c+w)^-(s+1) dw,
 *   P(u) = (a+u)^-b (c+u)^-s,       rho = (c+u) / (a+u),
 * which lies in (0, 1] and satisfies phi(rho; b, s) + phi(1/rho; s, b) = 1. */
#ifndef LTVD_MODEL_PARETO_H
#define LTVD_MODEL_PARETO_H

#include <stddef.h>

#include "model/btyd.h"

/* log phi(rho; b, s) for rho, b, s > 0 (Gauss's continued fraction of
 * 2F1(1, B; C; z) where z <= 0.95, plus a quadrature over the part of the
 * death-time integral that makes z close to 1). Returns GSL_SUCCESS with a
 * finite *out, GSL_EDOM for bad arguments, or a GSL error when the accuracy
 * (about 1e-13) cannot be reached. */
int pareto_log_phi(double rho, double b, double s, double *out);

/* The same to about 1e-16 absolute only (no complement where phi > 1/2),
 * no argument checks: enough for sums of log-likelihoods. */
int pareto_log_phi_fast(double rho, double b, double s, double *out);

/* The likelihood of one history split in its two non-negative parts, each
 * as a log and without the factor Gamma(r+x)/Gamma(r):
 *   log_alive = log[(a/(a+T))^r (b/(b+T))^s (a+T)^-x]     (alive at T),
 *   log_tx    = log of the "died after t_x" part at t_x,
 *   log_dead_T= the same part at T (the likelihood's part "died in (t_x, T]"
 *               is exp(log_tx) - exp(log_dead_T)),
 *   log_l     = log of the whole likelihood without that factor.
 * Returns GSL_SUCCESS or a GSL error (domain not checked here). */
typedef struct pareto_parts {
    double log_alive;
    double log_tx;
    double log_dead_T;
    double log_l;
} pareto_parts;

int pareto_log_parts(const double *params, double x, double t_x, double T,
                     pareto_parts *out);

/* The weighted log-likelihood sum over patterns sorted by (x, t_x, T), and
 * the same with its gradient in (r, alpha, s, beta): the loglik_sum and
 * loglik_grad of pareto_model (contracts in btyd.h; pareto_grad.c). */
int pareto_loglik_sum(const double *params, const btyd_pattern *pat, size_t n,
                      double *out);
int pareto_loglik_grad(const double *params, const btyd_pattern *pat, size_t n,
                       double *out, double *grad);

/* P(X(T, T+t) = n | x, t_x, T) and P(X(t) = n) for a new customer: the
 * btyd_model p_n and p_n_new of pareto_model (contracts in btyd.h). */
int pareto_p_n(const double *params, double x, double t_x, double T, double t, unsigned n,
               double *out);
int pareto_p_n_new(const double *params, double t, unsigned n, double *out);

/* log of the integral over [lo, hi] of exp(log_f(y)), by adaptive 15-point
 * Gauss-Kronrod with a fixed number of panels kept on the stack (no
 * allocation). peak in [lo, hi] is where log_f is largest (log_f must be
 * unimodal, e.g. concave); the first panels grow geometrically from it, so a
 * peak much narrower than the interval is not missed. Relative accuracy
 * about 1e-13. Returns GSL_SUCCESS with a finite *out, GSL_EDOM unless
 * lo < hi and log_f(peak) is finite, GSL_ERANGE if the integral underflows,
 * GSL_EMAXITER if the panels run out before the tolerance. */
typedef double (*pareto_log_fn)(double y, const void *ctx);
int pareto_quad_log(pareto_log_fn log_f, const void *ctx, double lo, double hi,
                    double peak, double *out);

/* log Gamma(a+x)/Gamma(a) for a > 0, x >= 0, to ~1e-16 relative to the
 * largest of its terms (GSL's lnpoch loses ~1e-11 absolutely at a = 1e4). */
double pareto_log_poch(double a, double x);

/* log(exp(a) + exp(b)) without overflow; -INFINITY operands allowed. */
double pareto_log_add(double a, double b);

#endif

/* BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"),
 * parameters {r, alpha, a, b} as lifetimes' BetaGeoFitter names them, exposed
 * as `bgnbd_model` (btyd.h) and as the functions below. As in lifetimes a
 * customer with x = 0 has no dropout term (death only follows a repeat
 * purchase). x must be a whole number; t >= 0. Contracts of btyd.h: GSL_SUCCESS
 * and a finite *out, GSL_EDOM outside the domain, another GSL error when a
 * value cannot be computed accurately; *out is untouched on error. */
#ifndef LTVD_MODEL_BGNBD_H
#define LTVD_MODEL_BGNBD_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "model/btyd.h"

/* Log-likelihood of one customer (FHL 2005 eq. 6, in log space). */
int bgnbd_loglik(const double *params, double x, double t_x, double T, double *out);
/* Sum of weight * log-likelihood over patterns (the fitter's hot loop). */
int bgnbd_loglik_sum(const double *params, const btyd_pattern *pat, size_t n,
                     double *out);
/* The same sum and its gradient in grad[0..4) (natural-scale parameters). */
int bgnbd_loglik_grad(const double *params, const btyd_pattern *pat, size_t n,
                      double *out, double *grad);
/* P(alive at T | x, t_x, T) (FHL 2005 appendix). */
int bgnbd_p_alive(const double *params, double x, double t_x, double T, double *out);
/* E[purchases in (T, T+t] | x, t_x, T] (FHL 2005 eq. 10). */
int bgnbd_expected(const double *params, double x, double t_x, double T, double t,
                   double *out);
/* P(n purchases in (T, T+t] | x, t_x, T) (Fader, Hardie & Lee's note on the
 * conditional PMF of the BG/NBD). */
int bgnbd_p_n(const double *params, double x, double t_x, double T, double t, unsigned n,
              double *out);
/* E[X(t)] for a new customer (eq. 9). */
int bgnbd_expected_new(const double *params, double t, double *out);
/* P(X(t) = n) for a new customer (eq. 8). */
int bgnbd_p_n_new(const double *params, double t, unsigned n, double *out);
/* One customer's (x, t_x) over (0, T] from the generative process; GSL_EMAXITER
 * if it would take more than 1e7 purchases. */
int bgnbd_simulate(const double *params, double T, const gsl_rng *rng, double *x,
                   double *t_x);

#endif

/* MBG/NBD (Batislam, Denizel & Filiztekin 2007) as lifetimes'
 * ModifiedBetaGeoFitter implements it: BG/NBD where the customer may also die
 * right after the first purchase, so the dropout term is present for x = 0
 * too. Parameters {r, alpha, a, b}; exposed as `mbgnbd_model` (btyd.h) and as
 * the functions below. x must be a whole number; t >= 0. Contracts of btyd.h:
 * GSL_SUCCESS and a finite *out, GSL_EDOM outside the domain, another GSL
 * error when a value cannot be computed accurately; *out untouched on error. */
#ifndef LTVD_MODEL_MBGNBD_H
#define LTVD_MODEL_MBGNBD_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "model/btyd.h"

/* Log-likelihood of one customer (in log space). */
int mbgnbd_loglik(const double *params, double x, double t_x, double T, double *out);
/* Sum of weight * log-likelihood over patterns (the fitter's hot loop). */
int mbgnbd_loglik_sum(const double *params, const btyd_pattern *pat, size_t n,
                      double *out);
/* The same sum and its gradient in grad[0..4) (natural-scale parameters). */
int mbgnbd_loglik_grad(const double *params, const btyd_pattern *pat, size_t n,
                       double *out, double *grad);
/* P(alive at T | x, t_x, T). */
int mbgnbd_p_alive(const double *params, double x, double t_x, double T, double *out);
/* E[purchases in (T, T+t] | x, t_x, T]. */
int mbgnbd_expected(const double *params, double x, double t_x, double T, double t,
                    double *out);
/* P(n purchases in (T, T+t] | x, t_x, T). */
int mbgnbd_p_n(const double *params, double x, double t_x, double T, double t, unsigned n,
               double *out);
/* E[X(t)] for a new customer. */
int mbgnbd_expected_new(const double *params, double t, double *out);
/* P(X(t) = n) for a new customer. */
int mbgnbd_p_n_new(const double *params, double t, unsigned n, double *out);
/* One customer's (x, t_x) over (0, T] from the generative process; GSL_EMAXITER
 * if it would take more than 1e7 purchases. */
int mbgnbd_simulate(const double *params, double T, const gsl_rng *rng, double *x,
                    double *t_x);

#endif

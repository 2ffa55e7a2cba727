/* The mathematics BG/NBD and MBG/NBD share (internal to src/model; the public
 * faces are bgnbd.h and mbgnbd.h). Both draw lambda ~ Gamma(r, alpha) and
 * p ~ Beta(a, b) and differ only in whether the customer may also die right
 * after the first purchase (MBG/NBD: `modified`). Parameters are
 * {r, alpha, a, b}; x must be a whole number (GSL_EDOM otherwise), t >= 0.
 * Every function follows btyd.h: GSL_SUCCESS and a finite *out, or an error
 * code and *out untouched. */
#ifndef LTVD_MODEL_BGNBD_CORE_H
#define LTVD_MODEL_BGNBD_CORE_H

#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"

int bgnbd_core_loglik(const double *params, double x, double t_x, double T, bool modified,
                      double *out);
int bgnbd_core_loglik_sum(const double *params, const btyd_pattern *pat, size_t n,
                          bool modified, double *out);
/* The sum as loglik_sum and its gradient in grad[0..4) (natural scale). */
int bgnbd_core_loglik_grad(const double *params, const btyd_pattern *pat, size_t n,
                           bool modified, double *out, double *grad);
int bgnbd_core_p_alive(const double *params, double x, double t_x, double T,
                       bool modified, double *out);
int bgnbd_core_expected(const double *params, double x, double t_x, double T, double t,
                        bool modified, double *out);
/* bgnbd_core_expected at every t[0..n) (btyd_expected_many_fn's contract). */
int bgnbd_core_expected_many(const double *params, double x, double t_x, double T,
                             const double *t, size_t n, bool modified, double *out);
int bgnbd_core_p_n(const double *params, double x, double t_x, double T, double t,
                   unsigned n, bool modified, double *out);
int bgnbd_core_expected_new(const double *params, double t, bool modified, double *out);
int bgnbd_core_p_n_new(const double *params, double t, unsigned n, bool modified,
                       double *out);
int bgnbd_core_simulate(const double *params, double T, const gsl_rng *rng, bool modified,
                        double *x, double *t_x);

#endif

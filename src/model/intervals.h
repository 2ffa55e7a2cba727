/* Per-customer intervals from the parameters' uncertainty: the delta method
 * on the covariance of the fitted parameters (the inverse of the negated
 * Hessian of the log-likelihood, fit_result.covariance), for P(alive), the
 * conditional expected purchases over a horizon and the CLV. Each quantity
 * is linearised on a scale that keeps its bounds (logit for P(alive), log
 * for the expectation and the CLV), with gradients by forward differences
 * in the log-parameters (the purchase model) or central ones (Gamma-Gamma's
 * closed form), and mapped back: the interval is asymmetric, inside
 * the quantity's range, and contains the point estimate. The purchase and
 * spend fits are independent (block-diagonal covariance), so the CLV's
 * log-variance is the purchase part's plus the spend part's.
 *
 * Pure: GSL and libc, no allocation, no globals. Never NaN or Inf: a bound
 * that cannot be computed leaves its quantity's `ok` false. */
#ifndef LTVD_MODEL_INTERVALS_H
#define LTVD_MODEL_INTERVALS_H

#include <stdbool.h>

#include "model/btyd.h"
#include "model/clv.h"

/* The level served and printed (a 90% interval: 5% on each side;
 * http/intervals_doc.c writes it as "0.9"). */
#define INTERVALS_LEVEL 0.9

/* The longest CLV (months) whose interval is computed: past it the LTV
 * bound is not ok. Its n + 1 evaluations of every monthly expectation (a
 * hypergeometric series that converges slowly as the horizon grows) cost
 * about a second a customer at 1,217 months (horizon_days 36500), 20 times
 * the point estimate; up to 120 months they cost milliseconds. */
#define INTERVALS_CLV_MONTHS_MAX 120

/* Relative step of the differences in log-parameters. */
#define INTERVALS_STEP 1e-4

typedef struct intervals_spec {
    const btyd_model *model;
    const double *params;        /* model->n_params, all > 0 */
    const double *covariance;    /* n x n row-major, natural scale; NULL: none */
    const double *gg_params;     /* Gamma-Gamma p, q, v; NULL: no spend model */
    const double *gg_covariance; /* 3 x 3; NULL: none (no CLV interval) */
    double horizon;              /* periods of the expected purchases, >= 0 */
    const clv_options *clv;      /* NULL: no CLV interval */
    double level;                /* in (0, 1), e.g. INTERVALS_LEVEL */
} intervals_spec;

/* One quantity: its point estimate and [lo, hi] when ok. */
typedef struct intervals_bound {
    bool ok;
    double value;
    double lo, hi;
} intervals_bound;

typedef struct intervals_result {
    intervals_bound p_alive;
    intervals_bound expected; /* purchases in the next spec->horizon periods */
    intervals_bound ltv;      /* margin * E[spend] * discounted purchases */
} intervals_result;

/* The intervals of one customer with history (x, t_x, T) and mean repeat
 * spend m. A quantity is ok when its covariance is present, finite and
 * positive definite (Cholesky) and the model evaluates at the estimate and
 * at every perturbed parameter vector; the LTV needs both covariances (a
 * spend model, clv) and clv->months <= INTERVALS_CLV_MONTHS_MAX.
 * Degenerate cases are exact: P(alive) of 0 or 1 (e.g. BG/NBD with x = 0),
 * an expectation or CLV of 0 give [v, v]. Returns GSL_SUCCESS (whatever is
 * ok), or GSL_EDOM for a bad spec (no model or
 * params, level outside (0, 1), negative horizon, clv not valid); out is
 * then all not ok. */
int intervals_compute(const intervals_spec *spec, double x, double t_x, double T,
                      double m, intervals_result *out);

/* 1 when cov (n x n, row-major) is finite, symmetric (to 1e-8 relative) and
 * positive definite, else 0. */
int intervals_covariance_usable(const double *cov, size_t n);

/* The delta-method variance g' C g of a quantity with gradient g with
 * respect to the log-parameters, C the covariance of the natural-scale
 * params p (C_ij / (p_i p_j) in log-parameters). */
double intervals_quadratic(const double *grad_log, const double *params,
                           const double *cov, size_t n);

#endif

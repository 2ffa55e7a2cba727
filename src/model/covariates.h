/* Time-invariant covariates for BG/NBD and Pareto/NBD, parameterised as
 * CLVTools does (Fader & Hardie 2007, "Incorporating time-invariant
 * covariates into the Pareto/NBD and BG/NBD models"; CLVTools'
 * pnbd_staticcov_LL_ind and bgnbd_staticcov_LL_ind). A customer with the
 * covariate vector z (K numbers) has the model's parameters with the scales
 * moved:
 *   Pareto/NBD {r, alpha, s, beta}:
 *     alpha_i = alpha exp(-gamma_trans . z),  beta_i = beta exp(-gamma_life . z);
 *   BG/NBD {r, alpha, a, b}:
 *     alpha_i = alpha exp(-gamma_trans . z),
 *     a_i = a exp(gamma_life . z),  b_i = b exp(gamma_life . z).
 * So gamma_trans > 0 means more purchases (a smaller Gamma scale: E[lambda]
 * = r/alpha_i grows by exp(gamma_trans . z)); for Pareto/NBD gamma_life > 0
 * means shorter lifetimes (E[mu] = s/beta_i grows); for BG/NBD one
 * gamma_life scales a and b together, which keeps the mean drop-out
 * probability a/(a+b) and changes its concentration a+b (CLVTools' choice,
 * kept so results compare one to one: docs/covariates.md).
 *
 * Customers are grouped by covariate vector; the log-likelihood is the plain
 * model's loglik_sum / loglik_grad at each group's parameters over that
 * group's collapsed (x, t_x, T) patterns, so its cost is one model
 * evaluation per distinct (group, x, t_x, T), and the gradient follows from
 * the plain model's by the chain rule (analytic, as the plain model's).
 * Pure mathematics: GSL and libc, no I/O, no globals. */
#ifndef LTVD_MODEL_COVARIATES_H
#define LTVD_MODEL_COVARIATES_H

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"
#include "model/fit.h"

#define COV_MAX_COVARIATES 16
/* The model's 4 parameters, then gamma_trans[K], then gamma_life[K]. */
#define COV_MAX_PARAMS (4 + 2 * COV_MAX_COVARIATES)
#define COV_BASE_PARAMS 4

/* Customers grouped by covariate vector. Group g has the covariate vector
 * z[g*K .. g*K+K) and the patterns pat[start[g] .. start[g+1]), sorted by
 * (x, t_x, T) with distinct triples (btyd_patterns_collapse order). Borrowed
 * pointers: cov_data never owns what it points to (see cov_data_build for
 * one that does). */
typedef struct cov_data {
    size_t n_covariates; /* K, 0..COV_MAX_COVARIATES */
    size_t n_groups;     /* G >= 1 */
    const double *z;     /* G x K, row-major */
    const btyd_pattern *pat;
    const size_t *start; /* G + 1 offsets into pat; start[0] = 0 */
} cov_data;

/* What cov_fit found. params/std_errors/covariance are in the order
 * {the model's 4 (model->param_names)}, gamma_trans[0..K), gamma_life[0..K). */
typedef struct cov_result {
    size_t n_params; /* 4 + 2K */
    double params[COV_MAX_PARAMS];
    double std_errors[COV_MAX_PARAMS];                  /* 0 when !std_errors_ok */
    double covariance[COV_MAX_PARAMS * COV_MAX_PARAMS]; /* n_params x n_params,
                                                           row-major, natural scale */
    bool std_errors_ok;    /* Hessian negative definite at the optimum */
    bool converged;        /* gradient test passed */
    double log_likelihood; /* with covariates */
    size_t iterations;
    fit_result base;     /* the model without covariates on the same customers */
    double lr_statistic; /* 2 (log_likelihood - base.log_likelihood), >= 0 */
    size_t lr_df;        /* 2K */
    double lr_p_value;   /* P(chi2(lr_df) > lr_statistic) */
    double n_customers;  /* total weight */
    size_t n_patterns;   /* distinct (group, x, t_x, T) */
    double seconds;      /* both fits */
} cov_result;

/* True for the models covariates are implemented for (bgnbd, pareto). */
bool cov_model_supported(const btyd_model *m);

/* The parameters of a customer with covariate vector z (K numbers) under
 * the full parameter vector params (cov_result order): out[0..4).
 * Returns GSL_SUCCESS, GSL_EDOM for an unsupported model or K too large, or
 * GSL_ERANGE when gamma . z is beyond +-40 (a factor e^40 on a scale) or a
 * scale over- or underflows. */
int cov_params_at(const btyd_model *m, const double *params, size_t K, const double *z,
                  double *out);

/* cov_params_at at the fitted r->params, with standard errors of the four
 * by the delta method from r->covariance (se all 0 when !r->std_errors_ok).
 * Returns as cov_params_at. */
int cov_params_at_se(const btyd_model *m, const cov_result *r, const double *z,
                     double *out, double *se);

/* Total log-likelihood at params (cov_result order, 4 + 2K numbers), and,
 * when grad is not NULL, its gradient in grad[0..4+2K). Returns GSL_SUCCESS
 * or the model's error code (GSL_EDOM outside its domain). */
int cov_loglik(const btyd_model *m, const cov_data *d, const double *params, double *ll,
               double *grad);

/* The gradient (grad[0..n)) and Hessian (hess, n x n row-major, n = 4 +
 * 2K) of the total log-likelihood at params: each group's 4 x 4 Hessian of
 * the plain model in its own parameters (forward differences of the
 * analytic gradient, ~1e-6 relative), carried to params by the chain rule,
 * so the cost is 5 passes over the patterns whatever K. Returns as
 * cov_loglik. */
int cov_hessian(const btyd_model *m, const cov_data *d, const double *params,
                double *grad, double *hess);

/* Fits the model with covariates by maximum likelihood (fit.h's BFGS and
 * Newton steps on log r, log alpha, ... and the gammas as they are), warm-
 * started from the model fitted without covariates (gammas 0), which is
 * also fitted and reported in out->base together with the likelihood-ratio
 * test of the covariates (chi-squared with 2K degrees of freedom).
 * Standard errors and the covariance come from the Hessian at the optimum
 * (forward differences of the analytic gradient). An unidentified
 * coefficient (e.g. a group of customers with no repeat purchase) shows as
 * !std_errors_ok or a very large coefficient: the caller pools such groups
 * (cov_design.h does). Returns GSL_SUCCESS when both optima are finite (see
 * out->converged), GSL_EDOM for an unsupported model or bad data (no
 * customer, a weight < 0, K > COV_MAX_COVARIATES, a pattern outside the
 * model's domain), GSL_ENOMEM, or the model's error. */
int cov_fit(const btyd_model *m, const cov_data *d, cov_result *out);

/* A cov_data that owns its arrays (cov_data_build). */
typedef struct cov_data_owned {
    cov_data d; /* points into the arrays below */
    double *z;
    btyd_pattern *pat;
    size_t *start;
    size_t *group_of; /* customer i's group, for the caller (n entries) */
} cov_data_owned;

/* Groups customers cust[0..n) (each a pattern with its weight) by their
 * covariate rows z[i*K .. i*K+K) (equal when bitwise equal; -0.0 is taken
 * as 0.0), collapsing each group's patterns. Groups are numbered in order of
 * first appearance. Expected O(n) time. Returns GSL_SUCCESS, GSL_EDOM when
 * n = 0 or K > COV_MAX_COVARIATES or a covariate is not finite, or
 * GSL_ENOMEM. Free with cov_data_free (also safe after an error). */
int cov_data_build(const btyd_pattern *cust, const double *z, size_t n, size_t K,
                   cov_data_owned *out);
void cov_data_free(cov_data_owned *o);

#endif

/* Maximum-likelihood fitting shared by every model: BFGS (GSL multimin) on
 * the logarithms of the (positive) parameters, an optional L2 penalizer,
 * a warm start, an honest convergence status, and standard errors from the
 * Hessian of the log-likelihood at the optimum. */
#ifndef LTVD_MODEL_FIT_H
#define LTVD_MODEL_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"

/* fit_result (stored in snapshots and the cache) holds FIT_MAX_PARAMS;
 * fit_mle_wide (covariate models) takes up to FIT_MAX_PARAMS_WIDE. */
#define FIT_MAX_PARAMS 4
#define FIT_MAX_PARAMS_WIDE 40

/* Total (weighted) log-likelihood of the data at natural-scale params.
 * Returns GSL_SUCCESS with a finite *ll, or an error code. */
typedef int (*fit_loglik_fn)(const double *params, const void *data, double *ll);
/* The same and its gradient with respect to the natural-scale params. */
typedef int (*fit_loglik_grad_fn)(const double *params, const void *data, double *ll,
                                  double *grad);
/* Its gradient (grad[0..n)) and Hessian (hess, n x n row-major) with
 * respect to the natural-scale params. */
typedef int (*fit_hessian_fn)(const double *params, const void *data, double *grad,
                              double *hess);

typedef struct fit_spec {
    size_t n_params;
    fit_loglik_fn loglik;
    fit_loglik_grad_fn loglik_grad; /* optional: analytic gradient (NULL: numeric) */
    const void *data;
    double total_weight;    /* number of customers, scales the penalizer */
    double penalizer;       /* C >= 0: minimise -LL/N + C * sum(params^2) */
    const double *init;     /* starting point (natural scale, all > 0) */
    size_t max_iter;        /* 0: a default */
    bool newton_first;      /* init is near the optimum: try Newton steps
                               (needs loglik_grad) before BFGS */
    bool skip_std_errors;   /* a preliminary fit: no Hessian at the end */
    size_t n_real;          /* the last n_real params are real numbers (e.g.
                               covariate coefficients), fitted as they are, any
                               finite init, no penalizer; the others are > 0,
                               fitted on their logarithms. 0: all positive */
    fit_hessian_fn hessian; /* optional, with loglik_grad: used instead of
                               differences of the gradient for the Newton
                               steps and the standard errors */
    double *covariance;     /* optional out (fit_mle_wide only; fit_mle fills
                               fit_result.covariance instead): the n x n
                               covariance of the natural-scale params, row-major,
                               written when std_errors_ok */
} fit_spec;

typedef struct fit_result {
    double params[FIT_MAX_PARAMS];
    double std_errors[FIT_MAX_PARAMS]; /* NaN-free: 0 if the Hessian is singular */
    bool std_errors_ok;    /* false if the Hessian was not negative definite */
    double log_likelihood; /* total, unpenalized, at params */
    size_t iterations;     /* BFGS plus Newton steps on the full data */
    bool converged;
    double seconds;
    /* The asymptotic covariance of the natural-scale params (n x n,
     * row-major, n = the model's number of params), the inverse of the
     * negated Hessian the std_errors come from (std_errors[i] is the square
     * root of covariance[i*n+i]). Valid only when covariance_ok: a fit with
     * std_errors_ok, or a snapshot that stored it (model/intervals.h). */
    double covariance[FIT_MAX_PARAMS * FIT_MAX_PARAMS];
    bool covariance_ok;
} fit_result;

/* fit_result with room for FIT_MAX_PARAMS_WIDE parameters (not stored). */
typedef struct fit_result_wide {
    double params[FIT_MAX_PARAMS_WIDE];
    double std_errors[FIT_MAX_PARAMS_WIDE];
    bool std_errors_ok;
    double log_likelihood;
    size_t iterations;
    bool converged;
    double seconds;
} fit_result_wide;

/* Fits by maximum likelihood. Returns GSL_SUCCESS when a finite optimum was
 * found (out->converged says whether the gradient test passed), GSL_EDOM for
 * a bad spec, or another GSL code when the likelihood cannot be evaluated at
 * the starting point. out->covariance is filled (covariance_ok) whenever the
 * standard errors are (std_errors_ok). */
int fit_mle(const fit_spec *spec, fit_result *out);

/* fit_mle for up to FIT_MAX_PARAMS_WIDE parameters (fit_mle itself refuses
 * more than FIT_MAX_PARAMS, and a covariance request, with GSL_EDOM). */
int fit_mle_wide(const fit_spec *spec, fit_result_wide *out);

/* Fits a purchase model on weighted patterns; init NULL uses model->init. */
int fit_btyd(const btyd_model *model, const btyd_pattern *pat, size_t n, double penalizer,
             const double *init, fit_result *out);

/* Sum over patterns of weight * loglik (model->loglik_sum when present). */
int fit_btyd_loglik(const btyd_model *model, const double *params,
                    const btyd_pattern *pat, size_t n, double *out);

#endif

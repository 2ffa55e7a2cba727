/* Maximum-likelihood fitting for every model: BFGS (GSL multimin, vector_bfgs2)
 * on the logarithms of the positive parameters (real-valued ones, such as
 * covariate coefficients, as they are), with central-difference or analytic
 * gradients, Newton steps when the gradient is analytic, an optional L2
 * penalizer as lifetimes applies it, and standard errors from a
 * finite-difference (or the caller's) Hessian of the log-likelihood at the
 * optimum (delta method back to the natural scale). */
#include "model/fit.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/parallel.h"

#define DEFAULT_MAX_ITER 1000
#define GRAD_STEP 1e-6      /* central differences on log-parameters */
#define HESS_STEP 1e-4      /* second differences of the log-likelihood */
#define GRAD_HESS_STEP 1e-6 /* forward differences of an analytic gradient */
#define GRAD_TOL 1e-8       /* on the gradient of the mean log-likelihood */
#define GRAD_TOL_LOOSE 1e-5 /* accepted when BFGS can make no more progress */
#define NEWTON_FROM 1e-4    /* BFGS hands over to Newton below this gradient */
#define BAD_OBJECTIVE 1e100 /* where the likelihood cannot be evaluated */

/* ---- the objective: -LL/N + C * sum(params^2) on log-parameters ---- */

typedef struct objective {
    const fit_spec *spec;
    bool grad_bad; /* the last numeric gradient had a component that could
                      not be computed: no convergence may be claimed there */
} objective;

/* The positive parameters are fitted on their logarithms, the last
 * spec->n_real (real-valued) as they are. */
static bool is_real(const fit_spec *spec, size_t i)
{
    return i + spec->n_real >= spec->n_params;
}

/* p = the natural-scale parameters at theta; false when one is not finite
 * (or a positive one underflows to 0). */
static bool to_natural(const fit_spec *spec, const double *theta, double *p)
{
    for (size_t i = 0; i < spec->n_params; i++) {
        p[i] = is_real(spec, i) ? theta[i] : exp(theta[i]);
        if (!isfinite(p[i]) || (!is_real(spec, i) && p[i] <= 0))
            return false;
    }
    return true;
}

/* dp_i / dtheta_i at the natural-scale value p_i. */
static double jacobian(const fit_spec *spec, size_t i, double p)
{
    return is_real(spec, i) ? 1.0 : p;
}

static int loglik_at_log(const fit_spec *spec, const double *theta, double *ll)
{
    double p[FIT_MAX_PARAMS_WIDE];
    if (!to_natural(spec, theta, p))
        return GSL_EDOM;
    int rc = spec->loglik(p, spec->data, ll);
    if (rc == GSL_SUCCESS && !isfinite(*ll))
        rc = GSL_ERANGE;
    return rc;
}

static double penalty_at_log(const fit_spec *spec, const double *theta)
{
    double s = 0;
    for (size_t i = 0; i < spec->n_params; i++) {
        if (is_real(spec, i))
            continue;
        double p = exp(theta[i]);
        s += p * p;
    }
    return spec->penalizer * s;
}

static double objective_value(objective *obj, const double *theta)
{
    double ll;
    int rc = loglik_at_log(obj->spec, theta, &ll);
    if (rc != GSL_SUCCESS)
        return BAD_OBJECTIVE;
    return -ll / obj->spec->total_weight + penalty_at_log(obj->spec, theta);
}

static double gsl_f(const gsl_vector *v, void *ctx)
{
    return objective_value(ctx, gsl_vector_const_ptr(v, 0));
}

/* With an analytic gradient: d/dtheta_i = p_i d/dp_i (chain rule on
 * p = exp(theta)), and the penalty C p_i^2 contributes 2 C p_i^2. Returns 0
 * when the gradient could not be computed (the caller falls back). */
static int analytic_fdf(objective *obj, const double *theta, double *f, double *g)
{
    const fit_spec *spec = obj->spec;
    double p[FIT_MAX_PARAMS_WIDE], grad[FIT_MAX_PARAMS_WIDE], ll;
    if (!to_natural(spec, theta, p))
        return 0;
    if (spec->loglik_grad(p, spec->data, &ll, grad) != GSL_SUCCESS || !isfinite(ll))
        return 0;
    for (size_t i = 0; i < spec->n_params; i++) {
        double pen = is_real(spec, i) ? 0 : 2 * spec->penalizer * p[i] * p[i];
        g[i] = -jacobian(spec, i, p[i]) * grad[i] / spec->total_weight + pen;
        if (!isfinite(g[i]))
            return 0;
    }
    *f = -ll / spec->total_weight + penalty_at_log(spec, theta);
    return 1;
}

static void gsl_df(const gsl_vector *v, void *ctx, gsl_vector *g)
{
    objective *obj = ctx;
    double f;
    if (obj->spec->loglik_grad != NULL &&
        analytic_fdf(obj, gsl_vector_const_ptr(v, 0), &f, gsl_vector_ptr(g, 0)))
        return;
    size_t n = obj->spec->n_params;
    double theta[FIT_MAX_PARAMS_WIDE];
    memcpy(theta, gsl_vector_const_ptr(v, 0), n * sizeof theta[0]);
    double f0 = objective_value(obj, theta);
    obj->grad_bad = false;
    for (size_t i = 0; i < n; i++) {
        double t0 = theta[i];
        theta[i] = t0 + GRAD_STEP;
        double fp = objective_value(obj, theta);
        theta[i] = t0 - GRAD_STEP;
        double fm = objective_value(obj, theta);
        theta[i] = t0;
        bool ok_p = fp < BAD_OBJECTIVE, ok_m = fm < BAD_OBJECTIVE,
             ok_0 = f0 < BAD_OBJECTIVE;
        double d = 0;
        if (ok_p && ok_m)
            d = (fp - fm) / (2 * GRAD_STEP);
        else if (ok_p && ok_0) /* one side is outside: a one-sided difference */
            d = (fp - f0) / GRAD_STEP;
        else if (ok_m && ok_0)
            d = (f0 - fm) / GRAD_STEP;
        else
            obj->grad_bad = true;
        gsl_vector_set(g, i, isfinite(d) ? d : 0.0);
    }
}

static void gsl_fdf(const gsl_vector *v, void *ctx, double *f, gsl_vector *g)
{
    objective *obj = ctx;
    if (obj->spec->loglik_grad != NULL &&
        analytic_fdf(obj, gsl_vector_const_ptr(v, 0), f, gsl_vector_ptr(g, 0)))
        return;
    *f = gsl_f(v, ctx);
    gsl_df(v, ctx, g);
}

/* ---- standard errors ---- */

/* Gradient of the total penalized log-likelihood in log-parameters from the
 * analytic gradient. */
static int grad_log(const fit_spec *spec, const double *theta, double *g)
{
    double p[FIT_MAX_PARAMS_WIDE], grad[FIT_MAX_PARAMS_WIDE], ll;
    if (!to_natural(spec, theta, p))
        return GSL_EDOM;
    int rc = spec->loglik_grad(p, spec->data, &ll, grad);
    if (rc != GSL_SUCCESS)
        return rc;
    for (size_t i = 0; i < spec->n_params; i++) {
        double pen = is_real(spec, i) ? 0 : 2 * spec->penalizer * p[i] * p[i];
        g[i] = jacobian(spec, i, p[i]) * grad[i] - spec->total_weight * pen;
        if (!isfinite(g[i]))
            return GSL_ERANGE;
    }
    return GSL_SUCCESS;
}

/* The Hessian in theta from spec->hessian's natural-scale one: with
 * p_i = exp(theta_i), d2/dtheta_i dtheta_j = J_i J_j H_ij + [i = j] p_i g_i
 * (g the natural-scale gradient), and the penalty -N C p_i^2 adds
 * -4 N C p_i^2 on the diagonal; real parameters have J = 1 and no more. */
static int hessian_natural(const fit_spec *spec, const double *theta0, gsl_matrix *h)
{
    size_t n = spec->n_params;
    double p[FIT_MAX_PARAMS_WIDE], g[FIT_MAX_PARAMS_WIDE];
    double *hn = malloc(n * n * sizeof *hn);
    int rc = GSL_ENOMEM;
    if (hn == NULL)
        return rc;
    rc = to_natural(spec, theta0, p) ? spec->hessian(p, spec->data, g, hn) : GSL_EDOM;
    for (size_t i = 0; rc == GSL_SUCCESS && i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = jacobian(spec, i, p[i]) * jacobian(spec, j, p[j]) * hn[i * n + j];
            if (i == j && !is_real(spec, i))
                v += p[i] * g[i] - 4 * spec->total_weight * spec->penalizer * p[i] * p[i];
            if (!isfinite(v))
                rc = GSL_ERANGE;
            gsl_matrix_set(h, i, j, v);
        }
    free(hn);
    return rc;
}

/* The Hessian from forward differences of the analytic gradient from g0 (the
 * gradient at theta0): n gradient calls. The gradient is smooth and exact to
 * rounding, so a small step gives ~1e-6 relative accuracy. With
 * spec->hessian, that one instead. */
static int hessian_forward(const fit_spec *spec, const double *theta0, const double *g0,
                           gsl_matrix *h)
{
    if (spec->hessian != NULL)
        return hessian_natural(spec, theta0, h);
    size_t n = spec->n_params;
    double theta[FIT_MAX_PARAMS_WIDE], gp[FIT_MAX_PARAMS_WIDE];
    const double e = GRAD_HESS_STEP;
    for (size_t j = 0; j < n; j++) {
        memcpy(theta, theta0, n * sizeof theta[0]);
        theta[j] += e;
        int rc = grad_log(spec, theta, gp);
        if (rc != GSL_SUCCESS)
            return rc;
        for (size_t i = 0; i < n; i++)
            gsl_matrix_set(h, i, j, (gp[i] - g0[i]) / e);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double m = 0.5 * (gsl_matrix_get(h, i, j) + gsl_matrix_get(h, j, i));
            gsl_matrix_set(h, i, j, m);
            gsl_matrix_set(h, j, i, m);
        }
    return GSL_SUCCESS;
}

/* Hessian of the total penalized log-likelihood in log-parameters by central
 * differences; returns GSL_SUCCESS or the first evaluation error. */
static int hessian_log(const fit_spec *spec, const double *theta0, gsl_matrix *h)
{
    double g0[FIT_MAX_PARAMS_WIDE];
    if (spec->loglik_grad != NULL && grad_log(spec, theta0, g0) == GSL_SUCCESS &&
        hessian_forward(spec, theta0, g0, h) == GSL_SUCCESS)
        return GSL_SUCCESS;
    size_t n = spec->n_params;
    double theta[FIT_MAX_PARAMS_WIDE], f0, fpp, fpm, fmp, fmm;
    const double e = HESS_STEP;
    memcpy(theta, theta0, n * sizeof theta[0]);
    int rc = loglik_at_log(spec, theta, &f0);
    if (rc != GSL_SUCCESS)
        return rc;
    f0 -= spec->total_weight * penalty_at_log(spec, theta);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i; j < n; j++) {
            double *vals[4] = {&fpp, &fpm, &fmp, &fmm};
            const double si[4] = {e, e, -e, -e}, sj[4] = {e, -e, e, -e};
            for (int k = 0; k < 4; k++) {
                if (i == j && (k == 1 || k == 2))
                    continue;
                memcpy(theta, theta0, n * sizeof theta[0]);
                theta[i] += si[k];
                theta[j] += sj[k];
                rc = loglik_at_log(spec, theta, vals[k]);
                if (rc != GSL_SUCCESS)
                    return rc;
                *vals[k] -= spec->total_weight * penalty_at_log(spec, theta);
            }
            double hij;
            if (i == j) /* theta[i] moved by +-2e: second difference over 2e */
                hij = (fpp - 2 * f0 + fmm) / (4 * e * e);
            else
                hij = (fpp - fpm - fmp + fmm) / (4 * e * e);
            gsl_matrix_set(h, i, j, hij);
            gsl_matrix_set(h, j, i, hij);
        }
    }
    return GSL_SUCCESS;
}

/* SE(p_i) = J_i sqrt([(-H)^-1]_ii) with H the Hessian in the fitted
 * coordinates theta and J_i = dp_i/dtheta_i (p_i for a positive parameter,
 * 1 for a real one): the delta method, exact at an optimum where the
 * gradient vanishes. The covariance, when asked for, is J_i J_j [(-H)^-1]_ij. */
static void standard_errors(const fit_spec *spec, const double *theta,
                            fit_result_wide *out)
{
    size_t n = spec->n_params;
    gsl_matrix *h = gsl_matrix_alloc(n, n);
    out->std_errors_ok = false;
    for (size_t i = 0; i < n; i++)
        out->std_errors[i] = 0;
    if (h == NULL)
        return;
    if (hessian_log(spec, theta, h) != GSL_SUCCESS)
        goto cleanup;
    gsl_matrix_scale(h, -1.0);
    if (gsl_linalg_cholesky_decomp1(h) != GSL_SUCCESS)
        goto cleanup;
    if (gsl_linalg_cholesky_invert(h) != GSL_SUCCESS)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        double var = gsl_matrix_get(h, i, i);
        double se = jacobian(spec, i, out->params[i]) * sqrt(var);
        if (!(var > 0) || !isfinite(se))
            goto cleanup;
        out->std_errors[i] = se;
    }
    if (spec->covariance != NULL)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                spec->covariance[i * n + j] = jacobian(spec, i, out->params[i]) *
                                              jacobian(spec, j, out->params[j]) *
                                              gsl_matrix_get(h, i, j);
    out->std_errors_ok = true;
cleanup:
    if (!out->std_errors_ok)
        for (size_t i = 0; i < n; i++)
            out->std_errors[i] = 0;
    gsl_matrix_free(h);
}

/* ---- Newton polish ---- */

#define NEWTON_MAX_ITER 20
#define NEWTON_MAX_HALVINGS 30

static int penalized_ll(const fit_spec *spec, const double *theta, double *out)
{
    int rc = loglik_at_log(spec, theta, out);
    if (rc == GSL_SUCCESS)
        *out -= spec->total_weight * penalty_at_log(spec, theta);
    return rc;
}

/* One Newton direction: solves (-H) d = g by Cholesky, H by forward
 * differences (its O(h) error only slows the last digits of convergence). Returns 0 when
 * -H is not positive definite (then Newton cannot be trusted here). */
static int newton_direction(const fit_spec *spec, const double *theta, const double *g,
                            gsl_matrix *h, gsl_vector *gv, gsl_vector *d)
{
    if (hessian_forward(spec, theta, g, h) != GSL_SUCCESS)
        return 0;
    gsl_matrix_scale(h, -1.0);
    if (gsl_linalg_cholesky_decomp1(h) != GSL_SUCCESS)
        return 0;
    for (size_t i = 0; i < spec->n_params; i++)
        gsl_vector_set(gv, i, g[i]);
    return gsl_linalg_cholesky_solve(h, gv, d) == GSL_SUCCESS;
}

/* Newton's method on the penalized log-likelihood, with the Hessian from the
 * analytic gradient and step halving, for a start already near the optimum
 * (a subsample fit): a few steps replace dozens of BFGS iterations there.
 * theta only moves by steps that do not lower the likelihood. Returns 1 when
 * the gradient test passed. */
static int newton_polish(const fit_spec *spec, double *theta, size_t *iters,
                         double *gnorm)
{
    size_t n = spec->n_params;
    int ok = 0;
    gsl_matrix *h = gsl_matrix_alloc(n, n);
    gsl_vector *gv = gsl_vector_alloc(n), *d = gsl_vector_alloc(n);
    double f0, g[FIT_MAX_PARAMS_WIDE], trial[FIT_MAX_PARAMS_WIDE], f;
    if (h == NULL || gv == NULL || d == NULL || penalized_ll(spec, theta, &f0) != 0)
        goto cleanup;
    for (size_t it = 0; it < NEWTON_MAX_ITER; it++) {
        if (grad_log(spec, theta, g) != GSL_SUCCESS)
            break;
        double norm = 0;
        for (size_t i = 0; i < n; i++)
            norm += (g[i] / spec->total_weight) * (g[i] / spec->total_weight);
        *gnorm = sqrt(norm);
        if (*gnorm < GRAD_TOL) {
            ok = 1;
            break;
        }
        if (!newton_direction(spec, theta, g, h, gv, d))
            break;
        (*iters)++;
        double lambda = 1;
        int moved = 0;
        for (int k = 0; k < NEWTON_MAX_HALVINGS && !moved; k++, lambda /= 2) {
            for (size_t i = 0; i < n; i++)
                trial[i] = theta[i] + lambda * gsl_vector_get(d, i);
            moved = penalized_ll(spec, trial, &f) == GSL_SUCCESS &&
                    f >= f0 - 1e-12 * (1 + fabs(f0));
        }
        if (!moved)
            break;
        memcpy(theta, trial, n * sizeof theta[0]);
        f0 = f;
    }
cleanup:
    gsl_matrix_free(h);
    gsl_vector_free(gv);
    gsl_vector_free(d);
    return ok;
}

/* ---- the driver ---- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int spec_valid(const fit_spec *spec)
{
    if (spec->n_params == 0 || spec->n_params > FIT_MAX_PARAMS_WIDE ||
        spec->n_real > spec->n_params || spec->loglik == NULL)
        return 0;
    if (!(spec->total_weight > 0) || !isfinite(spec->total_weight))
        return 0;
    if (!(spec->penalizer >= 0) || !isfinite(spec->penalizer) || spec->init == NULL)
        return 0;
    for (size_t i = 0; i < spec->n_params; i++)
        if (!isfinite(spec->init[i]) || (!is_real(spec, i) && !(spec->init[i] > 0)))
            return 0;
    return 1;
}

/* Runs BFGS from theta (updated in place). Returns the GSL status of the
 * last step; *iters accumulates iterations, *gnorm is the final gradient norm. */
static int run_bfgs(objective *obj, double *theta, size_t max_iter, double tol,
                    size_t *iters, double *gnorm)
{
    size_t n = obj->spec->n_params;
    gsl_multimin_function_fdf fdf = {gsl_f, gsl_df, gsl_fdf, n, obj};
    gsl_multimin_fdfminimizer *m =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, n);
    gsl_vector *x = gsl_vector_alloc(n);
    int status = GSL_ENOMEM;
    if (m == NULL || x == NULL)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        gsl_vector_set(x, i, theta[i]);
    status = gsl_multimin_fdfminimizer_set(m, &fdf, x, 0.1, 0.1);
    if (status != GSL_SUCCESS)
        goto cleanup;
    status = GSL_CONTINUE;
    while (status == GSL_CONTINUE && *iters < max_iter) {
        (*iters)++;
        status = gsl_multimin_fdfminimizer_iterate(m);
        if (status != GSL_SUCCESS)
            break;
        status = gsl_multimin_test_gradient(m->gradient, tol);
    }
    for (size_t i = 0; i < n; i++)
        theta[i] = gsl_vector_get(m->x, i);
    *gnorm = gsl_blas_dnrm2(m->gradient);
cleanup:
    gsl_vector_free(x);
    gsl_multimin_fdfminimizer_free(m);
    return status;
}

int fit_mle_wide(const fit_spec *spec, fit_result_wide *out)
{
    double t0 = now_seconds();
    if (!spec_valid(spec))
        return GSL_EDOM;
    size_t n = spec->n_params;
    size_t max_iter = spec->max_iter ? spec->max_iter : DEFAULT_MAX_ITER;
    objective obj = {spec, false};
    double theta[FIT_MAX_PARAMS_WIDE], ll;
    for (size_t i = 0; i < n; i++)
        theta[i] = is_real(spec, i) ? spec->init[i] : log(spec->init[i]);
    int rc = loglik_at_log(spec, theta, &ll);
    if (rc != GSL_SUCCESS)
        return rc;

    memset(out, 0, sizeof *out);
    double gnorm = INFINITY;
    int status = GSL_CONTINUE;
    bool newton = spec->loglik_grad != NULL;
    /* With an analytic gradient, BFGS only has to get near the optimum:
     * Newton steps (quadratic convergence) finish the job. */
    if (newton && !spec->newton_first)
        run_bfgs(&obj, theta, max_iter, NEWTON_FROM, &out->iterations, &gnorm);
    if (newton && newton_polish(spec, theta, &out->iterations, &gnorm))
        status = GSL_SUCCESS;
    else
        status = run_bfgs(&obj, theta, max_iter, GRAD_TOL, &out->iterations, &gnorm);
    /* A restart from the point reached clears a stale BFGS Hessian estimate,
     * which is the usual reason for "no progress" far from the optimum. */
    for (int restart = 0; restart < 3 && status != GSL_SUCCESS && status != GSL_ENOMEM &&
                          gnorm > GRAD_TOL && out->iterations < max_iter;
         restart++)
        status = run_bfgs(&obj, theta, max_iter, GRAD_TOL, &out->iterations, &gnorm);
    if (status == GSL_ENOMEM)
        return GSL_ENOMEM;

    rc = loglik_at_log(spec, theta, &ll);
    if (rc != GSL_SUCCESS)
        return rc;
    for (size_t i = 0; i < n; i++)
        out->params[i] = is_real(spec, i) ? theta[i] : exp(theta[i]);
    out->log_likelihood = ll;
    out->converged = (status == GSL_SUCCESS || gnorm <= GRAD_TOL_LOOSE) && !obj.grad_bad;
    if (!spec->skip_std_errors)
        standard_errors(spec, theta, out);
    out->seconds = now_seconds() - t0;
    return GSL_SUCCESS;
}

int fit_mle(const fit_spec *spec, fit_result *out)
{
    if (spec->n_params > FIT_MAX_PARAMS || spec->covariance != NULL)
        return GSL_EDOM;
    fit_result_wide w;
    double cov[FIT_MAX_PARAMS * FIT_MAX_PARAMS];
    fit_spec with_cov = *spec;
    with_cov.covariance = cov;
    int rc = fit_mle_wide(&with_cov, &w);
    if (rc != GSL_SUCCESS)
        return rc;
    memset(out, 0, sizeof *out);
    if (w.std_errors_ok) {
        memcpy(out->covariance, cov, spec->n_params * spec->n_params * sizeof cov[0]);
        out->covariance_ok = true;
    }
    memcpy(out->params, w.params, spec->n_params * sizeof w.params[0]);
    memcpy(out->std_errors, w.std_errors, spec->n_params * sizeof w.std_errors[0]);
    out->std_errors_ok = w.std_errors_ok;
    out->log_likelihood = w.log_likelihood;
    out->iterations = w.iterations;
    out->converged = w.converged;
    out->seconds = w.seconds;
    return GSL_SUCCESS;
}

/* ---- purchase models on weighted patterns ---- */

typedef struct btyd_data {
    const btyd_model *model;
    const btyd_pattern *pat;
    size_t n;
} btyd_data;

int fit_btyd_loglik(const btyd_model *model, const double *params,
                    const btyd_pattern *pat, size_t n, double *out)
{
    if (model->loglik_sum != NULL)
        return model->loglik_sum(params, pat, n, out);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double ll;
        int rc = model->loglik(params, pat[i].x, pat[i].t_x, pat[i].T, &ll);
        if (rc != GSL_SUCCESS)
            return rc;
        sum += pat[i].weight * ll;
    }
    if (!isfinite(sum))
        return GSL_ERANGE;
    *out = sum;
    return GSL_SUCCESS;
}

/* Below this many patterns a chunk is not worth a thread. */
#define MIN_CHUNK 8192

typedef struct eval_ctx {
    const btyd_data *d;
    const double *params;
} eval_ctx;

static int loglik_chunk(void *ctx, size_t lo, size_t hi, double *acc)
{
    const eval_ctx *e = ctx;
    return fit_btyd_loglik(e->d->model, e->params, e->d->pat + lo, hi - lo, &acc[0]);
}

static int loglik_grad_chunk(void *ctx, size_t lo, size_t hi, double *acc)
{
    const eval_ctx *e = ctx;
    return e->d->model->loglik_grad(e->params, e->d->pat + lo, hi - lo, &acc[0], &acc[1]);
}

static int btyd_data_loglik(const double *params, const void *data, double *ll)
{
    eval_ctx e = {data, params};
    double acc[1] = {0};
    int rc = parallel_sum(e.d->n, MIN_CHUNK, loglik_chunk, &e, acc, 1);
    if (rc == GSL_SUCCESS && !isfinite(acc[0]))
        rc = GSL_ERANGE;
    if (rc == GSL_SUCCESS)
        *ll = acc[0];
    return rc;
}

static int btyd_data_loglik_grad(const double *params, const void *data, double *ll,
                                 double *grad)
{
    eval_ctx e = {data, params};
    size_t k = e.d->model->n_params;
    double acc[1 + BTYD_MAX_PARAMS] = {0};
    int rc = parallel_sum(e.d->n, MIN_CHUNK, loglik_grad_chunk, &e, acc, 1 + k);
    if (rc != GSL_SUCCESS)
        return rc;
    *ll = acc[0];
    for (size_t i = 0; i < k; i++)
        grad[i] = acc[1 + i];
    return GSL_SUCCESS;
}

/* near: init is a subsample optimum (Newton first); final: the result is
 * reported (a subsample fit skips the standard errors). */
static int fit_btyd_once(const btyd_model *model, const btyd_pattern *pat, size_t n,
                         double penalizer, const double *init, bool near, bool final,
                         fit_result *out)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(pat[i].weight >= 0) || !isfinite(pat[i].weight))
            return GSL_EDOM;
        total += pat[i].weight;
    }
    btyd_data data = {model, pat, n};
    fit_spec spec = {
        .n_params = model->n_params,
        .loglik = btyd_data_loglik,
        .loglik_grad = model->loglik_grad != NULL ? btyd_data_loglik_grad : NULL,
        .data = &data,
        .total_weight = total,
        .penalizer = penalizer,
        .init = init,
        .newton_first = near,
        .skip_std_errors = !final,
    };
    return fit_mle(&spec, out);
}

/* Large histograms are first fitted on a systematic subsample (every k-th
 * pattern of the sorted histogram, weight times k): most iterations then run
 * on a small problem and the full data only polish a near-optimal start. */
#define SUBSAMPLE_ABOVE 20000
#define SUBSAMPLE_SIZE 5000

static bool subsample_start(const btyd_model *model, const btyd_pattern *pat, size_t n,
                            double penalizer, const double *init, double *start)
{
    bool found = false;
    memcpy(start, init, model->n_params * sizeof start[0]);
    size_t k = n / SUBSAMPLE_SIZE, m = 0;
    btyd_pattern *sub = malloc((n / k + 1) * sizeof *sub);
    if (sub == NULL)
        return false;
    for (size_t i = k / 2; i < n; i += k) {
        sub[m] = pat[i];
        sub[m++].weight *= (double)k;
    }
    fit_result r;
    if (fit_btyd_once(model, sub, m, penalizer, init, false, false, &r) == GSL_SUCCESS &&
        r.converged) {
        memcpy(start, r.params, model->n_params * sizeof start[0]);
        found = true;
    }
    free(sub);
    return found;
}

int fit_btyd(const btyd_model *model, const btyd_pattern *pat, size_t n, double penalizer,
             const double *init, fit_result *out)
{
    double t0 = now_seconds(), start[BTYD_MAX_PARAMS];
    if (init == NULL)
        init = model->init;
    bool near = false;
    if (n > SUBSAMPLE_ABOVE) {
        near = subsample_start(model, pat, n, penalizer, init, start);
        init = start;
    }
    int rc = fit_btyd_once(model, pat, n, penalizer, init, near, true, out);
    if (rc == GSL_SUCCESS)
        out->seconds = now_seconds() - t0;
    return rc;
}

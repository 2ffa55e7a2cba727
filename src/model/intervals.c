/* Delta-method intervals of P(alive), the expected purchases and the CLV
 * (see intervals.h). The cost is n + 1 evaluations of the purchase model's
 * numbers (n = its parameters, 4 here; the horizon's expectation and the
 * CLV's monthly ones in one btyd_expected_many call) and 7 of Gamma-Gamma's
 * expected spend: about the cost of scoring the customer five times. */
#include "model/intervals.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#include "model/gg.h"

#define MAX_N BTYD_MAX_PARAMS

int intervals_covariance_usable(const double *cov, size_t n)
{
    double l[MAX_N * MAX_N];
    if (cov == NULL || n == 0 || n > MAX_N)
        return 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double a = cov[i * n + j], b = cov[j * n + i];
            if (!isfinite(a) || fabs(a - b) > 1e-8 * (fabs(a) + fabs(b)))
                return 0;
        }
    /* Cholesky, row by row: every pivot must be > 0 */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = cov[i * n + j];
            for (size_t k = 0; k < j; k++)
                s -= l[i * n + k] * l[j * n + k];
            if (i == j) {
                if (!(s > 0) || !isfinite(s))
                    return 0;
                l[i * n + i] = sqrt(s);
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    return 1;
}

double intervals_quadratic(const double *grad_log, const double *params,
                           const double *cov, size_t n)
{
    double v = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            v += grad_log[i] * grad_log[j] * cov[i * n + j] / (params[i] * params[j]);
    return v;
}

/* ------------------------------------------------------------ the model */

/* Months of CLV whose expectations come in one call with the horizon's
 * (btyd_expected_many does a history's own work once); longer CLVs take
 * clv_discounted_purchases apart. */
#define MONTHS_TOGETHER 63

/* The discounted purchases from e[k-1] = E[X(k M)], k = 1..months: the
 * operations of clv_discounted_purchases in its order, so the value is
 * the one the scores computed. */
static double discounted(const clv_options *o, const double *e)
{
    double sum = 0, prev = 0;
    for (unsigned k = 1; k <= o->months; k++) {
        sum += (e[k - 1] - prev) / pow(1 + o->discount_rate, k);
        prev = e[k - 1];
    }
    return sum;
}

/* The purchase model's three numbers at params: P(alive), the expected
 * purchases over the horizon and, with clv, the discounted purchases. */
static int purchase_values(const intervals_spec *s, const double *params, double x,
                           double t_x, double T, double out[3])
{
    const btyd_model *b = s->model;
    int rc = b->p_alive(params, x, t_x, T, &out[0]);
    out[2] = 0;
    if (rc == GSL_SUCCESS && s->clv != NULL && s->clv->months <= MONTHS_TOGETHER) {
        double t[MONTHS_TOGETHER + 1], e[MONTHS_TOGETHER + 1];
        t[0] = s->horizon;
        for (unsigned k = 1; k <= s->clv->months; k++)
            t[k] = k * s->clv->month_periods;
        rc = btyd_expected_many(b, params, x, t_x, T, t, s->clv->months + 1, e);
        out[1] = e[0];
        if (rc == GSL_SUCCESS)
            out[2] = discounted(s->clv, e + 1);
    } else if (rc == GSL_SUCCESS) {
        rc = b->expected(params, x, t_x, T, s->horizon, &out[1]);
        if (rc == GSL_SUCCESS && s->clv != NULL)
            rc = clv_discounted_purchases(b, params, x, t_x, T, s->clv, &out[2]);
    }
    for (int i = 0; rc == GSL_SUCCESS && i < 3; i++)
        if (!isfinite(out[i]))
            rc = GSL_ERANGE;
    return rc;
}

/* grad[k][i]: d value_k / d log(params_i) by forward differences from
 * vals, the values at the estimate (n + 1 evaluations in all, not 2n + 1:
 * the step's O(1e-4) relative error in a gradient is far below what a
 * 90% interval can tell, and a GET's interval costs half as much). */
static int purchase_gradients(const intervals_spec *s, double x, double t_x, double T,
                              const double vals[3], double grad[3][MAX_N])
{
    size_t n = s->model->n_params;
    double p[MAX_N], plus[3];
    memcpy(p, s->params, n * sizeof p[0]);
    for (size_t i = 0; i < n; i++) {
        p[i] = s->params[i] * exp(INTERVALS_STEP);
        int rc = purchase_values(s, p, x, t_x, T, plus);
        p[i] = s->params[i];
        if (rc != GSL_SUCCESS)
            return rc;
        for (int k = 0; k < 3; k++)
            grad[k][i] = (plus[k] - vals[k]) / INTERVALS_STEP;
    }
    return GSL_SUCCESS;
}

/* d log E[spend] / d log(gg params), and E[spend] into *spend. */
static int spend_gradient(const double *gg, double x, double m, double *spend,
                          double grad[3])
{
    int rc = gg_expected_spend(gg, x, m, spend);
    if (rc != GSL_SUCCESS || !(*spend > 0))
        return rc != GSL_SUCCESS ? rc : GSL_EDOM;
    double p[3], plus, minus;
    memcpy(p, gg, sizeof p);
    for (size_t i = 0; i < 3; i++) {
        p[i] = gg[i] * exp(INTERVALS_STEP);
        rc = gg_expected_spend(p, x, m, &plus);
        p[i] = gg[i] * exp(-INTERVALS_STEP);
        if (rc == GSL_SUCCESS)
            rc = gg_expected_spend(p, x, m, &minus);
        p[i] = gg[i];
        if (rc != GSL_SUCCESS || !(plus > 0) || !(minus > 0))
            return rc != GSL_SUCCESS ? rc : GSL_EDOM;
        grad[i] = (log(plus) - log(minus)) / (2 * INTERVALS_STEP);
    }
    return GSL_SUCCESS;
}

/* ------------------------------------------------------------ the bounds */

static double expit(double z)
{
    return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

/* Sets b from a value in (0, 1) and the variance of its logit. */
static void logit_bound(intervals_bound *b, double v, double var, double z)
{
    b->value = v;
    if (v <= 0 || v >= 1) { /* exactly 0 or 1 whatever the parameters */
        b->lo = b->hi = v;
        b->ok = isfinite(v);
        return;
    }
    double se = sqrt(var), c = log(v) - log1p(-v);
    b->lo = expit(c - z * se);
    b->hi = expit(c + z * se);
    b->lo = b->lo < v ? b->lo : v;
    b->hi = b->hi > v ? b->hi : v;
    b->ok = isfinite(se) && isfinite(b->lo) && isfinite(b->hi);
}

/* Sets b from a value >= 0 and the variance of its logarithm. */
static void log_bound(intervals_bound *b, double v, double var_log, double z)
{
    b->value = v;
    if (v <= 0) {
        b->lo = b->hi = v;
        b->ok = v == 0;
        return;
    }
    double se = sqrt(var_log);
    b->lo = v * exp(-z * se);
    b->hi = v * exp(z * se);
    b->lo = b->lo < v ? b->lo : v;
    b->hi = b->hi > v ? b->hi : v;
    b->ok = isfinite(se) && isfinite(b->lo) && isfinite(b->hi);
}

static bool spec_ok(const intervals_spec *s)
{
    return s != NULL && s->model != NULL && s->params != NULL &&
           s->model->n_params <= MAX_N && s->level > 0 && s->level < 1 &&
           s->horizon >= 0 && isfinite(s->horizon) &&
           (s->clv == NULL || clv_options_valid(s->clv));
}

/* The CLV's bound: log-variance = purchase part + spend part. */
static void ltv_bound(const intervals_spec *s, double x, double m, const double vals[3],
                      const double grad[3][MAX_N], double z, intervals_bound *b)
{
    double spend, gg_grad[3];
    if (s->gg_params == NULL || s->gg_covariance == NULL || s->clv == NULL ||
        !intervals_covariance_usable(s->gg_covariance, 3) ||
        spend_gradient(s->gg_params, x, m, &spend, gg_grad) != GSL_SUCCESS)
        return;
    double ltv = s->clv->margin * spend * vals[2];
    if (!(vals[2] > 0) || !(ltv > 0)) { /* no purchases, or no margin: exactly 0 */
        log_bound(b, ltv, 0, z);
        return;
    }
    size_t n = s->model->n_params;
    double g[MAX_N];
    for (size_t i = 0; i < n; i++)
        g[i] = grad[2][i] / vals[2];
    double var = intervals_quadratic(g, s->params, s->covariance, n) +
                 intervals_quadratic(gg_grad, s->gg_params, s->gg_covariance, 3);
    log_bound(b, ltv, var > 0 ? var : 0, z);
}

int intervals_compute(const intervals_spec *given, double x, double t_x, double T,
                      double m, intervals_result *out)
{
    memset(out, 0, sizeof *out);
    if (!spec_ok(given))
        return GSL_EDOM;
    intervals_spec bounded = *given; /* no CLV past its months' bound */
    if (bounded.clv != NULL && bounded.clv->months > INTERVALS_CLV_MONTHS_MAX)
        bounded.clv = NULL;
    const intervals_spec *spec = &bounded;
    size_t n = spec->model->n_params;
    double vals[3], grad[3][MAX_N];
    if (spec->covariance == NULL || !intervals_covariance_usable(spec->covariance, n) ||
        purchase_values(spec, spec->params, x, t_x, T, vals) != GSL_SUCCESS ||
        purchase_gradients(spec, x, t_x, T, vals, grad) != GSL_SUCCESS)
        return GSL_SUCCESS;
    double z = gsl_cdf_ugaussian_Pinv(0.5 + spec->level / 2);
    double p = vals[0], g[MAX_N];
    for (size_t i = 0; i < n; i++)
        g[i] = p > 0 && p < 1 ? grad[0][i] / (p * (1 - p)) : 0;
    double var = intervals_quadratic(g, spec->params, spec->covariance, n);
    logit_bound(&out->p_alive, p, var > 0 ? var : 0, z);
    for (size_t i = 0; i < n; i++)
        g[i] = vals[1] > 0 ? grad[1][i] / vals[1] : 0;
    var = intervals_quadratic(g, spec->params, spec->covariance, n);
    log_bound(&out->expected, vals[1], var > 0 ? var : 0, z);
    ltv_bound(spec, x, m, vals, grad, z, &out->ltv);
    return GSL_SUCCESS;
}

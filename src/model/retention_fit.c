/* Maximum-likelihood fit of the sBG and BdW retention models on cohorts'
 * survivor counts (model/retention.h), through fit_mle (log-parameters,
 * standard errors from the Hessian). A cohort with counts n_0..n_m
 * contributes
 *   sum_{t=1..m} (n_{t-1} - n_t) log P(T = t) + n_m log S(m),
 * P(T = t) = S(t-1) - S(t): those who left at the t-th renewal decision and
 * those still subscribed at the last count (right-censored). P is computed
 * without the cancellation of the difference: S(t-1) alpha / (alpha + beta
 * + t - 1) for the sBG, S(t-1) (1 - S(t)/S(t-1)) with expm1 for the BdW. */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/retention.h"

/* The cohorts pooled: every cohort shares S(t) and P(T = t), so the
 * likelihood is sum_t churned[t] log P(T = t) + censored[t] log S(t) over
 * t = 1..m-1, m the longest cohort's count: one pass of the model's
 * recursion per evaluation whatever the number of cohorts (per cohort, 682
 * monthly cohorts since 1970 made a BdW fit take 8 s; red team). */
typedef struct fit_data {
    retention_kind kind;
    size_t m;         /* counts per pooled row: t = 0..m-1 */
    double *churned;  /* [t]: left at decision t, over the cohorts */
    double *censored; /* [t]: still subscribed at a cohort's last count t */
} fit_data;

static void pool_free(fit_data *d)
{
    free(d->churned);
    free(d->censored);
    d->churned = d->censored = NULL;
}

/* Pools the usable cohorts (n >= 2, checked by retention_cohorts_check)
 * into d. GSL_ENOMEM when out of memory. */
static int pool_make(retention_kind kind, const retention_cohort *cohorts, size_t n,
                     fit_data *d)
{
    *d = (fit_data){kind, 0, NULL, NULL};
    for (size_t i = 0; i < n; i++)
        if (cohorts[i].n >= 2 && cohorts[i].n > d->m)
            d->m = cohorts[i].n;
    d->churned = calloc(d->m > 0 ? d->m : 1, sizeof *d->churned);
    d->censored = calloc(d->m > 0 ? d->m : 1, sizeof *d->censored);
    if (d->churned == NULL || d->censored == NULL) {
        pool_free(d);
        return GSL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const retention_cohort *c = &cohorts[i];
        if (c->n < 2)
            continue;
        for (size_t t = 1; t < c->n; t++)
            d->churned[t] += c->survivors[t - 1] - c->survivors[t];
        d->censored[c->n - 1] += c->survivors[c->n - 1];
    }
    return GSL_SUCCESS;
}

static retention_params params_of(retention_kind kind, const double *v)
{
    return (retention_params){kind, v[0], v[1], kind == RETENTION_BDW ? v[2] : 1.0};
}

/* log P(T = t) and log S(t) from log S(t-1) (*log_s holds it, updated). */
static int step_sbg(const retention_params *p, unsigned t, double *log_s, double *log_p)
{
    double denom = p->alpha + p->beta + (t - 1);
    *log_p = *log_s + log(p->alpha / denom);
    *log_s += log1p(-p->alpha / denom);
    return GSL_SUCCESS;
}

static int step_bdw(const retention_params *p, unsigned t, double *log_s, double *log_p)
{
    double next;
    int rc = retention_log_survival(p, t, &next);
    if (rc != GSL_SUCCESS)
        return rc;
    double drop = -expm1(fmin(next - *log_s, 0.0)); /* P(T = t | T > t-1) */
    *log_p = *log_s + log(drop);                    /* -inf when drop == 0 */
    *log_s = next;
    return GSL_SUCCESS;
}

static int data_loglik(const double *params, const void *data, double *ll)
{
    const fit_data *d = data;
    retention_params p = params_of(d->kind, params);
    double sum = 0, log_s = 0, log_p;
    for (size_t t = 1; t < d->m; t++) {
        int rc = p.kind == RETENTION_SBG ? step_sbg(&p, (unsigned)t, &log_s, &log_p)
                                         : step_bdw(&p, (unsigned)t, &log_s, &log_p);
        if (rc != GSL_SUCCESS)
            return rc;
        if (d->churned[t] > 0)
            sum += d->churned[t] * log_p;
        if (d->censored[t] > 0)
            sum += d->censored[t] * log_s;
    }
    if (!isfinite(sum))
        return GSL_ERANGE;
    *ll = sum;
    return GSL_SUCCESS;
}

int retention_loglik(const retention_params *p, const retention_cohort *cohorts,
                     size_t n_cohorts, double *out)
{
    if (p == NULL || (p->kind != RETENTION_SBG && p->kind != RETENTION_BDW))
        return GSL_EDOM;
    double v[3] = {p->alpha, p->beta, p->c};
    size_t np = p->kind == RETENTION_BDW ? 3 : 2;
    for (size_t i = 0; i < np; i++)
        if (!(v[i] > 0) || !isfinite(v[i]))
            return GSL_EDOM;
    double weight;
    if (retention_cohorts_check(cohorts, n_cohorts, &weight) != GSL_SUCCESS)
        return GSL_EDOM;
    fit_data d;
    int rc = pool_make(p->kind, cohorts, n_cohorts, &d);
    if (rc == GSL_SUCCESS)
        rc = data_loglik(v, &d, out);
    pool_free(&d);
    return rc;
}

/* ---- the data ---- */

int retention_cohorts_check(const retention_cohort *cohorts, size_t n_cohorts,
                            double *weight)
{
    double total = 0;
    if (cohorts == NULL && n_cohorts > 0)
        return GSL_EDOM;
    for (size_t i = 0; i < n_cohorts; i++) {
        const retention_cohort *c = &cohorts[i];
        if (c->n > 0 && c->survivors == NULL)
            return GSL_EDOM;
        for (size_t t = 0; t < c->n; t++) {
            double v = c->survivors[t];
            if (!(v >= 0) || !isfinite(v) || (t > 0 && v > c->survivors[t - 1]))
                return GSL_EDOM;
        }
        if (c->n >= 2)
            total += c->survivors[0];
    }
    if (!(total > 0) || !isfinite(total))
        return GSL_EDOM; /* no usable cohort */
    *weight = total;
    return GSL_SUCCESS;
}

/* ---- the fit ---- */

static int fit_from(retention_kind kind, const fit_data *d, double weight,
                    const double *init, retention_fit_result *out)
{
    fit_spec spec = {
        .n_params = kind == RETENTION_BDW ? 3 : 2,
        .loglik = data_loglik,
        .data = d,
        .total_weight = weight,
        .init = init,
    };
    int rc = fit_mle(&spec, &out->fit);
    if (rc != GSL_SUCCESS)
        return rc;
    out->params = params_of(kind, out->fit.params);
    return GSL_SUCCESS;
}

int retention_fit(retention_kind kind, const retention_cohort *cohorts, size_t n_cohorts,
                  retention_fit_result *out)
{
    double weight;
    if (kind != RETENTION_SBG && kind != RETENTION_BDW)
        return GSL_EDOM;
    if (retention_cohorts_check(cohorts, n_cohorts, &weight) != GSL_SUCCESS)
        return GSL_EDOM;
    fit_data d;
    if (pool_make(RETENTION_SBG, cohorts, n_cohorts, &d) != GSL_SUCCESS)
        return GSL_ENOMEM;
    const double init_sbg[2] = {1, 1};
    retention_fit_result first;
    int rc = fit_from(RETENTION_SBG, &d, weight, init_sbg, &first);
    if (rc != GSL_SUCCESS || kind == RETENTION_SBG) {
        if (rc == GSL_SUCCESS)
            *out = first;
        goto cleanup;
    }
    /* The BdW nests the sBG (c = 1): start from the sBG's optimum, where the
     * likelihood is already close to its maximum. */
    d.kind = RETENTION_BDW;
    const double init_bdw[3] = {first.params.alpha, first.params.beta, 1};
    rc = fit_from(RETENTION_BDW, &d, weight, init_bdw, out);
cleanup:
    pool_free(&d);
    return rc;
}

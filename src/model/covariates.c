/* BG/NBD and Pareto/NBD with time-invariant covariates (covariates.h): the
 * per-group parameters, the log-likelihood and its gradient by the chain
 * rule over the plain models' loglik_sum / loglik_grad, the fit, and the
 * grouping of customers by covariate vector. */
#include "model/covariates.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/parallel.h"

#define MIN_CHUNK 8192   /* patterns below which a thread is not worth it */
#define COV_MAX_ITER 400 /* BFGS iterations of the covariate fit */
#define LOG_SCALE_MAX                                                                    \
    40 /* |gamma . z| beyond (a factor e^40 on a scale): GSL_ERANGE,                     \
         so that no search wanders where nothing is finite */

enum { R, ALPHA, P2, P3 }; /* P2, P3: s, beta (Pareto/NBD) or a, b (BG/NBD) */

/* ---- parameters of one covariate vector ---- */

bool cov_model_supported(const btyd_model *m)
{
    return m == &bgnbd_model || m == &pareto_model;
}

static double dot(const double *g, const double *z, size_t K)
{
    double s = 0;
    for (size_t k = 0; k < K; k++)
        s += g[k] * z[k];
    return s;
}

/* out[0..4) at z; also the two linear predictors (trans, life). */
static int params_at(const btyd_model *m, const double *p, size_t K, const double *z,
                     double *out)
{
    double et = -dot(p + COV_BASE_PARAMS, z, K);
    double el = dot(p + COV_BASE_PARAMS + K, z, K);
    if (!(fabs(et) < LOG_SCALE_MAX) || !(fabs(el) < LOG_SCALE_MAX))
        return GSL_ERANGE;
    out[R] = p[R];
    out[ALPHA] = p[ALPHA] * exp(et);
    if (m == &pareto_model) {
        out[P2] = p[P2];
        out[P3] = p[P3] * exp(-el);
    } else {
        out[P2] = p[P2] * exp(el);
        out[P3] = p[P3] * exp(el);
    }
    for (int i = 0; i < 4; i++)
        if (!(out[i] > 0) || !isfinite(out[i]))
            return GSL_ERANGE;
    return GSL_SUCCESS;
}

int cov_params_at(const btyd_model *m, const double *params, size_t K, const double *z,
                  double *out)
{
    if (!cov_model_supported(m) || K > COV_MAX_COVARIATES)
        return GSL_EDOM;
    return params_at(m, params, K, z, out);
}

/* d q_j / d params into row j of jac (n = 4 + 2K columns) at z, q = the
 * group's parameters. */
static void params_jacobian(const btyd_model *m, const double *p, size_t K,
                            const double *z, const double *q, double *jac)
{
    size_t n = COV_BASE_PARAMS + 2 * K;
    memset(jac, 0, 4 * n * sizeof jac[0]);
    jac[R * n + R] = 1;
    jac[ALPHA * n + ALPHA] = q[ALPHA] / p[ALPHA];
    for (size_t k = 0; k < K; k++)
        jac[ALPHA * n + COV_BASE_PARAMS + k] = -q[ALPHA] * z[k];
    double sign = m == &pareto_model ? -1 : 1;
    if (m == &pareto_model)
        jac[P2 * n + P2] = 1;
    else {
        jac[P2 * n + P2] = q[P2] / p[P2];
        for (size_t k = 0; k < K; k++)
            jac[P2 * n + COV_BASE_PARAMS + K + k] = q[P2] * z[k];
    }
    jac[P3 * n + P3] = q[P3] / p[P3];
    for (size_t k = 0; k < K; k++)
        jac[P3 * n + COV_BASE_PARAMS + K + k] = sign * q[P3] * z[k];
}

int cov_params_at_se(const btyd_model *m, const cov_result *r, const double *z,
                     double *out, double *se)
{
    size_t K = (r->n_params - COV_BASE_PARAMS) / 2, n = r->n_params;
    int rc = cov_params_at(m, r->params, K, z, out);
    if (rc != GSL_SUCCESS)
        return rc;
    double jac[4 * COV_MAX_PARAMS];
    params_jacobian(m, r->params, K, z, out, jac);
    for (int j = 0; j < 4; j++) {
        double v = 0;
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++)
                v += jac[j * n + a] * r->covariance[a * n + b] * jac[j * n + b];
        se[j] = r->std_errors_ok && v > 0 && isfinite(v) ? sqrt(v) : 0;
    }
    return GSL_SUCCESS;
}

/* ---- the log-likelihood over groups ---- */

typedef struct eval_ctx {
    const btyd_model *m;
    const cov_data *d;
    const double *params;
    const double *q; /* G x 4: each group's parameters */
    bool grad;
} eval_ctx;

/* Group g's covariate row (none when K = 0). */
static const double *row_of(const cov_data *d, size_t g)
{
    return d->n_covariates > 0 ? d->z + g * d->n_covariates : NULL;
}

/* The first group whose patterns reach past index i. */
static size_t group_of_index(const cov_data *d, size_t i)
{
    size_t lo = 0, hi = d->n_groups; /* start[lo] <= i < start[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->start[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* acc[0] += LL over patterns [lo, hi); with grad, acc[1..1+4+2K) += the
 * gradient in params by the chain rule through each group's parameters. */
static int eval_chunk(void *vctx, size_t lo, size_t hi, double *acc)
{
    const eval_ctx *e = vctx;
    const cov_data *d = e->d;
    size_t K = d->n_covariates, n = COV_BASE_PARAMS + 2 * K;
    double jac[4 * COV_MAX_PARAMS];
    for (size_t g = group_of_index(d, lo); g < d->n_groups && d->start[g] < hi; g++) {
        size_t a = d->start[g] > lo ? d->start[g] : lo;
        size_t b = d->start[g + 1] < hi ? d->start[g + 1] : hi;
        if (a >= b)
            continue;
        const double *q = e->q + 4 * g;
        double ll, dq[BTYD_MAX_PARAMS];
        int rc = e->grad ? e->m->loglik_grad(q, d->pat + a, b - a, &ll, dq)
                         : e->m->loglik_sum(q, d->pat + a, b - a, &ll);
        if (rc != GSL_SUCCESS)
            return rc;
        acc[0] += ll;
        if (!e->grad)
            continue;
        params_jacobian(e->m, e->params, K, row_of(d, g), q, jac);
        for (size_t j = 0; j < 4; j++)
            for (size_t i = 0; i < n; i++)
                acc[1 + i] += dq[j] * jac[j * n + i];
    }
    return GSL_SUCCESS;
}

int cov_loglik(const btyd_model *m, const cov_data *d, const double *params, double *ll,
               double *grad)
{
    if (!cov_model_supported(m) || d->n_covariates > COV_MAX_COVARIATES ||
        d->n_groups == 0)
        return GSL_EDOM;
    size_t K = d->n_covariates, n = COV_BASE_PARAMS + 2 * K;
    double *q = malloc(4 * d->n_groups * sizeof *q);
    if (q == NULL)
        return GSL_ENOMEM;
    int rc = GSL_SUCCESS;
    for (size_t g = 0; g < d->n_groups && rc == GSL_SUCCESS; g++)
        rc = params_at(m, params, K, row_of(d, g), q + 4 * g);
    double acc[1 + COV_MAX_PARAMS] = {0};
    eval_ctx e = {m, d, params, q, grad != NULL};
    if (rc == GSL_SUCCESS)
        rc = parallel_sum(d->start[d->n_groups], MIN_CHUNK, eval_chunk, &e, acc,
                          grad != NULL ? 1 + n : 1);
    free(q);
    if (rc != GSL_SUCCESS)
        return rc;
    for (size_t i = 0; i < (grad != NULL ? 1 + n : 1); i++)
        if (!isfinite(acc[i]))
            return GSL_ERANGE;
    *ll = acc[0];
    if (grad != NULL)
        memcpy(grad, acc + 1, n * sizeof grad[0]);
    return GSL_SUCCESS;
}

/* ---- the Hessian, group by group ---- */

typedef struct group_ctx {
    const btyd_model *m;
    const btyd_pattern *pat;
    const double *q;
} group_ctx;

static int group_chunk(void *vctx, size_t lo, size_t hi, double *acc)
{
    const group_ctx *c = vctx;
    return c->m->loglik_grad(c->q, c->pat + lo, hi - lo, &acc[0], &acc[1]);
}

/* The plain model's gradient in q over one group's patterns. */
static int group_grad(const btyd_model *m, const btyd_pattern *pat, size_t n,
                      const double *q, bool serial, double *dq)
{
    group_ctx c = {m, pat, q};
    double acc[5] = {0};
    int rc = serial || n < MIN_CHUNK
                 ? group_chunk(&c, 0, n, acc)
                 : parallel_sum(n, MIN_CHUNK, group_chunk, &c, acc, 5);
    for (int j = 0; rc == GSL_SUCCESS && j < 4; j++) {
        dq[j] = acc[1 + j];
        if (!isfinite(dq[j]))
            rc = GSL_ERANGE;
    }
    return rc;
}

#define HQ_STEP 1e-6 /* relative step in q of the group Hessian */

/* The plain model's Hessian in q over one group (forward differences of
 * its analytic gradient, symmetrised) and the gradient dq. */
static int group_hessian(const btyd_model *m, const btyd_pattern *pat, size_t n,
                         const double *q, bool serial, double *dq, double hq[4][4])
{
    int rc = group_grad(m, pat, n, q, serial, dq);
    for (int j = 0; rc == GSL_SUCCESS && j < 4; j++) {
        double qj[4], dqj[4];
        memcpy(qj, q, sizeof qj);
        double h = HQ_STEP * q[j];
        qj[j] += h;
        rc = group_grad(m, pat, n, qj, serial, dqj);
        for (int i = 0; i < 4; i++)
            hq[i][j] = (dqj[i] - dq[i]) / h;
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            hq[i][j] = hq[j][i] = 0.5 * (hq[i][j] + hq[j][i]);
    return rc;
}

/* Adds dq_j times the second derivatives of q_j in params: q_j = base *
 * exp(sign g.z) has d2/dbase dg_k = sign z_k q/base, d2/dg_k dg_l =
 * z_k z_l q, d2/dbase2 = 0. */
static void add_curvature(size_t n, size_t base, size_t g0, double sign, double bval,
                          double q, double dqj, const double *z, size_t K, double *hess)
{
    for (size_t k = 0; k < K; k++) {
        double c = dqj * sign * z[k] * q / bval;
        hess[base * n + g0 + k] += c;
        hess[(g0 + k) * n + base] += c;
        for (size_t l = 0; l < K; l++)
            hess[(g0 + k) * n + g0 + l] += dqj * z[k] * z[l] * q;
    }
}

/* Adds group g's part of the gradient and Hessian (J' Hq J through
 * T = Hq J, J sparse but small, plus the curvature of q). serial: no
 * threads inside the group. */
static int add_group(const btyd_model *m, const cov_data *d, const double *params,
                     size_t g, bool serial, double *grad, double *hess)
{
    size_t K = d->n_covariates, n = COV_BASE_PARAMS + 2 * K;
    const double *z = row_of(d, g);
    double q[4], dq[4], hq[4][4], jac[4 * COV_MAX_PARAMS], t[4 * COV_MAX_PARAMS];
    size_t a = d->start[g], len = d->start[g + 1] - a;
    if (len == 0)
        return GSL_SUCCESS;
    int rc = params_at(m, params, K, z, q);
    if (rc == GSL_SUCCESS)
        rc = group_hessian(m, d->pat + a, len, q, serial, dq, hq);
    if (rc != GSL_SUCCESS)
        return rc;
    params_jacobian(m, params, K, z, q, jac);
    for (size_t u = 0; u < 4; u++)
        for (size_t k = 0; k < n; k++)
            t[u * n + k] = hq[u][0] * jac[k] + hq[u][1] * jac[n + k] +
                           hq[u][2] * jac[2 * n + k] + hq[u][3] * jac[3 * n + k];
    for (size_t i = 0; i < n; i++) {
        for (size_t u = 0; u < 4; u++) {
            double ju = jac[u * n + i];
            grad[i] += dq[u] * ju;
            if (ju != 0)
                for (size_t k = 0; k < n; k++)
                    hess[i * n + k] += ju * t[u * n + k];
        }
    }
    size_t gt = COV_BASE_PARAMS, gl = COV_BASE_PARAMS + K;
    add_curvature(n, ALPHA, gt, -1, params[ALPHA], q[ALPHA], dq[ALPHA], z, K, hess);
    if (m == &pareto_model)
        add_curvature(n, P3, gl, -1, params[P3], q[P3], dq[P3], z, K, hess);
    else {
        add_curvature(n, P2, gl, 1, params[P2], q[P2], dq[P2], z, K, hess);
        add_curvature(n, P3, gl, 1, params[P3], q[P3], dq[P3], z, K, hess);
    }
    return GSL_SUCCESS;
}

/* With many groups (a numeric covariate) the threads share the groups,
 * each summing its own and adding them up under a lock at the end. */
#define GROUPS_IN_PARALLEL 16

typedef struct hess_ctx {
    const btyd_model *m;
    const cov_data *d;
    const double *params;
    double *grad, *hess;
    pthread_mutex_t lock;
} hess_ctx;

static int hess_chunk(void *vctx, size_t lo, size_t hi, double *acc)
{
    hess_ctx *c = vctx;
    size_t n = COV_BASE_PARAMS + 2 * c->d->n_covariates;
    double grad[COV_MAX_PARAMS] = {0};
    double *hess = calloc(n * n, sizeof *hess);
    int rc = hess == NULL ? GSL_ENOMEM : GSL_SUCCESS;
    (void)acc;
    for (size_t g = lo; g < hi && rc == GSL_SUCCESS; g++)
        rc = add_group(c->m, c->d, c->params, g, true, grad, hess);
    if (rc == GSL_SUCCESS) {
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < n; i++)
            c->grad[i] += grad[i];
        for (size_t i = 0; i < n * n; i++)
            c->hess[i] += hess[i];
        pthread_mutex_unlock(&c->lock);
    }
    free(hess);
    return rc;
}

int cov_hessian(const btyd_model *m, const cov_data *d, const double *params,
                double *grad, double *hess)
{
    if (!cov_model_supported(m) || d->n_covariates > COV_MAX_COVARIATES)
        return GSL_EDOM;
    size_t n = COV_BASE_PARAMS + 2 * d->n_covariates;
    memset(grad, 0, n * sizeof grad[0]);
    memset(hess, 0, n * n * sizeof hess[0]);
    int rc = GSL_SUCCESS;
    if (d->n_groups >= GROUPS_IN_PARALLEL) {
        hess_ctx c = {m, d, params, grad, hess, PTHREAD_MUTEX_INITIALIZER};
        double acc[1] = {0};
        rc = parallel_sum(d->n_groups, 1, hess_chunk, &c, acc, 0);
        pthread_mutex_destroy(&c.lock);
    } else
        for (size_t g = 0; g < d->n_groups && rc == GSL_SUCCESS; g++)
            rc = add_group(m, d, params, g, false, grad, hess);
    if (rc != GSL_SUCCESS)
        return rc;
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(hess[i]))
            return GSL_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(grad[i]))
            return GSL_ERANGE;
    return GSL_SUCCESS;
}

/* ---- the fit ---- */

/* The last exact Hessian of a fit. Newton's last step and the standard
 * errors ask for the Hessian at two points a rounding step apart (the step
 * that passed the gradient test is tiny): the second is then taken from
 * here when every parameter moved by less than HESS_REUSE relative to its
 * size, which changes the standard errors by about that much (1e-4 of a
 * standard error) and saves 4 of the 5 passes. The gradient is always
 * computed afresh. */
#define HESS_REUSE 1e-4

typedef struct hess_cache {
    bool have;
    double params[COV_MAX_PARAMS];
    double hess[COV_MAX_PARAMS * COV_MAX_PARAMS];
} hess_cache;

typedef struct fit_ctx {
    const btyd_model *m;
    const cov_data *d;
    hess_cache *cache; /* NULL: none */
} fit_ctx;

static int spec_loglik(const double *params, const void *data, double *ll)
{
    const fit_ctx *c = data;
    return cov_loglik(c->m, c->d, params, ll, NULL);
}

static int spec_loglik_grad(const double *params, const void *data, double *ll,
                            double *grad)
{
    const fit_ctx *c = data;
    return cov_loglik(c->m, c->d, params, ll, grad);
}

static bool near_cached(const hess_cache *h, const double *params, size_t n)
{
    if (h == NULL || !h->have)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(params[i] - h->params[i]) <= HESS_REUSE * (fabs(h->params[i]) + 1e-2)))
            return false;
    return true;
}

static int spec_hessian(const double *params, const void *data, double *grad,
                        double *hess)
{
    const fit_ctx *c = data;
    size_t n = COV_BASE_PARAMS + 2 * c->d->n_covariates;
    double ll;
    if (near_cached(c->cache, params, n)) {
        memcpy(hess, c->cache->hess, n * n * sizeof hess[0]);
        return cov_loglik(c->m, c->d, params, &ll, grad);
    }
    int rc = cov_hessian(c->m, c->d, params, grad, hess);
    if (rc == GSL_SUCCESS && c->cache != NULL) {
        c->cache->have = true;
        memcpy(c->cache->params, params, n * sizeof params[0]);
        memcpy(c->cache->hess, hess, n * n * sizeof hess[0]);
    }
    return rc;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The plain model on every group's patterns merged. */
static int fit_base(const btyd_model *m, const cov_data *d, fit_result *out)
{
    size_t n = d->start[d->n_groups];
    btyd_pattern *all = malloc((n > 0 ? n : 1) * sizeof *all);
    if (all == NULL)
        return GSL_ENOMEM;
    memcpy(all, d->pat, n * sizeof *all);
    n = btyd_patterns_collapse(all, n);
    int rc = fit_btyd(m, all, n, 0, NULL, out);
    free(all);
    return rc;
}

static int data_valid(const btyd_model *m, const cov_data *d, double *total)
{
    if (!cov_model_supported(m) || d->n_covariates > COV_MAX_COVARIATES ||
        d->n_groups == 0 || d->start[0] != 0)
        return 0;
    *total = 0;
    for (size_t g = 0; g < d->n_groups; g++) {
        if (d->start[g + 1] < d->start[g])
            return 0;
        for (size_t k = 0; k < d->n_covariates; k++)
            if (!isfinite(d->z[g * d->n_covariates + k]))
                return 0;
    }
    for (size_t i = 0; i < d->start[d->n_groups]; i++) {
        if (!(d->pat[i].weight >= 0) || !isfinite(d->pat[i].weight))
            return 0;
        *total += d->pat[i].weight;
    }
    return *total > 0;
}

/* Large data are first fitted on a systematic subsample of each group's
 * sorted patterns (every k-th, weight times k; a group with fewer than k
 * patterns whole), so that most iterations run on a small problem and the
 * full data only take the Newton steps from a near-optimal start. */
#define SUBSAMPLE_ABOVE 40000
#define SUBSAMPLE_SIZE 5000

static int subsample(const cov_data *d, size_t k, cov_data_owned *sub)
{
    size_t n = d->start[d->n_groups], K = d->n_covariates;
    memset(sub, 0, sizeof *sub);
    sub->pat = malloc((n / k + d->n_groups + 1) * sizeof *sub->pat);
    sub->start = malloc((d->n_groups + 1) * sizeof *sub->start);
    if (sub->pat == NULL || sub->start == NULL) {
        cov_data_free(sub);
        return GSL_ENOMEM;
    }
    size_t m = 0;
    for (size_t g = 0; g < d->n_groups; g++) {
        size_t a = d->start[g], len = d->start[g + 1] - a;
        size_t step = len >= k ? k : 1;
        sub->start[g] = m;
        for (size_t i = a + step / 2; i < a + len; i += step) {
            sub->pat[m] = d->pat[i];
            sub->pat[m++].weight *= (double)step;
        }
    }
    sub->start[d->n_groups] = m;
    sub->d = (cov_data){K, d->n_groups, d->z, sub->pat, sub->start};
    return GSL_SUCCESS;
}

/* The optimum on the subsample into start (init when it fails). */
static void subsample_start(fit_spec spec, const fit_ctx *full, double *start)
{
    const cov_data *d = full->d;
    memcpy(start, spec.init, spec.n_params * sizeof start[0]);
    cov_data_owned sub;
    if (subsample(d, d->start[d->n_groups] / SUBSAMPLE_SIZE, &sub) != GSL_SUCCESS)
        return;
    if (2 * sub.d.start[sub.d.n_groups] > d->start[d->n_groups]) {
        cov_data_free(&sub); /* many small groups: not worth it */
        return;
    }
    fit_ctx ctx = {full->m, &sub.d, NULL};
    double total = 0;
    for (size_t i = 0; i < sub.d.start[sub.d.n_groups]; i++)
        total += sub.pat[i].weight;
    spec.data = &ctx;
    spec.total_weight = total;
    spec.skip_std_errors = true;
    spec.covariance = NULL;
    fit_result_wide w;
    if (fit_mle_wide(&spec, &w) == GSL_SUCCESS && w.converged)
        memcpy(start, w.params, spec.n_params * sizeof start[0]);
    cov_data_free(&sub);
}

/* The likelihood-ratio test of the covariates against the plain model. */
static void lr_test(cov_result *out)
{
    double stat = 2 * (out->log_likelihood - out->base.log_likelihood);
    out->lr_statistic = stat > 0 ? stat : 0;
    out->lr_df = out->n_params - COV_BASE_PARAMS;
    out->lr_p_value =
        out->lr_df > 0 ? gsl_cdf_chisq_Q(out->lr_statistic, (double)out->lr_df) : 1.0;
}

int cov_fit(const btyd_model *m, const cov_data *d, cov_result *out)
{
    double t0 = now_seconds(), total;
    memset(out, 0, sizeof *out);
    if (!data_valid(m, d, &total))
        return GSL_EDOM;
    size_t K = d->n_covariates, n = COV_BASE_PARAMS + 2 * K;
    out->n_params = n;
    out->n_customers = total;
    out->n_patterns = d->start[d->n_groups];
    int rc = fit_base(m, d, &out->base);
    if (rc != GSL_SUCCESS)
        return rc;
    double init[COV_MAX_PARAMS] = {0};
    memcpy(init, out->base.params, COV_BASE_PARAMS * sizeof init[0]);
    hess_cache *cache = calloc(1, sizeof *cache);
    if (cache == NULL)
        return GSL_ENOMEM;
    fit_ctx ctx = {m, d, cache};
    fit_spec spec = {
        .n_params = n,
        .loglik = spec_loglik,
        .loglik_grad = spec_loglik_grad,
        .hessian = spec_hessian,
        .data = &ctx,
        .total_weight = total,
        .init = init,
        .max_iter = COV_MAX_ITER,
        .newton_first = true,
        .n_real = 2 * K,
        .covariance = out->covariance,
    };
    double start[COV_MAX_PARAMS];
    if (out->n_patterns > SUBSAMPLE_ABOVE) {
        subsample_start(spec, &ctx, start);
        spec.init = start;
    }
    fit_result_wide w;
    rc = fit_mle_wide(&spec, &w);
    free(cache);
    if (rc != GSL_SUCCESS)
        return rc;
    memcpy(out->params, w.params, n * sizeof w.params[0]);
    memcpy(out->std_errors, w.std_errors, n * sizeof w.std_errors[0]);
    out->std_errors_ok = w.std_errors_ok;
    if (!w.std_errors_ok)
        memset(out->covariance, 0, sizeof out->covariance);
    out->converged = w.converged;
    out->log_likelihood = w.log_likelihood;
    out->iterations = w.iterations;
    lr_test(out);
    out->seconds = now_seconds() - t0;
    return GSL_SUCCESS;
}

/* ---- grouping customers by covariate vector ---- */

static uint64_t hash_row(const double *z, size_t K)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < K; k++) {
        double v = z[k] == 0 ? 0.0 : z[k]; /* -0.0 and 0.0 alike */
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        h = (h ^ bits) * 1099511628211ULL;
        h ^= h >> 29;
    }
    return h;
}

static bool rows_equal(const double *a, const double *b, size_t K)
{
    for (size_t k = 0; k < K; k++)
        if (!(a[k] == b[k]))
            return false;
    return true;
}

/* Numbers the distinct rows in order of first appearance: group_of[i], the
 * groups' rows in zg (room for n rows), their count in *G. */
static int number_groups(const double *z, size_t n, size_t K, size_t *group_of,
                         double *zg, size_t *G)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    size_t *slot = malloc(cap * sizeof *slot);
    if (slot == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        slot[i] = SIZE_MAX;
    *G = 0;
    for (size_t i = 0; i < n; i++) {
        const double *row = z + i * K;
        size_t h = (size_t)hash_row(row, K) & (cap - 1);
        while (slot[h] != SIZE_MAX && !rows_equal(zg + slot[h] * K, row, K))
            h = (h + 1) & (cap - 1);
        if (slot[h] == SIZE_MAX) {
            slot[h] = (*G)++;
            for (size_t k = 0; k < K; k++)
                zg[slot[h] * K + k] = row[k] == 0 ? 0.0 : row[k];
        }
        group_of[i] = slot[h];
    }
    free(slot);
    return GSL_SUCCESS;
}

/* Sorts the customers into their groups and collapses each group. */
static int fill_groups(const btyd_pattern *cust, size_t n, cov_data_owned *o, size_t G)
{
    size_t *next = calloc(G + 1, sizeof *next);
    if (next == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        next[o->group_of[i] + 1]++;
    for (size_t g = 0; g < G; g++)
        next[g + 1] += next[g];
    memcpy(o->start, next, (G + 1) * sizeof *next);
    for (size_t i = 0; i < n; i++)
        o->pat[next[o->group_of[i]]++] = cust[i];
    free(next);
    size_t w = 0;
    for (size_t g = 0; g < G; g++) {
        size_t a = o->start[g], len = o->start[g + 1] - a;
        size_t m = btyd_patterns_collapse(o->pat + a, len);
        memmove(o->pat + w, o->pat + a, m * sizeof *o->pat);
        o->start[g] = w;
        w += m;
    }
    o->start[G] = w;
    return GSL_SUCCESS;
}

int cov_data_build(const btyd_pattern *cust, const double *z, size_t n, size_t K,
                   cov_data_owned *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0 || K > COV_MAX_COVARIATES)
        return GSL_EDOM;
    for (size_t i = 0; i < n * K; i++)
        if (!isfinite(z[i]))
            return GSL_EDOM;
    out->z = malloc((n * K > 0 ? n * K : 1) * sizeof *out->z);
    out->pat = malloc(n * sizeof *out->pat);
    out->start = malloc((n + 1) * sizeof *out->start);
    out->group_of = malloc(n * sizeof *out->group_of);
    size_t G = 0;
    int rc = GSL_ENOMEM;
    if (out->z == NULL || out->pat == NULL || out->start == NULL || out->group_of == NULL)
        goto failed;
    if ((rc = number_groups(z, n, K, out->group_of, out->z, &G)) != GSL_SUCCESS)
        goto failed;
    if ((rc = fill_groups(cust, n, out, G)) != GSL_SUCCESS)
        goto failed;
    out->d = (cov_data){K, G, out->z, out->pat, out->start};
    return GSL_SUCCESS;
failed:
    cov_data_free(out);
    return rc;
}

void cov_data_free(cov_data_owned *o)
{
    free(o->z);
    free(o->pat);
    free(o->start);
    free(o->group_of);
    memset(o, 0, sizeof *o);
}

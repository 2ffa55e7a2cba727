/* Fitting the Gamma-Gamma spend model fast: the informative customers are
 * copied once into a compact array with what does not depend on the
 * parameters (x m, log m, the index of x), the per-x Gamma-function terms are
 * tabulated once per evaluation, and the per-customer sum of the likelihood
 * and its analytic gradient runs on every core. Large data are first fitted
 * on a systematic subsample. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/gg.h"
#include "model/parallel.h"

#define MIN_CHUNK 16384
#define SUBSAMPLE_ABOVE 20000
#define SUBSAMPLE_SIZE 10000

typedef struct spend_row {
    double x, xm, log_m, log_xm, weight;
    size_t xi; /* index of x in gg_data.xs */
} spend_row;

typedef struct x_terms {
    double a, da_dp, da_dq; /* lnpoch(px, q) - lnGamma(q) and derivatives */
} x_terms;

typedef struct gg_data {
    spend_row *rows;
    size_t n;
    double *xs; /* distinct x values */
    size_t n_x;
    x_terms *terms; /* per distinct x, for the current params */
    const double *params;
} gg_data;

/* Patterns that inform the fit: x >= 1 purchases of positive mean value. */
static int informative(const gg_pattern *g)
{
    return g->x >= 1 && g->m > 0 && g->weight > 0;
}

static int tabulate(gg_data *d, const double *par)
{
    double p = par[0], q = par[1], psi_q = gsl_sf_psi(q), lg_q = gsl_sf_lngamma(q);
    for (size_t k = 0; k < d->n_x; k++) {
        double x = d->xs[k], px = p * x, psi_pxq = gsl_sf_psi(px + q);
        d->terms[k] = (x_terms){gsl_sf_lnpoch(px, q) - lg_q,
                                x * (psi_pxq - gsl_sf_psi(px)), psi_pxq - psi_q};
        if (!isfinite(d->terms[k].a) || !isfinite(d->terms[k].da_dp) ||
            !isfinite(d->terms[k].da_dq))
            return GSL_ERANGE;
    }
    d->params = par;
    return GSL_SUCCESS;
}

/* acc: [ll, d/dp, d/dq, d/dv]. log f = A(x) - q log1p(xm/v) - px log1p(v/xm)
 * - log m (gg_loglik's form). Here log1p(v/xm) = log1p(xm/v) - log(xm) +
 * log(v), with log(xm) computed once: one logarithm per customer and
 * evaluation. When xm >> v the subtraction cancels, but its error stays
 * ~1e-15 absolute per customer (times px), far below what the sum needs;
 * test_gg checks the fit against gg_loglik's careful form. */
static int sum_chunk(void *ctx, size_t lo, size_t hi, double *acc)
{
    const gg_data *d = ctx;
    double p = d->params[0], q = d->params[1], v = d->params[2], log_v = log(v);
    for (size_t i = lo; i < hi; i++) {
        const spend_row *r = &d->rows[i];
        const x_terms *t = &d->terms[r->xi];
        double px = p * r->x, l1 = log1p(r->xm / v), l2 = l1 - r->log_xm + log_v;
        double w = r->weight;
        acc[0] += w * (t->a - q * l1 - px * l2 - r->log_m);
        acc[1] += w * (t->da_dp - r->x * l2);
        acc[2] += w * (t->da_dq - l1);
        acc[3] += w * (q * r->xm / v - px) / (r->xm + v);
    }
    return GSL_SUCCESS;
}

static int data_loglik_grad(const double *params, const void *data, double *ll,
                            double *grad)
{
    gg_data *d = (gg_data *)data; /* the term table is scratch space */
    int rc = tabulate(d, params);
    double acc[4] = {0};
    if (rc == GSL_SUCCESS)
        rc = parallel_sum(d->n, MIN_CHUNK, sum_chunk, d, acc, 4);
    if (rc == GSL_SUCCESS &&
        !(isfinite(acc[0]) && isfinite(acc[1]) && isfinite(acc[2]) && isfinite(acc[3])))
        rc = GSL_ERANGE;
    if (rc != GSL_SUCCESS)
        return rc;
    *ll = acc[0];
    if (grad != NULL)
        memcpy(grad, &acc[1], 3 * sizeof grad[0]);
    return GSL_SUCCESS;
}

static int data_loglik(const double *params, const void *data, double *ll)
{
    return data_loglik_grad(params, data, ll, NULL);
}

static void data_free(gg_data *d)
{
    free(d->rows);
    free(d->xs);
    free(d->terms);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of x in the sorted distinct values xs[0..n). */
static size_t x_index(const double *xs, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (xs[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Builds the compact data from every k-th informative pattern (weight times
 * k). Returns GSL_SUCCESS, GSL_EDOM (no informative pattern) or GSL_ENOMEM. */
static int data_build(const gg_pattern *pat, size_t n, size_t k, gg_data *d)
{
    memset(d, 0, sizeof *d);
    d->rows = malloc((n / k + 1) * sizeof *d->rows);
    d->xs = malloc((n / k + 1) * sizeof *d->xs);
    if (d->rows == NULL || d->xs == NULL)
        goto nomem;
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        const gg_pattern *g = &pat[i];
        if (!informative(g) || seen++ % k != k / 2)
            continue;
        d->rows[d->n] = (spend_row){
            g->x, g->x * g->m, log(g->m), log(g->x * g->m), g->weight * (double)k, 0};
        d->xs[d->n++] = g->x;
    }
    if (d->n == 0) {
        data_free(d);
        return GSL_EDOM;
    }
    qsort(d->xs, d->n, sizeof d->xs[0], cmp_double);
    for (size_t i = 0; i < d->n; i++)
        if (d->n_x == 0 || d->xs[d->n_x - 1] != d->xs[i])
            d->xs[d->n_x++] = d->xs[i];
    for (size_t i = 0; i < d->n; i++)
        d->rows[i].xi = x_index(d->xs, d->n_x, d->rows[i].x);
    d->terms = malloc(d->n_x * sizeof *d->terms);
    if (d->terms == NULL)
        goto nomem;
    return GSL_SUCCESS;
nomem:
    data_free(d);
    return GSL_ENOMEM;
}

static int fit_data(gg_data *d, double penalizer, const double *init, bool near,
                    bool final, fit_result *out)
{
    double total = 0;
    for (size_t i = 0; i < d->n; i++)
        total += d->rows[i].weight;
    fit_spec spec = {
        .n_params = 3,
        .loglik = data_loglik,
        .loglik_grad = data_loglik_grad,
        .data = d,
        .total_weight = total,
        .penalizer = penalizer,
        .init = init,
        .newton_first = near,
        .skip_std_errors = !final,
    };
    return fit_mle(&spec, out);
}

static int patterns_valid(const gg_pattern *pat, size_t n, size_t *n_informative)
{
    *n_informative = 0;
    for (size_t i = 0; i < n; i++) {
        const gg_pattern *g = &pat[i];
        if (!isfinite(g->x) || !isfinite(g->m) || !isfinite(g->weight) || g->x < 0 ||
            (g->x > 0 && g->x < 1) || g->m < 0 || g->weight < 0)
            return 0;
        *n_informative += informative(g);
    }
    return 1;
}

int gg_fit(const gg_pattern *pat, size_t n, double penalizer, const double *init,
           fit_result *out)
{
    size_t n_inf;
    gg_data d;
    double start[3];
    if (!patterns_valid(pat, n, &n_inf) || n_inf == 0)
        return GSL_EDOM;
    memcpy(start, init != NULL ? init : gg_init, sizeof start);
    fit_result r;
    bool near = false;
    if (n_inf > SUBSAMPLE_ABOVE && data_build(pat, n, n_inf / SUBSAMPLE_SIZE, &d) == 0) {
        near = fit_data(&d, penalizer, start, false, false, &r) == GSL_SUCCESS &&
               r.converged;
        if (near)
            memcpy(start, r.params, sizeof start);
        data_free(&d);
    }
    int rc = data_build(pat, n, 1, &d);
    if (rc != GSL_SUCCESS)
        return rc;
    rc = fit_data(&d, penalizer, start, near, true, out);
    data_free(&d);
    return rc;
}

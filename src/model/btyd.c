/* The checks and derived predictions shared by all
 * purchase models. */
#include "model/btyd.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>

int btyd_check_domain(const double *params, size_t n_params, double x, double t_x,
                      double T)
{
    for (size_t i = 0; i < n_params; i++)
        if (!isfinite(params[i]) || params[i] <= 0)
            return GSL_EDOM;
    if (!isfinite(x) || !isfinite(t_x) || !isfinite(T))
        return GSL_EDOM;
    if (x < 0 || t_x < 0 || T < 0 || t_x > T)
        return GSL_EDOM;
    return GSL_SUCCESS;
}

int btyd_finite_out(double v, double *out)
{
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

int btyd_p_any(const btyd_model *m, const double *params, double x, double t_x,
               double T, double t, double *out)
{
    double p0;
    int rc = m->p_n(params, x, t_x, T, t, 0, &p0);
    if (rc != GSL_SUCCESS)
        return rc;
    double p = 1.0 - p0;
    *out = p < 0 ? 0 : (p > 1 ? 1 : p);
    return GSL_SUCCESS;
}

static int pattern_cmp(const void *pa, const void *pb)
{
    const btyd_pattern *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->t_x != b->t_x)
        return a->t_x < b->t_x ? -1 : 1;
    if (a->T != b->T)
        return a->T < b->T ? -1 : 1;
    return 0;
}

size_t btyd_patterns_collapse(btyd_pattern *p, size_t n)
{
    if (n == 0)
        return 0;
    qsort(p, n, sizeof p[0], pattern_cmp);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (pattern_cmp(&p[k], &p[i]) == 0)
            p[k].weight += p[i].weight;
        else
            p[++k] = p[i];
    }
    return k + 1;
}

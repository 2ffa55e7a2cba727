/* The checks and derived predictions shared by all
 * purchase models. */
#include "model/btyd.h"

#include <gsl/gsl_errno.h>
#include <math.h>

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

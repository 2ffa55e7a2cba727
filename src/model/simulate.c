/* Drawing simulated customer populations from a purchase model. */
#include "model/simulate.h"

#include <gsl/gsl_errno.h>
#include <math.h>

static double to_grid(double v, double grid)
{
    return grid > 0 ? floor(v / grid + 1e-9) * grid : v;
}

int simulate_customers(const btyd_model *m, const double *params, size_t n, double T_lo,
                       double T_hi, double grid, const gsl_rng *rng, btyd_pattern *out)
{
    if (!(T_lo > 0) || !(T_hi >= T_lo))
        return GSL_EDOM;
    for (size_t i = 0; i < n; i++) {
        double T = T_lo + (T_hi - T_lo) * gsl_rng_uniform(rng);
        T = m->discrete ? floor(T) : to_grid(T, grid);
        if (!(T > 0))
            T = m->discrete ? 1 : T_lo;
        double x, t_x;
        int rc = m->simulate(params, T, rng, &x, &t_x);
        if (rc != GSL_SUCCESS)
            return rc;
        if (!m->discrete) {
            t_x = to_grid(t_x, grid);
            if (t_x > T)
                t_x = T;
        }
        out[i] = (btyd_pattern){x, t_x, T, 1.0};
    }
    return GSL_SUCCESS;
}

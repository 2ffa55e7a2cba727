/* Discounted customer lifetime value from a purchase model and a spend
 * estimate (formula in clv.h). */
#include "model/clv.h"

#include <gsl/gsl_errno.h>
#include <math.h>

double clv_month_periods(const btyd_model *m, double period_days)
{
    if (m->discrete)
        return 1.0;
    /* lifetimes' factors: 30 days, 4.345 weeks; other periods scale days. */
    if (period_days == 7.0)
        return CLV_MONTH_WEEKS;
    return CLV_MONTH_DAYS / period_days;
}

int clv_options_valid(const clv_options *o)
{
    if (!(o->months >= 1 && isfinite(o->discount_rate) && o->discount_rate > -1 &&
          isfinite(o->margin) && o->margin >= 0 && isfinite(o->month_periods) &&
          o->month_periods > 0))
        return 0;
    /* Every discount factor (1+d)^k must be a positive finite number. */
    double last = pow(1 + o->discount_rate, o->months);
    return isfinite(last) && last > 0;
}

int clv_discounted_purchases(const btyd_model *m, const double *params, double x,
                             double t_x, double T, const clv_options *o, double *out)
{
    if (!clv_options_valid(o))
        return GSL_EDOM;
    double sum = 0, prev = 0;
    for (unsigned k = 1; k <= o->months; k++) {
        double e;
        int rc = m->expected(params, x, t_x, T, k * o->month_periods, &e);
        if (rc != GSL_SUCCESS)
            return rc;
        sum += (e - prev) / pow(1 + o->discount_rate, k);
        prev = e;
    }
    if (!isfinite(sum))
        return GSL_ERANGE;
    *out = sum;
    return GSL_SUCCESS;
}

int clv_value(const btyd_model *m, const double *params, double x, double t_x, double T,
              double spend, const clv_options *o, double *out)
{
    if (!isfinite(spend) || spend < 0)
        return GSL_EDOM;
    double d;
    int rc = clv_discounted_purchases(m, params, x, t_x, T, o, &d);
    if (rc != GSL_SUCCESS)
        return rc;
    double clv = o->margin * spend * d;
    if (!isfinite(clv))
        return GSL_ERANGE;
    *out = clv;
    return GSL_SUCCESS;
}

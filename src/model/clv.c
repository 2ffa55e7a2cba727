/* Discounted customer lifetime value from a purchase model and a spend
 * estimate (formula in clv.h). */
#include "model/clv.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdbool.h>

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

/* Horizons per call of btyd_expected_many (on the stack: no allocation). */
#define CHUNK 64

/* The loop is sum += (e_k - e_(k-1)) / (1+d)^k, k = 1..N, as it always was
 * (the same operations in the same order): only the expectations come
 * CHUNK at a time, so each model does a history's own work once. With
 * `extra` (not NULL), the first chunk also holds the horizon h (when it has
 * room), whose expectation goes to *extra. */
static int discounted(const btyd_model *m, const double *params, double x, double t_x,
                      double T, const clv_options *o, double h, double *extra,
                      double *out)
{
    if (!clv_options_valid(o))
        return GSL_EDOM;
    double sum = 0, prev = 0, t[CHUNK], e[CHUNK];
    for (unsigned k0 = 1; k0 <= o->months; k0 += CHUNK) {
        unsigned n = o->months - k0 + 1 < CHUNK ? o->months - k0 + 1 : CHUNK;
        for (unsigned i = 0; i < n; i++)
            t[i] = (k0 + i) * o->month_periods;
        bool with_h = extra != NULL && k0 == 1 && n < CHUNK;
        if (with_h)
            t[n] = h;
        int rc = btyd_expected_many(m, params, x, t_x, T, t, n + with_h, e);
        if (rc != GSL_SUCCESS)
            return rc;
        if (with_h)
            *extra = e[n];
        for (unsigned i = 0; i < n; i++) {
            sum += (e[i] - prev) / pow(1 + o->discount_rate, k0 + i);
            prev = e[i];
        }
    }
    if (extra != NULL && o->months >= CHUNK) {
        int rc = m->expected(params, x, t_x, T, h, extra);
        if (rc != GSL_SUCCESS)
            return rc;
    }
    if (!isfinite(sum))
        return GSL_ERANGE;
    *out = sum;
    return GSL_SUCCESS;
}

int clv_discounted_purchases(const btyd_model *m, const double *params, double x,
                             double t_x, double T, const clv_options *o, double *out)
{
    return discounted(m, params, x, t_x, T, o, 0, NULL, out);
}

int clv_discounted_and_expected(const btyd_model *m, const double *params, double x,
                                double t_x, double T, const clv_options *o,
                                double horizon, double *expected, double *out)
{
    double e = 0, d = 0;
    int rc = discounted(m, params, x, t_x, T, o, horizon, &e, &d);
    if (rc != GSL_SUCCESS)
        return rc;
    *expected = e;
    *out = d;
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

/* The value of a newly acquired customer and the acquisition figures that
 * follow from it (formulas and the interval's method in acquisition.h). */
#include "model/acquisition.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

int acq_mean_spend(const double *gg, double *out)
{
    for (int i = 0; i < 3; i++)
        if (!isfinite(gg[i]) || !(gg[i] > 0))
            return GSL_EDOM;
    if (!(gg[1] > 1))
        return GSL_EDOM;
    return btyd_finite_out(gg[0] * gg[2] / (gg[1] - 1), out);
}

int acq_new_discounted_purchases(const btyd_model *m, const double *params,
                                 const clv_options *o, double *inc, double *out)
{
    if (!clv_options_valid(o) || o->months > ACQ_MAX_MONTHS || m->expected_new == NULL)
        return GSL_EDOM;
    double sum = 0, prev = 0;
    for (unsigned k = 1; k <= o->months; k++) {
        double e;
        int rc = m->expected_new(params, k * o->month_periods, &e);
        if (rc != GSL_SUCCESS)
            return rc;
        double term = (e - prev) / pow(1 + o->discount_rate, k);
        if (inc != NULL)
            inc[k - 1] = term;
        sum += term;
        prev = e;
    }
    return btyd_finite_out(sum, out);
}

int acq_repeat_ltv(const acq_model *a, double *inc, double *out)
{
    double spend, d;
    int rc = acq_mean_spend(a->gg, &spend);
    if (rc == GSL_SUCCESS)
        rc = acq_new_discounted_purchases(a->m, a->params, &a->clv, inc, &d);
    if (rc != GSL_SUCCESS)
        return rc;
    double f = a->clv.margin * spend;
    if (inc != NULL)
        for (unsigned k = 0; k < a->clv.months; k++)
            inc[k] *= f;
    return btyd_finite_out(f * d, out);
}

/* d/dtheta_i of the discounted new-customer purchases, by a central
 * difference with a relative step (the parameters are positive). */
static int purchases_derivative(const acq_model *a, size_t i, double *out)
{
    double p[BTYD_MAX_PARAMS], hi, lo;
    memcpy(p, a->params, sizeof p);
    double h = 1e-5 * a->params[i];
    p[i] = a->params[i] + h;
    int rc = acq_new_discounted_purchases(a->m, p, &a->clv, NULL, &hi);
    p[i] = a->params[i] - h;
    if (rc == GSL_SUCCESS)
        rc = acq_new_discounted_purchases(a->m, p, &a->clv, NULL, &lo);
    if (rc != GSL_SUCCESS)
        return rc;
    return btyd_finite_out((hi - lo) / (2 * h), out);
}

int acq_repeat_ltv_se(const acq_model *a, double *out)
{
    double spend, d;
    int rc = acq_mean_spend(a->gg, &spend);
    if (rc == GSL_SUCCESS)
        rc = acq_new_discounted_purchases(a->m, a->params, &a->clv, NULL, &d);
    if (rc != GSL_SUCCESS)
        return rc;
    double mg = a->clv.margin, var = 0;
    for (size_t i = 0; i < a->m->n_params; i++) {
        if (!(a->se[i] > 0))
            continue;
        double g;
        if ((rc = purchases_derivative(a, i, &g)) != GSL_SUCCESS)
            return rc;
        var += pow(mg * spend * g * a->se[i], 2);
    }
    /* spend = p v / (q - 1): its gradient in closed form */
    double p = a->gg[0], q = a->gg[1], v = a->gg[2];
    double grad[3] = {v / (q - 1), -p * v / ((q - 1) * (q - 1)), p / (q - 1)};
    for (int i = 0; i < 3; i++)
        if (a->gg_se[i] > 0)
            var += pow(mg * d * grad[i] * a->gg_se[i], 2);
    return btyd_finite_out(sqrt(var), out);
}

int acq_value_compute(const acq_model *a, acq_value *out)
{
    out->ok = false;
    int rc = acq_repeat_ltv(a, out->inc, &out->ltv);
    if (rc == GSL_SUCCESS)
        rc = acq_repeat_ltv_se(a, &out->se);
    out->ok = rc == GSL_SUCCESS;
    return rc;
}

/* The first-purchase part: its value and the variance of the mean. */
static void first_purchase(const acq_inputs *in, acq_figures *out, double *var)
{
    double n = (double)in->customers;
    double mean = in->first_sum / n;
    out->first_purchase_value = in->margin * mean;
    *var = 0;
    if (in->customers > 1) {
        double s2 = (in->first_sumsq - n * mean * mean) / (n - 1);
        if (s2 > 0 && isfinite(s2))
            *var = in->margin * in->margin * s2 / n;
    }
}

static int payback(const acq_inputs *in, double first_value, double cac)
{
    double cum = first_value;
    if (cum >= cac)
        return 0;
    for (unsigned k = 1; k <= in->months && in->inc != NULL; k++) {
        cum += in->inc[k - 1];
        if (cum >= cac)
            return (int)k;
    }
    return -1;
}

void acq_figures_compute(const acq_inputs *in, acq_figures *out)
{
    memset(out, 0, sizeof *out);
    out->payback_month = -1;
    out->has_ltv = in->customers > 0 && isfinite(in->repeat_ltv);
    if (out->has_ltv) {
        double var_first;
        first_purchase(in, out, &var_first);
        out->new_customer_ltv = in->repeat_ltv + out->first_purchase_value;
        double half = ACQ_Z95 * sqrt(in->repeat_ltv_se * in->repeat_ltv_se + var_first);
        out->ltv_low = fmax(0, out->new_customer_ltv - half);
        out->ltv_high = out->new_customer_ltv + half;
        out->max_cac = out->new_customer_ltv / in->target_ratio;
        out->has_ltv = isfinite(out->new_customer_ltv) && isfinite(out->ltv_high);
        out->has_max_cac = out->has_ltv && isfinite(out->max_cac) &&
                           isfinite(out->ltv_high / in->target_ratio);
    }
    if (in->has_spend && in->spend_customers > 0) {
        out->has_cac = true;
        out->cac = in->spend / (double)in->spend_customers;
    }
    if (out->has_cac && out->has_ltv) {
        out->has_ratio = out->cac > 0 && isfinite(out->ltv_high / out->cac);
        out->ltv_cac = out->has_ratio ? out->new_customer_ltv / out->cac : 0;
        out->payback_month = payback(in, out->first_purchase_value, out->cac);
    }
    if (in->has_leads && in->leads > 0) {
        out->has_conversion = true;
        out->conversion = (double)in->lead_customers / in->leads;
        out->has_lead_value = out->has_ltv && isfinite(out->conversion * out->ltv_high);
        out->lead_value = out->has_ltv ? out->conversion * out->new_customer_ltv : 0;
    }
}

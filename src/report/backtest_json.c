/* Renders a back-test as the JSON document of the contract (jansson). Every
 * builder returns a new reference or NULL; json_pack's "o" steals its
 * argument even on failure, so a NULL anywhere makes the whole NULL. */
#include <math.h>
#include <stdio.h>

#include "model/gg.h"
#include "report/backtest_json.h"
#include "summary/summary.h"

static const char *const bin_names[BACKTEST_BINS] = {"0", "1", "2", "3",
                                                     "4", "5", "6", "7+"};

/* A finite number, or NULL (so that no NaN or Inf is ever written). */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : NULL;
}

/* A count: an integer while exact. */
static json_t *count(double v)
{
    if (!isfinite(v))
        return NULL;
    if (fabs(v) <= 9007199254740992.0 && v == floor(v))
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* v, or null when there is nothing to average (n = 0). */
static json_t *mean_or_null(double n, double v)
{
    return n > 0 ? num(v) : json_null();
}

static json_t *day_string(int64_t day)
{
    char s[11];
    return summary_format_day(day, s) == 0 ? json_string(s) : NULL;
}

static json_t *named(const char *const *names, size_t n, const double *v)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        if (json_object_set_new(o, names[i], num(v[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    return o;
}

static json_t *fit_doc(const char *const *names, size_t n, const fit_result *f,
                       double customers)
{
    json_t *se = f->std_errors_ok ? named(names, n, f->std_errors) : json_null();
    return json_pack("{s:o, s:o, s:o, s:o}", "params", named(names, n, f->params),
                     "std_errors", se, "log_likelihood", num(f->log_likelihood),
                     "customers", count(customers));
}

static json_t *calibration_fit(const report_backtest *r)
{
    json_t *spend = r->spend_fit != NULL
                        ? fit_doc(gg_param_names, 3, r->spend_fit, r->spend_customers)
                        : json_null();
    json_t *o =
        fit_doc(r->model->param_names, r->model->n_params, r->fit, r->fit_customers);
    if (o != NULL && json_object_set_new(o, "spend", spend) == 0)
        return o;
    json_decref(o);
    return NULL;
}

static json_t *errors_doc(const backtest_errors *e, int with_actual)
{
    json_t *o = json_pack("{s:o, s:o, s:o}", "mae", num(e->mae), "rmse", num(e->rmse),
                          "predicted_total", num(e->predicted_total));
    if (o != NULL && with_actual &&
        (json_object_set_new(o, "customers", count(e->customers)) != 0 ||
         json_object_set_new(o, "actual_total", count(e->actual_total)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *conditional(const backtest_figures *f)
{
    json_t *a = json_array();
    for (size_t b = 0; a != NULL && b < BACKTEST_BINS; b++) {
        const backtest_freq_bin *x = &f->by_frequency[b];
        if (json_array_append_new(
                a, json_pack("{s:s, s:o, s:o, s:o}", "frequency", bin_names[b],
                             "customers", count(x->customers), "actual_mean",
                             mean_or_null(x->customers, x->actual_mean), "predicted_mean",
                             mean_or_null(x->customers, x->predicted_mean))) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *histogram(const backtest_figures *f)
{
    json_t *a = json_array();
    for (size_t b = 0; a != NULL && b < BACKTEST_BINS; b++)
        if (json_array_append_new(a, json_pack("{s:s, s:o, s:o}", "repeat_purchases",
                                               bin_names[b], "actual",
                                               count(f->histogram[b].actual), "model",
                                               num(f->histogram[b].model))) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static json_t *tracking(const report_backtest *r)
{
    const backtest_figures *f = r->figures;
    json_t *a = json_array();
    for (size_t p = 0; a != NULL && p < f->n_periods; p++) {
        const backtest_period *t = &f->tracking[p];
        int64_t day = r->first_period_day + (int64_t)p * r->period_days;
        if (json_array_append_new(
                a, json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}", "period_start",
                             day_string(day), "phase",
                             p < f->n_periods_cal ? "calibration" : "holdout", "actual",
                             count(t->actual), "model", num(t->model),
                             "actual_cumulative", count(t->actual_cumulative),
                             "model_cumulative", num(t->model_cumulative))) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *spend(const backtest_figures *f)
{
    if (!f->has_spend)
        return json_null();
    const backtest_spend *s = &f->spend;
    return json_pack("{s:o, s:o, s:o, s:o}", "customers", count(s->customers),
                     "actual_mean", mean_or_null(s->customers, s->actual_mean),
                     "predicted_mean", mean_or_null(s->customers, s->predicted_mean),
                     "mae", mean_or_null(s->customers, s->mae));
}

json_t *report_backtest_json(const report_backtest *r)
{
    const backtest_figures *f = r->figures;
    return json_pack(
        "{s:s, s:s?, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, "
        "s:o}",
        "model", r->model->name, "spend_model", r->spend_fit != NULL ? "gg" : NULL,
        "period", r->period_days == 7 ? "week" : "day", "calibration_end",
        day_string(r->calibration_end_day), "holdout_end", day_string(r->holdout_end_day),
        "holdout_periods", count(r->holdout_periods), "calibration_fit",
        calibration_fit(r), "holdout", errors_doc(&f->holdout, 1), "naive",
        errors_doc(&f->naive, 0), "worse_than_naive", f->worse_than_naive,
        "conditional_expectations", conditional(f), "tracking", tracking(r),
        "calibration_histogram", histogram(f), "spend", spend(f));
}

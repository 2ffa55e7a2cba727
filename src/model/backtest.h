/* The calibration/holdout back-test of a fitted purchase model (and
 * optionally Gamma-Gamma): holdout errors against a naive benchmark,
 * conditional expectations by calibration frequency (Fader, Hardie & Lee
 * 2005, Figure 4), the tracking series of repeat purchases per period, the
 * calibration histogram of repeat purchases, and spend predicted vs actual.
 * Every figure the back-test JSON (docs/cli.md, `ltvd backtest`) holds,
 * computed from per-customer summaries; rendering is report/backtest_json.h,
 * the data from transactions summary/backtest_data.h.
 *
 * Times are in periods of period_days days (1 = day, 7 = week), counted in
 * days and divided by period_days, as lifetimes' calibration_and_holdout_data
 * with freq='D' and freq_multiplier=period_days (purchases collapse per day;
 * Fader, Hardie & Lee's CDNOW weeks). The tracking series cuts the days
 * [0, last_day] into periods of period_days days, period p being days
 * [p * period_days, (p + 1) * period_days - 1] (the last one cut at
 * last_day); a customer whose first purchase is on day f has made a repeat
 * purchase "at time k / period_days" when they bought on day f + k, so the
 * model's expected repeat purchases of that customer on days [a, b] are
 * expected_new((b - f) / period_days) - expected_new((a - 1 - f) / period_days)
 * (ages below 0 taken as 0).
 * Pure: GSL and libc, no I/O, no globals. */
#ifndef LTVD_MODEL_BACKTEST_H
#define LTVD_MODEL_BACKTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"
#include "model/fit.h"

/* Frequency classes of the tables: 0, 1, ..., 6 and "7+". */
#define BACKTEST_BINS 8

/* Most days a tracking series spans (it costs up to one addition per
 * (first-purchase day, period) pair): 54 years. */
#define BACKTEST_MAX_DAYS 20000

/* One customer of the back-test (weight 1). */
typedef struct backtest_customer {
    double x, t_x, T;        /* calibration summary, in periods */
    double m;                /* mean repeat-period spend in calibration, 0 when x = 0 */
    double x_holdout;        /* purchase periods in the holdout */
    double m_holdout;        /* mean spend of a holdout purchase period, 0 when none */
    double duration_holdout; /* periods */
    size_t first_day;        /* day of the first purchase, 0 = the series' first day */
} backtest_customer;

typedef struct backtest_input {
    const backtest_customer *customers;
    size_t n; /* >= 1 */
    const btyd_model *model;
    const double *params;    /* model->n_params, the calibration fit */
    const double *gg_params; /* Gamma-Gamma p, q, v; NULL: no spend figures */
    /* The tracking series over days [0, last_day]: periods [0, n_periods_cal)
     * are the calibration (which ends on day n_periods_cal * period_days - 1),
     * [n_periods_cal, n_periods) the holdout; n_periods is
     * last_day / period_days + 1. actual_repeat[p] is the actual number of
     * repeat purchases (purchase days after each customer's first) in
     * period p. Every first_day is in the calibration. */
    int period_days; /* >= 1 */
    size_t last_day;
    const double *actual_repeat;
    size_t n_periods;
    size_t n_periods_cal;
} backtest_input;

/* Holdout purchases predicted for each customer against what they did. */
typedef struct backtest_errors {
    double customers;
    double mae, rmse;
    double predicted_total, actual_total;
} backtest_errors;

/* Customers of one calibration frequency class. The means are 0 when the
 * class is empty (customers = 0), and rendered as null then. */
typedef struct backtest_freq_bin {
    double customers;
    double actual_mean;    /* holdout purchases */
    double predicted_mean; /* conditional expectation over the holdout */
} backtest_freq_bin;

/* Customers with k calibration repeat purchases: actual, and the model's
 * sum over customers of P(k repeat purchases in (0, T_i]). */
typedef struct backtest_hist_bin {
    double actual, model;
} backtest_hist_bin;

typedef struct backtest_period {
    double actual, model; /* repeat purchases in the period */
    double actual_cumulative, model_cumulative;
} backtest_period;

/* Customers with holdout purchases: Gamma-Gamma's expected mean spend
 * (given the calibration x, m) against their actual holdout mean. Means and
 * mae are 0 when customers = 0 (rendered as null). */
typedef struct backtest_spend {
    double customers;
    double actual_mean, predicted_mean, mae;
} backtest_spend;

/* Every figure of a back-test. tracking is malloc'ed (n_periods rows, the
 * first n_periods_cal of the calibration); free with backtest_figures_free. */
typedef struct backtest_figures {
    backtest_errors holdout;
    backtest_errors naive; /* each customer repeats x / T per period (0 when T = 0) */
    bool worse_than_naive; /* holdout.mae > naive.mae */
    backtest_freq_bin by_frequency[BACKTEST_BINS];
    backtest_hist_bin histogram[BACKTEST_BINS];
    backtest_period *tracking;
    size_t n_periods, n_periods_cal;
    bool has_spend;
    backtest_spend spend;
} backtest_figures;

/* Optional per-customer results (the per-customer CSV). */
typedef struct backtest_customer_out {
    double predicted_holdout; /* E[purchases in the holdout | calibration] */
    double p_alive;           /* at the calibration end */
    double predicted_spend;   /* Gamma-Gamma E[mean spend]; 0 without gg_params */
} backtest_customer_out;

/* Computes every figure. per_customer is NULL or has in->n entries.
 * Returns GSL_SUCCESS with *out filled (caller frees it), GSL_EDOM for
 * inconsistent input (no customers, a first_day outside the calibration,
 * n_periods_cal > n_periods, last_day >= BACKTEST_MAX_DAYS, a customer outside the
 * model's domain), or the model's error code when a figure cannot be computed (never NaN
 * or Inf); GSL_ENOMEM when out of memory. On error *out is left empty (free is safe).
 * Cost: O(n + last_day) model evaluations, O(n log n), and
 * O(distinct first days x n_periods) additions. */
int backtest_compute(const backtest_input *in, backtest_figures *out,
                     backtest_customer_out *per_customer);

void backtest_figures_free(backtest_figures *f);

/* Fits the purchase model on the customers' calibration summaries and,
 * when spend_fit is not NULL, Gamma-Gamma on (x, m) of those with x >= 1
 * and m > 0. *customers / *spend_customers say how many the fits used.
 * Returns GSL_SUCCESS or the fitter's code (GSL_EDOM when there is no
 * customer to fit Gamma-Gamma on; GSL_ENOMEM). Acceptance is the caller's
 * (model/accept.h). */
int backtest_fit(const btyd_model *model, const backtest_customer *c, size_t n,
                 double penalizer, fit_result *fit, double *customers,
                 fit_result *spend_fit, double *spend_customers);

/* Index of the frequency class of x: 0..6, or 7 for 7+. */
size_t backtest_bin_of(double x);

#endif

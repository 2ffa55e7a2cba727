/* From transactions to the input of a back-test (model/backtest.h): each
 * customer's calibration and holdout summary and the actual repeat
 * purchases per period of the tracking series.
 *
 * The split is lifetimes' calibration_and_holdout_data with freq='D' and
 * freq_multiplier = period_days (7 for weeks): purchases collapse per day,
 * times are days divided by period_days, exactly as `ltvd fit` and
 * summary_calibration_holdout summarise (Fader, Hardie & Lee's CDNOW weeks:
 * T = 38.86 for a customer who joined 272 days before the calibration end).
 *   calibration = the transactions on days <= calibration end;
 *   x   = the customer's distinct calibration days - 1,
 *   t_x = (last - first day) / period_days, T = (calibration end - first) /
 *   period_days; m = the mean over the repeat days of each day's summed amount;
 *   holdout = the days in (calibration end, holdout end]; x_holdout = their
 *   distinct days; m_holdout = the mean of those days' summed amounts;
 *   duration_holdout = (holdout end - calibration end) / period_days.
 * Customers whose first purchase is after the calibration end are left out.
 *
 * The tracking series: periods of period_days days aligned so that one ends
 * on the calibration end; the first is the one holding the earliest first
 * purchase, the last the one holding the holdout end (cut there). */
#ifndef LTVD_SUMMARY_BACKTEST_DATA_H
#define LTVD_SUMMARY_BACKTEST_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "model/backtest.h"
#include "summary/summary.h"

typedef struct summary_backtest {
    backtest_customer *customers;
    const char **ids; /* borrowed from the txn_set; NULL when built from aggregates */
    size_t n;
    double *actual_repeat; /* n_periods entries */
    size_t n_periods, n_periods_cal;
    size_t last_day;          /* the holdout end, in days from first_period_day */
    int64_t first_period_day; /* the day the series' first period starts */
    int period_days;          /* 1 or 7 */
    double holdout_periods;   /* duration_holdout */
    /* the builder's state (summary_backtest_begin .. _end) */
    int64_t cal_end_day, obs_end_day;
    size_t cap;
    int64_t *firsts; /* absolute first days until summary_backtest_end */
} summary_backtest;

/* Amounts of the aggregates are integers of 1/SUMMARY_BACKTEST_UNITS (the
 * 4 decimals of numeric(18,4) the service stores): sums of them are exact,
 * and the back-test's mean spends are (double)units / SUMMARY_BACKTEST_UNITS
 * / days on every path, so the service (exact decimal sums from PostgreSQL)
 * and `ltvd backtest` (a CSV's doubles, each rounded to units) give the same
 * doubles. (For |units| < 2^53, (double)units / 1e4 is the correctly rounded
 * value of the decimal, which is also what strtod gives for its text.) */
#define SUMMARY_BACKTEST_UNITS 10000

/* One customer's aggregates over their purchase days up to the holdout end
 * (days collapse: a day's amount is the sum of its transactions). */
typedef struct summary_backtest_agg {
    int64_t first_day;    /* the first purchase day (on or before the calibration end) */
    int64_t last_cal_day; /* the last purchase day on or before the calibration end */
    int64_t cal_days;     /* distinct purchase days on or before it, >= 1 */
    int64_t repeat_units; /* the amounts of those days but the first */
    int64_t hold_days;    /* distinct purchase days in the holdout */
    int64_t hold_units;   /* their amounts */
} summary_backtest_agg;

/* Why summary_backtest_data refused. */
typedef enum summary_backtest_status {
    SUMMARY_BACKTEST_OK = 0,
    SUMMARY_BACKTEST_NOMEM,
    SUMMARY_BACKTEST_BAD_ARGS, /* period_days not 1 or 7, or holdout end <= calibration
                                  end */
    SUMMARY_BACKTEST_NO_CUSTOMERS, /* nobody bought on or before the calibration end */
    SUMMARY_BACKTEST_LONG          /* the series spans BACKTEST_MAX_DAYS days or more */
} summary_backtest_status;

/* Builds the back-test input of txns for the split at cal_end_day and
 * obs_end_day (inclusive). *out (free with summary_backtest_free, safe
 * after an error) borrows ids from txns. The summaries' rows come in the
 * order of the customers' first appearance in the file. */
summary_backtest_status summary_backtest_data(const txn_set *txns, int64_t cal_end_day,
                                              int64_t obs_end_day, int period_days,
                                              summary_backtest *out);
void summary_backtest_free(summary_backtest *b);

/* Building *out from aggregates (what the service reads), in three steps:
 * summary_backtest_begin for the split (the same conventions and refusals
 * as summary_backtest_data), summary_backtest_add per customer whose first
 * purchase is on or before cal_end_day (any order), summary_backtest_end,
 * then summary_backtest_add_days for the tracking series: the purchase
 * days of those customers per day, first days included (end took each
 * customer's first day off already, so the series counts repeat days).
 * Memory: O(customers), 72 bytes each while building, 64 after. Each
 * returns SUMMARY_BACKTEST_OK or why not (BAD_ARGS for an aggregate that
 * cannot be: cal_days < 1, days out of order or outside the split); free
 * *out with summary_backtest_free in every case. */
summary_backtest_status summary_backtest_begin(summary_backtest *out, int64_t cal_end_day,
                                               int64_t obs_end_day, int period_days);
summary_backtest_status summary_backtest_add(summary_backtest *out,
                                             const summary_backtest_agg *a);
summary_backtest_status summary_backtest_end(summary_backtest *out);

/* Adds n purchase days of customers added (first days included) on day to
 * the tracking series; days outside the series are ignored. After
 * summary_backtest_end. */
void summary_backtest_add_days(summary_backtest *out, int64_t day, double n);

/* An amount in SUMMARY_BACKTEST_UNITS, rounded to the nearest unit (and
 * saturated at +-INT64_MAX / 2). */
int64_t summary_backtest_units(double amount);

/* The backtest_input of b for a fitted model (gg_params may be NULL). */
backtest_input summary_backtest_input(const summary_backtest *b, const btyd_model *m,
                                      const double *params, const double *gg_params);

#endif

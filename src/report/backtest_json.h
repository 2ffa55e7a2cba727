/* The back-test JSON (docs/cli.md, `ltvd backtest`; the "backtest" member
 * of GET /v1/model/diagnostics): one renderer, so that the command line and
 * the service print the same document for the same split. */
#ifndef LTVD_REPORT_BACKTEST_JSON_H
#define LTVD_REPORT_BACKTEST_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "model/backtest.h"
#include "model/btyd.h"
#include "model/fit.h"

/* What the document says besides the figures. Everything is borrowed. */
typedef struct report_backtest {
    const btyd_model *model;
    int period_days;             /* 1 ("day") or 7 ("week") */
    int64_t calibration_end_day; /* days since 1970-01-01 */
    int64_t holdout_end_day;
    double holdout_periods;
    int64_t first_period_day; /* the first day of the tracking series */
    const fit_result *fit;    /* the calibration fit */
    double fit_customers;
    const fit_result *spend_fit; /* Gamma-Gamma's, or NULL (spend_model null) */
    double spend_customers;
    const backtest_figures *figures;
} report_backtest;

/* A new JSON object (caller owns it) with the contract's keys:
 * model, spend_model, period, calibration_end, holdout_end, holdout_periods,
 * calibration_fit, holdout, naive, worse_than_naive,
 * conditional_expectations, tracking, calibration_histogram, spend.
 * The means of an empty frequency class, and spend's figures with no
 * customer, are null. NULL when out of memory or a number is not finite
 * (which backtest_compute never gives). */
json_t *report_backtest_json(const report_backtest *r);

#endif

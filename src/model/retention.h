/* Contractual retention models: the shifted-beta-geometric (sBG, Fader &
 * Hardie 2007, "How to Project Customer Retention") and the beta-discrete-
 * Weibull (BdW, Fader, Hardie, Liu, Davin & Steenburgh 2018), fitted by
 * maximum likelihood on cohorts' survivor counts, and what they say about a
 * subscriber: the survivor function, P(renewing), expected remaining
 * renewals and the discounted expected residual lifetime (DERL, Fader &
 * Hardie 2010). Periods are renewal periods (a month or a year); period 0 is
 * the start, a subscriber alive after period t has made t renewals.
 *
 * BdW: P(churn at the end of period t | theta) = (1 - theta)^((t-1)^c) -
 * (1 - theta)^(t^c), theta ~ Beta(alpha, beta); c = 1 is the sBG.
 * S(t) = B(alpha, beta + t^c) / B(alpha, beta).
 *
 * Same error conventions as btyd.h: functions return GSL_SUCCESS with a
 * finite *out, or a GSL error code (GSL_EDOM for parameters or arguments out
 * of the domain) and leave *out untouched. */
#ifndef LTVD_MODEL_RETENTION_H
#define LTVD_MODEL_RETENTION_H

#include <stdbool.h>
#include <stddef.h>

#include "model/fit.h"

typedef enum retention_kind {
    RETENTION_SBG = 0, /* parameters alpha, beta */
    RETENTION_BDW = 1  /* parameters alpha, beta, c */
} retention_kind;

typedef struct retention_params {
    retention_kind kind;
    double alpha;
    double beta;
    double c; /* 1 for the sBG */
} retention_params;

/* "sbg" or "bdw"; NULL for another value. */
const char *retention_kind_name(retention_kind kind);
/* Parses "sbg" / "bdw"; false for anything else. */
bool retention_kind_parse(const char *name, retention_kind *out);

/* S(t): the share of a cohort still subscribed after t periods (S(0) = 1). */
int retention_survival(const retention_params *p, unsigned t, double *out);

/* log S(t) for a real t >= 0 (log B(alpha, beta + t^c) - log B(alpha,
 * beta)), <= 0; finite where S(t) itself would underflow to 0. */
int retention_log_survival(const retention_params *p, double t, double *out);

/* P(renewing at the next decision | k renewals made) = S(k + 1) / S(k). */
int retention_p_renew(const retention_params *p, unsigned k, double *out);

/* The sums below (DERL, expected renewals) take at most this many terms;
 * past it they return GSL_EMAXITER (a DERL needs about 38 / d terms at a
 * discount rate d, fewer when S falls fast). */
#define RETENTION_MAX_TERMS_SBG 50000000u
#define RETENTION_MAX_TERMS_BDW 2000000u

/* DERL as Fader & Hardie (2010) define it, for a subscriber who has made k
 * renewals, just before the next renewal decision:
 *   DERL(k) = sum_{t = k+1..inf} [S(t) / S(k)] / (1 + d)^(t - k - 1),
 * d > -1 the discount rate per period (d = 0 is allowed only when the sum
 * converges; GSL_EDOM otherwise). The residual value is amount x DERL.
 * At d = 0 the sBG's sum is (beta + k) / (alpha - 1), finite for alpha > 1;
 * the BdW's converges (for c alpha > 1) too slowly to sum, and is refused
 * with GSL_EDOM. For d > 0 the series is summed until a proven bound on its
 * tail is below 1e-17 of the sum (GSL_EMAXITER past the term limit above). */
int retention_derl(const retention_params *p, unsigned k, double d, double *out);

/* Expected renewals still to come within the next `horizon` periods for a
 * subscriber who has made k renewals: sum_{t = k+1..k+horizon} S(t) / S(k)
 * (GSL_EMAXITER for a horizon above the term limit). */
int retention_expected_renewals(const retention_params *p, unsigned k, unsigned horizon,
                                double *out);

/* The expected discounted value of a new subscriber paying `amount` per
 * period: amount x (1 + DERL(0)) (the first payment at the start, then one
 * per renewal). amount must be finite and >= 0 (GSL_EDOM otherwise). */
int retention_new_subscriber_value(const retention_params *p, double amount, double d,
                                   double *out);

/* One cohort's survivor counts: survivors[0] is the cohort's size at the
 * start, survivors[t] how many are still subscribed after t periods
 * (non-increasing), t = 0..n-1; the last count is right-censored. */
typedef struct retention_cohort {
    const double *survivors;
    size_t n;
} retention_cohort;

typedef struct retention_fit_result {
    retention_params params;
    fit_result fit; /* params / std_errors in the order alpha, beta[, c] */
} retention_fit_result;

/* Checks cohorts as retention_fit does: every count finite, >= 0 and
 * non-increasing within its cohort, and at least one cohort with two counts
 * or more and a positive size. GSL_SUCCESS with *weight = the subscribers of
 * the usable cohorts (sum of their survivors[0]), or GSL_EDOM. */
int retention_cohorts_check(const retention_cohort *cohorts, size_t n_cohorts,
                            double *weight);

/* The log-likelihood of the cohorts at p (the sum retention_fit maximises):
 * per cohort sum_t (n_{t-1} - n_t) log P(T = t) + n_last log S(last).
 * GSL_EDOM for bad parameters or cohorts (retention_cohorts_check). */
int retention_loglik(const retention_params *p, const retention_cohort *cohorts,
                     size_t n_cohorts, double *out);

/* Fits `kind` by maximum likelihood on the cohorts together (each starts at
 * its own period 0). GSL_EDOM for no usable cohort, counts that increase, or
 * negative counts. Cohorts with fewer than two counts carry no information
 * and are skipped. The BdW is started from the sBG's optimum (c = 1). */
int retention_fit(retention_kind kind, const retention_cohort *cohorts, size_t n_cohorts,
                  retention_fit_result *out);

#endif

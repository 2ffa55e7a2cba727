/* What a newly acquired customer is worth, and what that says about the
 * price of acquiring one (issue 11, docs/acquisition.md "Answers"):
 *
 *   new_customer_repeat_ltv = sum_{k=1..N} margin * E[spend]
 *                             * (E[X(kM)] - E[X((k-1)M)]) / (1+d)^k
 *
 * with E[X(t)] the purchase model's unconditional expected number of repeat
 * purchases of a customer just acquired (btyd_model.expected_new), E[spend]
 * the Gamma-Gamma population mean p v / (q - 1), and N, M, d, margin as the
 * per-customer CLV takes them (model/clv.h: a month is 30 days or 4.345
 * weeks; monthly discounting). The first purchase is not a repeat: its value
 * (margin * mean first-day spend) is added by the caller, who knows the
 * customers. Then CAC, LTV/CAC, the most one may pay at a target ratio, the
 * payback month and a lead's value follow by arithmetic.
 *
 * The interval of the repeat value is the delta method with the fits'
 * standard errors, taking the parameters as independent (fit_result keeps no
 * covariance): Var = sum_i (df/dtheta_i)^2 se_i^2, the derivatives by central
 * differences. The purchase and spend models are fitted separately, so they
 * are independent of each other; only the correlation within each model is
 * ignored. Pure: no I/O, no globals. Same error conventions as btyd.h. */
#ifndef LTVD_MODEL_ACQUISITION_H
#define LTVD_MODEL_ACQUISITION_H

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"
#include "model/clv.h"

/* The 95% normal quantile used for every interval. */
#define ACQ_Z95 1.959963984540054
/* Longest horizon in months (N). */
#define ACQ_MAX_MONTHS 1200

/* The fitted models a new customer's value comes from. se arrays hold the
 * standard errors (0 when unknown: that parameter adds nothing to the
 * interval). */
typedef struct acq_model {
    const btyd_model *m;
    double params[BTYD_MAX_PARAMS];
    double se[BTYD_MAX_PARAMS];
    double gg[3]; /* Gamma-Gamma p, q, v; q > 1 */
    double gg_se[3];
    clv_options clv; /* N = months (<= ACQ_MAX_MONTHS), d, margin, M */
} acq_model;

/* Gamma-Gamma population mean spend per purchase p v / (q - 1). GSL_EDOM
 * unless every parameter is finite and > 0 and q > 1. */
int acq_mean_spend(const double *gg, double *out);

/* sum_{k=1..N} (E[X(kM)] - E[X((k-1)M)]) / (1+d)^k for a new customer of
 * model m. When inc is not NULL, inc[k-1] receives the k-th discounted term
 * (N entries). Returns GSL_SUCCESS, GSL_EDOM for bad options or parameters,
 * or the model's error code. */
int acq_new_discounted_purchases(const btyd_model *m, const double *params,
                                 const clv_options *o, double *inc, double *out);

/* new_customer_repeat_ltv of a (formula above). inc (NULL or N entries)
 * receives the discounted margin of each month k = 1..N, so that their sum
 * is *out. */
int acq_repeat_ltv(const acq_model *a, double *inc, double *out);

/* The delta-method standard error of acq_repeat_ltv (see the top). */
int acq_repeat_ltv_se(const acq_model *a, double *out);

/* A new customer's repeat value with its standard error and monthly terms,
 * computed once per model and horizon and shared by every group. */
typedef struct acq_value {
    bool ok; /* the model could be evaluated */
    double ltv, se;
    double inc[ACQ_MAX_MONTHS]; /* the first clv.months terms */
} acq_value;

/* Fills *out from a (acq_repeat_ltv and acq_repeat_ltv_se); out->ok false
 * when either fails (then returns their code). */
int acq_value_compute(const acq_model *a, acq_value *out);

/* The figures of one group of customers (a channel, or all). Inputs are
 * plain numbers so the rules can be checked by hand. */
typedef struct acq_inputs {
    double repeat_ltv;    /* acq_repeat_ltv */
    double repeat_ltv_se; /* acq_repeat_ltv_se (0: unknown) */
    const double *inc;    /* its N monthly terms */
    unsigned months;      /* N */
    double margin;
    size_t customers;       /* the group's customers (the first-purchase sample) */
    double first_sum;       /* sum of their first-day spend */
    double first_sumsq;     /* sum of its squares */
    bool has_spend;         /* some spend row for the group */
    double spend;           /* the group's acquisition spend */
    size_t spend_customers; /* customers acquired in the months with spend */
    bool has_leads;
    double leads;
    size_t lead_customers; /* customers acquired in the months with leads */
    double target_ratio;   /* R > 0 */
} acq_inputs;

/* Every figure may be undefined (has_* false, or payback_month -1): no
 * customers, no spend row, CAC of zero customers, no leads. */
typedef struct acq_figures {
    bool has_ltv;                /* customers > 0 */
    double first_purchase_value; /* margin * mean first-day spend */
    double new_customer_ltv;     /* repeat_ltv + first_purchase_value */
    double ltv_low, ltv_high;    /* 95%: +- z * sqrt(se_repeat^2 + se_first^2),
                                    low clamped at 0; the intervals of max_cac,
                                    ltv_cac and lead_value are these scaled as
                                    the figures are (CAC, conversion and R taken
                                    as known) */
    bool has_cac;
    double cac; /* spend / spend_customers */
    bool has_ratio;
    double ltv_cac; /* new_customer_ltv / cac (cac > 0) */
    bool has_max_cac;
    double max_cac;    /* new_customer_ltv / R */
    int payback_month; /* first k in 0..N whose cumulative margin >= cac; -1 */
    bool has_conversion;
    double conversion; /* lead_customers / leads (leads > 0) */
    bool has_lead_value;
    double lead_value; /* conversion * new_customer_ltv */
} acq_figures;

/* Computes the figures (see acq_figures). The payback counts month 0 as
 * the first purchase's value, then adds inc[k-1] for month k: the first
 * month whose cumulative expected margin reaches the CAC, -1 when it never
 * does within N months or there is no CAC. */
void acq_figures_compute(const acq_inputs *in, acq_figures *out);

#endif

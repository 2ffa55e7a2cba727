/* Customer lifetime value over a horizon of months, discounted monthly, as
 * lifetimes' customer_lifetime_value computes it so results compare one to
 * one:
 *
 *   CLV = sum_{k=1..N} margin * spend * (E[X(k M)] - E[X((k-1) M)]) / (1+d)^k
 *
 * where E[X(t)] is the model's conditional expected number of purchases in the
 * next t periods, M the length of a month in model periods (30 when the period
 * is a day, 4.345 when it is a week, 1 opportunity for a discrete model), d the
 * monthly discount rate and spend the expected value of one purchase. */
#ifndef LTVD_MODEL_CLV_H
#define LTVD_MODEL_CLV_H

#include "model/btyd.h"

/* Month lengths used by lifetimes, in days and in weeks. */
#define CLV_MONTH_DAYS 30.0
#define CLV_MONTH_WEEKS 4.345

typedef struct clv_options {
    unsigned months;      /* N >= 1 */
    double discount_rate; /* d per month, > -1 (lifetimes' default 0.01) */
    double margin;        /* share of spend that is profit, >= 0 */
    double month_periods; /* M, in model periods (> 0) */
} clv_options;

/* 1 when o is usable: N >= 1, d > -1 with (1+d)^N a positive finite number,
 * margin >= 0 and M > 0 (all finite); 0 otherwise. */
int clv_options_valid(const clv_options *o);

/* Month length in model periods for a period of `period_days` days, or 1 for
 * discrete (opportunity-counting) models. */
double clv_month_periods(const btyd_model *m, double period_days);

/* The discounted expected purchases sum_k (E[X(kM)] - E[X((k-1)M)]) / (1+d)^k
 * of one history (margin and discount as in o): the CLV is margin * spend
 * times this, so batch scoring computes it once per distinct history. */
int clv_discounted_purchases(const btyd_model *m, const double *params, double x,
                             double t_x, double T, const clv_options *o, double *out);

/* clv_discounted_purchases, and *expected = E[X(horizon)] (horizon >= 0, in
 * model periods) from the same batch of expectations when the months are
 * fewer than 64 (else by the model's expected alone): the model's own
 * expected gives the same bits (btyd_expected_many does), at a fraction of
 * the cost, since the history's work is shared. A failure (of either) is
 * reported as one code, which may not be the one each call alone would
 * give; callers that need that code make the calls apart. */
int clv_discounted_and_expected(const btyd_model *m, const double *params, double x,
                                double t_x, double T, const clv_options *o,
                                double horizon, double *expected, double *out);

/* CLV of one customer with history (x, t_x, T) and expected spend per
 * purchase `spend` (>= 0). Returns GSL_SUCCESS with a finite value, GSL_EDOM
 * for bad options or input, or the model's error code. */
int clv_value(const btyd_model *m, const double *params, double x, double t_x, double T,
              double spend, const clv_options *o, double *out);

#endif

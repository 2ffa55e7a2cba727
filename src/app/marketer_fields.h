/* The fields marketers expect in a customer document (docs/service.md,
 * "The fields marketers expect"): what the customer spent and how often,
 * when a next purchase becomes more likely than not, and where the
 * customer's predicted LTV ranks among the tenant's customers. Computed
 * from a scored row (customer_query.h) with bounded work: no pass over the
 * customers (the percentile is a binary search in the score table's
 * sample, cache/scores.h). */
#ifndef LTVD_APP_MARKETER_FIELDS_H
#define LTVD_APP_MARKETER_FIELDS_H

#include <stdbool.h>
#include <stdint.h>

#include "app/customer_query.h"
#include "cache/cache.h"

/* How far ahead expected_next_purchase_by looks, in days (10 years). */
#define APP_NEXT_PURCHASE_MAX_DAYS 3650
/* The probability of at least one purchase it is the date of. */
#define APP_NEXT_PURCHASE_P 0.5
/* predicted_spend_tier's cut points on predicted_ltv_percentile: high from
 * the top 10%, medium for the next 40%, low for the lower half. */
#define APP_TIER_HIGH_FROM 90.0
#define APP_TIER_MEDIUM_FROM 50.0

typedef struct app_marketer {
    double historic_value;       /* everything spent, first day included */
    int64_t historic_units;      /* the same in 1/CACHE_AMOUNT_UNITS (saturating) */
    uint32_t historic_purchases; /* purchase days (the model's count) */
    double average_order_value;  /* historic_value / historic_purchases */
    bool has_days_between;       /* false with one purchase day */
    double days_between;         /* (last - first day) / (purchase days - 1) */
    bool has_next;               /* false when P(any) stays below 50% */
    int64_t next_purchase_by;    /* UTC day number */
    bool has_percentile;         /* false: no spend model, table not ready */
    double percentile;           /* 0 <= p < 100, floored to 0.1 */
    int percentile_tenths;       /* the same in tenths: 10 * percentile */
    const char *tier;            /* "high", "medium", "low"; NULL with it */
} app_marketer;

/* The fields of the customer scored in row with m and o (app_score_compute
 * with the same m and o). The percentile is of the predicted LTV at the
 * tenant's configured horizon, discount and margin as of the service's
 * day (the table's spec; the document's own options when they are the
 * same, else one more scoring) among the customers of o->tenant's score
 * table for m; unknown (has_percentile false) without o->tenant, without a
 * spend model, while that table is not complete and ranked, or for a
 * document as of another day. Never fails: what cannot be computed is
 * unknown. */
void app_marketer_fields(const cache_model *m, const app_score_opts *o,
                         const app_score_row *row, app_marketer *out);

#endif

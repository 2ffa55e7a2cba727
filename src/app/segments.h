/* Segment counts: how many customers are in each churn risk and lifecycle
 * stage, as of the service's day with the served model, the first thing a
 * dashboard polls (GET /v1/segments, docs/lists.md). Counted from the
 * score table's ranks: O(cells + customers changed since they were built),
 * not a pass over every customer. */
#ifndef LTVD_APP_SEGMENTS_H
#define LTVD_APP_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "app/customer_query.h"

#define APP_RISKS 3 /* app_risk's values */

typedef struct app_segments {
    size_t counts[APP_RISKS][APP_STAGES]; /* [risk][stage] */
    size_t n_counted;                     /* the sum of counts */
    size_t n_failed;                      /* customers whose scores cannot be computed */
    int64_t as_of_day;                    /* the day they are counted as of */
    const cache_model *m;                 /* the snapshot they were scored with (held) */
    size_t n_customers; /* in the cache, for APP_LIST_WARMING's message */
} app_segments;

/* Counts the segments. APP_LIST_OK with the counts in *out; otherwise
 * APP_LIST_NO_MODEL, APP_LIST_BUSY (it takes a list slot), APP_LIST_WARMING
 * (the first table is being computed, and there are more than
 * list_rescore_max customers), APP_LIST_BUDGET (list_budget_ms ran out
 * scoring the customers the ranks do not hold) or APP_LIST_NO_MEMORY. Free *out
 * with app_segments_free whatever the status. While a new snapshot's table
 * is being computed, the previous snapshot's counts are given (out->m). */
app_list_status app_segments_run(app_tenant *t, app_segments *out);

void app_segments_free(app_segments *s);

#endif

/* The distribution of predicted LTV over a tenant's customers, as of the
 * service's day with the served model and the configured horizon,
 * discount and margin (GET /v1/customers/ltv_distribution, a dashboard's
 * histogram; docs/dashboard.md). Read from the score table (one pass over
 * stored numbers); customers the table does not hold are scored here, as
 * the segment counts do. Takes a list slot and counts against
 * list_budget_ms: bounded like a list. */
#ifndef LTVD_APP_LTV_DIST_H
#define LTVD_APP_LTV_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "app/customer_query.h"

#define APP_LTV_BINS_MAX 100

typedef struct app_ltv_dist {
    size_t bins; /* equal-width bins from lo to hi */
    size_t counts[APP_LTV_BINS_MAX];
    double lo, hi;           /* hi: the 99th percentile (or max) */
    size_t above;            /* customers above hi (the top 1% tail) */
    double max, mean, total; /* over every customer counted */
    double p50, p90, p99;    /* quantiles (nearest rank) */
    size_t n_counted;        /* customers with an LTV */
    size_t n_failed;         /* customers whose scores cannot be computed */
    bool has_spend;          /* false: no spend model, every LTV unknown */
    int64_t as_of_day;
    const cache_model *m; /* the snapshot (held), NULL without one */
    size_t n_customers;   /* in the cache, for APP_LIST_WARMING's message */
} app_ltv_dist;

/* Computes the histogram of bins (1..APP_LTV_BINS_MAX) bins. Returns
 * APP_LIST_OK with *out filled, or APP_LIST_NO_MODEL, APP_LIST_BUSY,
 * APP_LIST_WARMING, APP_LIST_BUDGET, APP_LIST_NO_MEMORY as
 * app_segments_run does. Free *out with app_ltv_dist_free whatever the
 * status. */
app_list_status app_ltv_dist_run(app_tenant *t, size_t bins, app_ltv_dist *out);

void app_ltv_dist_free(app_ltv_dist *d);

#endif

/* The subscribers' part of GET /v1/acquisition (docs/acquisition.md,
 * "Subscribers"): for a tenant whose customers subscribe, the value of a
 * new subscriber from the served retention model (app/subs.h), overall
 * ("subscription_value") and per acquisition channel (each group's
 * "new_subscriber_value", "subscription_ltv_cac", "subscription_max_cac",
 * "subscribers"). One billing period is valued: the one with a served
 * model and most subscriptions. Reads memory only (the tenant's
 * subscription records and the cache's attributes, summed by channel once
 * per change: app_subs_starts_by_channel): no PostgreSQL, and no fit
 * beyond the one app_subs_report_make makes or takes from its cache. */
#ifndef LTVD_HTTP_ACQ_SUBS_DOC_H
#define LTVD_HTTP_ACQ_SUBS_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/acq_view.h"
#include "app/subs.h"
#include "model/acquisition.h"

typedef struct acq_subs_part {
    bool ok;       /* a served model: the figures below hold */
    char why[300]; /* when !ok: why "subscription_value" is null */
    subs_period period;
    retention_fit_result fit;
    double discount_rate; /* per billing period */
    double margin;
    double target_ratio;
    bool has_naive; /* margin x ARPA / churn of the retention report */
    double naive;
    size_t n_channels; /* the view's */
    double *sum;       /* start amounts per channel index, n_channels + 1 */
    size_t *count;     /* (the last: customers without a channel) */
    double all_sum;    /* every subscription of the period */
    size_t all_count;
} acq_subs_part;

/* Fills p for tenant t and view v (margin and monthly discount rate from
 * cfg, R the target ratio). False when out of memory (p is then safe to
 * free). */
bool acq_subs_part_make(app_tenant *t, const app_acq_view *v, const ltvd_config *cfg,
                        double target_ratio, acq_subs_part *p);

/* The top-level "subscription_value" (a new object, or null) and
 * "subscription_value_reason" (null when there is a value) into doc. */
void acq_subs_part_top(const acq_subs_part *p, json_t *doc);

/* acq_doc_in's group_hook (arg: the acq_subs_part): adds the group's
 * subscriber members to g. */
void acq_subs_part_group(json_t *g, size_t k, const acq_figures *f, void *arg);

void acq_subs_part_free(acq_subs_part *p);

#endif

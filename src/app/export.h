/* The export of every customer of a tenant (GET /v1/customers/export): a
 * walk of the tenant's cache by record index, a bounded step at a time,
 * each customer scored with the model snapshot taken at the start, so that
 * the whole export is of one model version and one as_of day whatever the
 * refits meanwhile. Nothing grows with the number of customers: a step
 * reads at most APP_EXPORT_STEP records. The http layer formats the rows
 * (http/export.c). */
#ifndef LTVD_APP_EXPORT_H
#define LTVD_APP_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "app/customer_query.h"
#include "app/tenant.h"
#include "cache/cache.h"

/* Records read per step (app_export_next). */
#define APP_EXPORT_STEP 64

typedef struct app_export app_export;

/* One exported customer: id is the cache's own copy (valid while the
 * export holds the tenant). */
typedef struct app_export_item {
    const char *id;
    app_score_row row;
} app_export_item;

/* Outcomes of app_export_next. */
typedef enum app_export_status {
    APP_EXPORT_MORE, /* items written (maybe none): call again */
    APP_EXPORT_END,  /* every record was read: nothing written */
    APP_EXPORT_GONE, /* the tenant was deleted meanwhile: stop, send nothing more */
} app_export_status;

/* Why app_export_start gave no export. */
typedef enum app_export_refusal {
    APP_EXPORT_NO_MODEL, /* no model is served for the tenant */
    APP_EXPORT_BUSY,     /* export_max exports are streaming already */
    APP_EXPORT_NO_MEMORY,
} app_export_refusal;

/* Starts an export of t's customers scored under o (o->as_of_given must
 * be false: the service's own day, as GET /v1/customers/{id} without
 * as_of). Takes one of the process's export_max slots, a reference to t
 * and one to its current snapshot, all held until app_export_end. NULL
 * (nothing held) with *why when it cannot. */
app_export *app_export_start(app_tenant *t, const app_score_opts *o,
                             app_export_refusal *why);

/* The snapshot every row of the export is scored with. */
const cache_model *app_export_model(const app_export *e);

/* The next step: reads up to APP_EXPORT_STEP records and writes into
 * items (room for APP_EXPORT_STEP) the visible customers among them that
 * could be scored, in record order, *n of them. A customer hidden (n_days
 * 0: erased, or a first day in flight) is skipped; so is one whose scores
 * cannot be computed (counted: app_export_end logs how many). */
app_export_status app_export_next(app_export *e, app_export_item *items, size_t *n);

/* Ends the export: logs the customers left out (a count, no id), releases
 * the snapshot, the tenant and the slot, frees e. NULL is fine. */
void app_export_end(app_export *e);

#endif

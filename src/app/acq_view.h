/* The aggregates behind GET /v1/acquisition and GET /v1/cohorts
 * (docs/acquisition.md, "Answers"): every customer of a tenant's cache by
 * first-purchase month (cohorts, with each one's predicted LTV from the
 * score table) and by acquisition channel, with the tenant's spend. One
 * pass over the cache computes both; the result (a view) is kept and
 * shared by later requests while the cache (its generation), the served
 * snapshot, the day and the settings are unchanged, so a dashboard polling
 * either answer costs a lookup; requests that arrive while a pass of their
 * key runs wait for it (at most list_budget_ms + 1 s) instead of making
 * their own. A pass takes a list slot, like a list, and
 * scores the customers the score table does not hold within
 * list_budget_ms (those left get no prediction; without a table, only up
 * to list_rescore_max customers are scored, and a view made without the
 * table is replaced once the table is ready).
 * Transient memory of a pass: 48 bytes per customer. */
#ifndef LTVD_APP_ACQ_VIEW_H
#define LTVD_APP_ACQ_VIEW_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "app/acq_chan.h"
#include "app/customer_query.h"
#include "app/tenant.h"
#include "model/acquisition.h"
#include "store/acquisition.h"
#include "summary/cohorts.h"

/* One computed view, immutable once published; reference-counted. */
typedef struct app_acq_view {
    atomic_long refs;
    uint64_t generation;            /* cache_generation when computed */
    uint64_t serial;                /* the served snapshot's serial when asked */
    const app_tenant_cfg *settings; /* the settings version it used */
    int64_t as_of_day;
    bool table;             /* a complete score table was ready */
    uint64_t spend_version; /* the spend it used (0: none) */
    const cache_model *m;   /* the snapshot its numbers come from (held): the
                               served one, or while its table is computed the
                               previous table's (acq_view.c) */
    size_t n_customers;
    size_t n_unpredicted; /* customers without a predicted LTV */
    cohort_set cohorts;
    cohort_channels cc;
    char **names;  /* cc.n_channels channel names (owned) */
    size_t n_dict; /* the first n_dict are the cache dictionary's 1..n_dict */
} app_acq_view;

/* The acq_model of snapshot m over `months` with the settings' margin and
 * discount rate (standard errors 0 where the fit has none). False when m
 * has no spend model (the value is then undefined). */
bool app_acq_model(const cache_model *m, const ltvd_config *cfg, unsigned months,
                   acq_model *a);

/* The value of a new customer under a (acq_value_compute), kept per tenant
 * for the last few (snapshot, months, margin, discount rate): a request
 * for a kept one copies it. */
void app_acq_value(app_tenant *t, const cache_model *m, const acq_model *a,
                   acq_value *out);

/* ------------------------------------------------------------ the spend
 * The tenant's acquisition spend, as an in-memory copy kept with the memo
 * so that a request never reads PostgreSQL: loaded at start-up
 * (app_acq_spend_load, on the start-up connection) and updated with every
 * PUT this process commits (app_acq_spend_merge). A PUT to another process
 * of a fleet reaches this one's copy at its next start (a known gap,
 * docs/acquisition.md). At most APP_ACQ_SPEND_MAX rows are kept. */
#define APP_ACQ_SPEND_MAX 100000

/* Replaces or adds rows s[0..n) (by channel and month) in t's copy.
 * False when out of memory or past APP_ACQ_SPEND_MAX (the copy then keeps
 * what it had, and says so in the log). */
bool app_acq_spend_merge(app_tenant *t, const store_spend *s, size_t n);

/* Loads t's stored spend into its copy (store_spend_page, page by page, at
 * most APP_ACQ_SPEND_MAX rows). Returns 0, or -1 (db->err). */
int app_acq_spend_load(app_tenant *t, store_db *db);

/* The per-tenant memo of the last view (app_tenant.acq). */
struct app_acq_memo;
struct app_acq_memo *app_acq_memo_new(void);
void app_acq_memo_free(struct app_acq_memo *m);

/* The tenant's current view, computed when the memo does not hold one of
 * the current keys. APP_LIST_OK with *out (release it); APP_LIST_NO_MODEL,
 * APP_LIST_BUSY (every list slot taken) or APP_LIST_NO_MEMORY (*out NULL). */
app_list_status app_acq_view_get(app_tenant *t, app_acq_view **out);
void app_acq_view_release(app_acq_view *v);

/* The tenant's per-channel model state (app/acq_chan.h: fitted in the
 * background, never waited for). */
struct app_acq_chan *app_acq_chan_of(app_tenant *t);

/* How many views t computed (one pass each), for tests and the log. */
unsigned long app_acq_passes(app_tenant *t);

#endif

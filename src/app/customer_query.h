/* Customer scores as the customer endpoints serve them, and the list query
 * behind GET /v1/customers (docs/lists.md).
 *
 * Scores: the request's scoring options, the scores, the churn risk and the
 * lifecycle stage of one customer (app_score_compute; http/score_doc.h
 * writes the JSON document).
 *
 * Lists: app_list_run finds one page (filters, sort, key-set cursor) with
 * bounded work. It scans the score table (cache/scores.h) kept for the
 * served snapshot, the service's as_of day and the configured horizon_days
 * and discount_rate by a background thread, so a page is a scan of stored
 * numbers; only the page's items are scored with the request's options.
 * A request the table cannot serve (another as_of, or a sort by
 * expected_purchases or predicted_ltv with other options, or a table still
 * being computed) scores every customer itself: allowed only up to
 * list_rescore_max customers. Every list holds one of a configured share of
 * the HTTP threads, has a time budget, and stops when its client leaves. */
#ifndef LTVD_APP_CUSTOMER_QUERY_H
#define LTVD_APP_CUSTOMER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "cache/cache.h"
#include "config/config.h"
#include "model/clv.h"

/* Days over which p_purchase is given, whatever the horizon. */
#define APP_P_PURCHASE_DAYS 30.0

typedef enum app_risk { APP_RISK_LOW, APP_RISK_MEDIUM, APP_RISK_HIGH } app_risk;

typedef enum app_stage {
    APP_STAGE_NEW,
    APP_STAGE_DEVELOPING,
    APP_STAGE_ESTABLISHED,
    APP_STAGE_SLEEPING,
    APP_STAGE_LOST,
} app_stage;

#define APP_STAGES 5 /* app_stage's values */

/* The scoring options of one request. */
typedef struct app_score_opts {
    long horizon_days;
    double discount_rate;
    double margin;
    int64_t as_of_day;
    /* as_of_day was asked for (as_of=); when not, it is the service's own
     * day, and a customer whose purchases run past it (ingest allows a
     * day of clock skew) is scored as of its last purchase day instead of
     * recomputed from PostgreSQL: such requests never wait on it */
    bool as_of_given;
    /* whose score table ranks the document's predicted LTV (its percentile
     * and spend tier, marketer_fields.h); NULL: none (both null) */
    app_tenant *tenant;
} app_score_opts;

/* Everything served about one customer. */
typedef struct app_score_row {
    cache_score_result r; /* over horizon_days, with the LTV; p_purchase over
                             APP_P_PURCHASE_DAYS */
    app_risk risk;
    app_stage stage;
    /* The acquisition attributes (the cache's own strings; NULL: unknown),
     * set by whoever writes the document: app_score_compute leaves NULL. */
    const char *channel;
    const char *campaign;
    /* The predicted LTV at the score table's options (the tenant's
     * configured ones, the service's day), when a list page took it from
     * the table's row; otherwise the percentile (marketer_fields.h) scores
     * it again. app_score_compute sets has_table_ltv false. */
    bool has_table_ltv;
    double table_ltv;
} app_score_row;

/* The options of the tenant's own view (cfg's horizon, discount rate and
 * margin) as of as_of_day, not asked for: what the whole-base answers
 * (segments, the LTV distribution, the acquisition pass) score with. */
app_score_opts app_score_opts_configured(const ltvd_config *cfg, int64_t as_of_day);

/* Scores s with m: GSL_SUCCESS, or cache_score_summary's code. */
int app_score_compute(const cache_model *m, const cache_summary *s,
                      const app_score_opts *o, const ltvd_config *cfg,
                      app_score_row *out);

/* ------------------------------------------------------------------ lists */

typedef enum app_list_key {
    APP_KEY_CUSTOMER_ID,
    APP_KEY_P_ALIVE,
    APP_KEY_EXPECTED,
    APP_KEY_LTV,
    APP_KEY_SPEND,
    APP_KEY_FREQUENCY,
    APP_KEY_RECENCY,
    APP_KEY_LAST_PURCHASE,
    APP_KEY_COUNT
} app_list_key;

typedef struct app_list_query {
    app_score_opts o;
    app_list_key key;
    bool desc;
    int risk, stage, at_risk; /* -1: any */
    size_t limit;             /* 1..APP_LIST_LIMIT_MAX */
    bool has_cursor;
    double cursor_key;
    char cursor_id[CACHE_ID_MAX + 1];
    /* Called now and then during the work: true when the client is gone
     * (NULL: never). */
    bool (*gone)(void *gone_arg);
    void *gone_arg;
} app_list_query;

#define APP_LIST_LIMIT_MAX 1000

/* One item of a page. id is the cache's own copy (cache_id_ref). */
typedef struct app_list_item {
    const char *id;
    double key;
    app_score_row row;
} app_list_item;

/* Outcomes of app_list_run. */
typedef enum app_list_status {
    APP_LIST_OK,
    APP_LIST_NO_MODEL,
    APP_LIST_NO_MEMORY,
    APP_LIST_DB_FAILED, /* summaries as of a past day need PostgreSQL */
    APP_LIST_BUSY,      /* the list share of the threads is taken */
    APP_LIST_BUDGET,    /* the time budget ran out */
    APP_LIST_GONE,      /* the client left */
    APP_LIST_WARMING,   /* the score table is being computed */
    APP_LIST_TOO_MANY,  /* per-request scoring above list_rescore_max */
} app_list_status;

typedef struct app_list_page {
    app_list_item *items; /* in list order; items[limit], when present, only
                             says a next page exists */
    size_t n;
    /* more customers follow the first min(n, limit) items: true too when a
     * candidate past them could not be scored in full and was left out, so
     * that a short page still has a next_cursor */
    bool more;
    const cache_model *m; /* the snapshot the page was scored with (held) */
    size_t n_failed;      /* customers left out: scores not computable */
    int failure;          /* the code of the first of them */
    bool rescored;        /* every customer was scored for this request */
    size_t n_customers;   /* for APP_LIST_TOO_MANY's message */
} app_list_page;

/* Finds the page of q. Returns APP_LIST_OK with the page in *out, or
 * another status (out->m is NULL for APP_LIST_NO_MODEL). Free the page
 * with app_list_page_free whatever the status. */
app_list_status app_list_run(app_tenant *t, const app_list_query *q, app_list_page *out);

void app_list_page_free(app_list_page *p);

/* The rank cell (cache/scores.h) of a customer with summary s and P(alive)
 * p_alive as of day: risk * APP_STAGES + stage, so that a filter on risk
 * or stage is a set of cells. */
int app_list_cell(const ltvd_config *cfg, const cache_summary *s, double p_alive,
                  int64_t day);

/* The CLV options of a request with model m: months of 30 days (at least
 * one), as the customer endpoints compute them (customer_query.c). */
clv_options app_clv_options(const cache_model *m, long horizon_days, double discount,
                            double margin);

#endif

/* A tenant's subscriptions in memory (issue 11, part B): one record per
 * subscription (its start, renewals made, cancel, amount), the survivor
 * counts of its start cohorts, and the retention model fitted on them,
 * for the subscriber documents and the tenant's retention report.
 *
 * Where the records come from: the whole tenant is read from PostgreSQL at
 * start-up and whenever the tenant's version there (subscription_versions,
 * counted up by every write of any process) differs from the one loaded
 * (the catch-up, app_subs_sync, every cache_sync_ms); a batch committed by
 * this process is applied at once, before it is acknowledged.
 *
 * The rule of churn (docs/subscriptions.md, "The service"): renewal
 * decision t (t >= 1) of a subscription falls t billing periods after its
 * start (calendar months or years; a day past the end of the shorter month
 * is its last day). A subscription survives decision t when it has made at
 * least t renewals (renew events, whatever their date). A cancelled one has
 * churned at its next decision; one neither renewed nor cancelled more than
 * subscription_grace_days past the end of its paid periods has lapsed
 * (churned). Decision t is observed once its date plus the grace period is
 * past (as of the tenant's as_of, else now). Cohorts are the subscriptions
 * of one billing period started in one calendar month (monthly) or year
 * (yearly); a cohort's survivor counts run to the last decision observed for
 * every member, the last count right-censored.
 *
 * The fit (retention_model: sbg or bdw) is made by the catch-up after each
 * look (app_subs_warm), or by the first read that finds none, under the
 * tenant's lock, on the cohorts of one billing period, and kept until the
 * events, the settings or the day change: a fit on at most a few hundred
 * counts plus one pass over the subscriptions (bench/subscriptions.sh:
 * 100,000 monthly subscriptions, 36 cohorts: 37 ms sbg, 184 ms bdw). Amounts are per
 * period; the discount rate is the monthly discount_rate, per year (1 + d)^12 - 1 for
 * yearly subscriptions. */
#ifndef LTVD_APP_SUBS_H
#define LTVD_APP_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "app/db_wait.h"
#include "app/ingest.h"
#include "ingest/subs.h"
#include "model/retention.h"

typedef struct app_subs app_subs;

/* Longest id kept (ingest's default limit). */
#define APP_SUBS_ID_MAX INGEST_ID_BYTES_DEFAULT
/* Most subscriptions listed in a customer document, and cohorts in a
 * retention report (the newest). */
#define APP_SUBS_PER_CUSTOMER_MAX 20
#define APP_SUBS_COHORTS_SHOWN 120
/* Longest horizon in periods of a curve or expected renewals. */
#define APP_SUBS_HORIZON_MAX 1200

/* An empty state (loaded version unknown); NULL when out of memory. */
app_subs *app_subs_new(void);
void app_subs_free(app_subs *s);

/* Stores the valid batch b (subs_batch_parse) within the request bounds of
 * db_wait.h: its order is checked against the stored events in the same
 * transaction (subs_check_order); when it fails, *refused is set, errs holds
 * every error (at most max_errors kept) and nothing is stored. A committed
 * batch is applied to the tenant's records before this returns. */
app_ingest_status app_subs_ingest(app_tenant *t, const subs_batch *b, size_t max_errors,
                                  ingest_errors *errs, bool *refused,
                                  app_ingest_result *out);

/* Reads the tenant's subscriptions from db and replaces the records.
 * 0, or -1 with db->err set (the records are kept). */
int app_subs_load(app_tenant *t, store_db *db);

/* The catch-up: reloads every tenant whose version in PostgreSQL differs
 * from the one loaded. 0, or -1 with db->err set. */
int app_subs_sync(app *a, store_db *db);

/* Makes the fits of the tenant's billing periods now (a no-op while the
 * cached ones hold), so that reads find them made: the catch-up calls it
 * after every look. */
void app_subs_warm(app_tenant *t);

/* Drops the customer's subscriptions from memory (an erasure). */
void app_subs_forget_customer(app_tenant *t, const char *customer_id);

typedef enum app_sub_status {
    APP_SUB_ACTIVE = 0,
    APP_SUB_CANCELLED,
    APP_SUB_LAPSED,
} app_sub_status;

const char *app_sub_status_name(app_sub_status s);

/* One subscriber's document. has_model: a model of its billing period is
 * served (params). has_figures: p_renew, expected_renewals, derl and
 * residual_value hold, the model's at params for a subscriber who has made
 * `renewals` renewals, or 0 for a cancelled or lapsed one (with a model or
 * not); without, note says why (no fit yet). has_derl: derl and
 * residual_value hold too (false with has_figures when the sum does not
 * converge: an sBG with beta <= 1 undiscounted; note says so). */
typedef struct app_sub_doc {
    char id[APP_SUBS_ID_MAX + 1];
    char customer_id[APP_SUBS_ID_MAX + 1];
    subs_period period;
    app_sub_status status;
    int64_t start_s;
    bool cancelled;
    int64_t cancel_s;
    int64_t renewals;
    int64_t paid_through_s; /* the end of the periods paid */
    double amount;          /* of the latest start or renew */
    unsigned horizon;       /* periods of expected_renewals */
    double discount_rate;   /* per period */
    bool has_model, has_figures, has_derl;
    retention_params params;
    double p_renew, expected_renewals, derl, residual_value;
    char note[200];
} app_sub_doc;

/* The subscription id's document: 0, 1 when unknown, -1 when out of
 * memory. */
int app_subs_get(app_tenant *t, const char *id, unsigned horizon, app_sub_doc *out);

/* The customer's subscriptions (at most max, the most recently
 * added first) into
 * out; *total gets how many they have. */
size_t app_subs_of_customer(app_tenant *t, const char *customer_id, unsigned horizon,
                            app_sub_doc *out, size_t max, size_t *total);

/* One cohort as reported. */
typedef struct app_subs_cohort {
    int key; /* months since 1970-01 (monthly) or the year (yearly) */
    size_t n;
    double *survivors; /* survivors[0..n) */
} app_subs_cohort;

/* What the tenant's subscriptions of one billing period say. Figures
 * without a has_ flag set are undefined (null in JSON). */
typedef struct app_subs_period_report {
    subs_period period;
    size_t n_subs, n_active, n_cancelled, n_lapsed;
    size_t n_cohorts;       /* cohorts with a decision observed */
    app_subs_cohort *shown; /* the newest ones, at most APP_SUBS_COHORTS_SHOWN */
    size_t n_shown;
    bool has_fit;
    retention_fit_result fit;
    char note[200];       /* why there is no fit */
    double *curve;        /* S(0..horizon) when has_fit */
    double discount_rate; /* per period */
    bool has_arpa;        /* the mean amount of the active subscriptions */
    double arpa;
    bool has_churn; /* observed churn per period: pooled over cohorts */
    double churn;
    bool has_naive; /* arpa / churn, and discounted alike */
    double naive_value, naive_value_discounted;
    bool has_model_value; /* retention_new_subscriber_value(arpa) */
    double model_value;
} app_subs_period_report;

typedef struct app_subs_report {
    retention_kind kind;
    long grace_days;
    int64_t as_of_s;
    unsigned horizon;
    app_subs_period_report periods[2]; /* month, year */
    bool present[2];                   /* the tenant has subscriptions of it */
} app_subs_report;

/* The tenant's report over horizon periods. 0, or -1 when out of memory
 * (free with app_subs_report_free either way). */
int app_subs_report_make(app_tenant *t, unsigned horizon, app_subs_report *out);
void app_subs_report_free(app_subs_report *r);

/* One acquisition channel's started subscriptions of a billing period
 * (GET /v1/acquisition's "Subscribers"): channel is the cache's own string
 * (valid for the cache's lifetime; NULL: customers of the cache without a
 * channel), sum the sum of their start events' amounts. */
typedef struct app_subs_channel_starts {
    const char *channel;
    double sum;
    size_t count;
} app_subs_channel_starts;

typedef struct app_subs_starts {
    app_subs_channel_starts *ch; /* n of them, owned */
    size_t n;
    double all_sum;   /* every started subscription of the period, the ones */
    size_t all_count; /* whose customer is not in the cache included */
} app_subs_starts;

/* The start amounts of the tenant's started subscriptions of period p by
 * their customer's acquisition channel (the cache's attributes). Kept per
 * period while the records (their epoch) and the cache (its generation:
 * batches and attribute changes) are unchanged: a copy then; otherwise one
 * pass over the records with a cache look-up each, under the tenant's
 * subscriptions lock. No PostgreSQL. 0, or -1 when out of memory; free
 * with app_subs_starts_free either way. */
int app_subs_starts_by_channel(app_tenant *t, subs_period p, app_subs_starts *out);
void app_subs_starts_free(app_subs_starts *s);

#endif

/* GET /v1/customers/{customer_id}: one customer's summary and scores. The
 * summary comes from the cache (from PostgreSQL only when as_of asks for a
 * day before the customer's last cached purchase: app_customer_as_of, a
 * bounded wait, 503 with Retry-After past it) and the model snapshot is
 * held for the duration of the request. The document (score_doc.c):
 *   customer_id, as_of (UTC date), summary {frequency, recency, T (model
 *   periods), period, monetary_value (mean repeat spend), first_purchase,
 *   last_purchase}, p_alive, horizon_days, expected_purchases (over the
 *   horizon), p_purchase (at least one purchase in the next 30 days),
 *   expected_spend and predicted_ltv (null without a spend model), churn_risk
 *   (high below churn_high_below, medium below churn_medium_below, else low),
 *   at_risk (churn_risk is high), lifecycle_stage, model {name, version,
 *   fitted_at}, intervals (90% intervals of p_alive, expected_purchases and
 *   predicted_ltv, or null: intervals_doc.c; this document only, not the
 *   list's; ?intervals=false leaves it out).
 * The LTV runs over round(horizon_days / 30) months (at least one), each
 * discounted at discount_rate, times margin. Until a model is fitted the
 * answer is the 503 problem no-model. */
#include "http/customers.h"

#include <gsl/gsl_errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/db_wait.h"
#include "cache/cache.h"
#include "http/intervals_doc.h"
#include "http/query.h"
#include "http/score_doc.h"
#include "http/subscriptions.h"

static const char *const known_query[] = {SCORE_QUERY_NAMES, "intervals", NULL};

/* Scores s with m and replies (200, or the problem of a scoring failure). */
static http_result reply_score(http_request *req, const char *id, const cache_model *m,
                               const cache_summary *s, const score_opts *o,
                               bool intervals)
{
    score_row row;
    int rc = score_compute(m, s, o, app_tenant_config(req->tenant_ref), &row);
    if (rc != GSL_SUCCESS)
        return score_reply_failure(req, id, rc);
    if (cache_get_attrs(((app_tenant *)req->tenant_ref)->cache, id, &row.channel,
                        &row.campaign) != CACHE_OK)
        row.channel = row.campaign = NULL;
    json_out b = {0};
    score_doc_write(&b, id, m, o, &row);
    if (intervals)
        intervals_doc_member(&b, m, o, &row);
    subscriptions_customer_member(&b, req->tenant_ref, id);
    size_t len = 0;
    char *body = json_out_take(&b, &len);
    return http_reply_owned(req, 200, "application/json", body, len);
}

/* GET /v1/customers/{customer_id} */
static http_result get_customer(http_request *req)
{
    app_tenant *t = req->tenant_ref;
    const char *id = req->params[0];
    http_result res;
    score_opts o;
    bool intervals;
    if (!score_query_known_or_reply(req, known_query, &res) ||
        !score_opts_or_reply(req, &o, &res) ||
        !intervals_doc_wanted_or_reply(req, &intervals, &res))
        return res;
    cache_summary cached, s;
    if (cache_get(t->cache, id, &cached) != CACHE_OK)
        return http_reply_problem(req, PROBLEM_CUSTOMER_NOT_FOUND, NULL, NULL);
    score_mark_stale(req);
    const cache_model *m = cache_snapshot_acquire(t->cache);
    if (m == NULL) { /* before any database work: it could not be scored */
        char why[512];
        app_no_model_detail(t, why, sizeof why);
        return http_reply_problem(req, PROBLEM_NO_MODEL, why, NULL);
    }
    s = cached;          /* the service's own day: never PostgreSQL (app_score_opts) */
    if (o.as_of_given) { /* on an offload thread (has_as_of) */
        char detail[APP_DB_DETAIL_MAX];
        app_as_of_result rc = app_customer_as_of(t, id, &cached, o.as_of_day, &s, detail);
        if (rc != APP_AS_OF_OK) {
            cache_snapshot_release(m);
            return rc == APP_AS_OF_NOT_YET
                       ? http_reply_problem(req, PROBLEM_CUSTOMER_NOT_FOUND,
                                            "the first purchase is after as_of", NULL)
                       : http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE, detail,
                                            NULL);
        }
    }
    res = reply_score(req, id, m, &s, &o, intervals);
    cache_snapshot_release(m);
    return res;
}

/* Whether the request may wait or run long, and so runs on the offload
 * pool (http/offload.h), not on an HTTP thread: an as_of may need the
 * customer's past days from PostgreSQL, and a horizon past
 * list_horizon_days_max sums up to 1,217 monthly terms (tens of ms). */
static bool may_wait(http_request *req)
{
    const char *v = NULL;
    if (http_query(req, "as_of", &v) == 1)
        return true;
    /* a bad value is refused by the handler, wherever it runs */
    return http_query(req, "horizon_days", &v) == 1 && query_decimal_ok(v, true) &&
           strtod(v, NULL) > (double)req->ctx->config->list_horizon_days_max;
}

const http_route customers_routes[] = {
    {"GET", "/v1/customers/{customer_id}", get_customer, 0, NULL, may_wait},
};
const size_t customers_nroutes = sizeof customers_routes / sizeof customers_routes[0];

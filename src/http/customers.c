/* GET /v1/customers/{customer_id}. Everything comes from memory: the
 * customer's summary from the cache and the model snapshot held for the
 * duration of the request. The response:
 *   customer_id, as_of (UTC date), summary {frequency, recency, T (model
 *   periods), period, monetary_value (mean repeat spend), first_purchase,
 *   last_purchase}, p_alive, horizon_days, expected_purchases (over the
 *   horizon), p_purchase (at least one purchase in the next 30 days),
 *   expected_spend and predicted_ltv (null without a spend model), churn_risk
 *   (high below churn_high_below, medium below churn_medium_below, else low),
 *   at_risk (churn_risk is high), model {name, version, fitted_at}.
 * The LTV runs over round(horizon_days / 30) months (at least one), each
 * discounted at discount_rate, times margin. Until a model is fitted the
 * answer is the 503 problem no-model. */
#include "http/customers.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cache/cache.h"
#include "model/clv.h"
#include "summary/summary.h"

/* The scoring options of one request: config defaults, query overrides. */
typedef struct score_opts {
    long horizon_days;
    double discount_rate;
    double margin;
} score_opts;

/* Reads the query parameter name as a number in [lo, hi] into *out (left
 * alone when absent). Returns false after replying 400. */
static bool query_number_or_reply(http_request *req, const char *name, double lo,
                                  double hi, bool integer, double *out, http_result *res)
{
    const char *v = NULL;
    int q = http_query(req, name, &v);
    if (q == 0)
        return true;
    char *end = NULL;
    errno = 0;
    double d = q > 0 ? strtod(v, &end) : NAN;
    if (q < 0 || end == v || *end != '\0' || errno != 0 || !(d >= lo && d <= hi) ||
        (integer && d != floor(d))) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s must be %s in [%g, %g]", name,
                 integer ? "an integer" : "a number", lo, hi);
        *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
        return false;
    }
    *out = d;
    return true;
}

static bool opts_or_reply(http_request *req, score_opts *o, http_result *res)
{
    const ltvd_config *cfg = req->ctx->config;
    double h = (double)cfg->horizon_days;
    o->discount_rate = cfg->discount_rate;
    o->margin = cfg->margin;
    if (!query_number_or_reply(req, "horizon_days", 1, 36500, true, &h, res) ||
        !query_number_or_reply(req, "discount_rate", 0, 1, false, &o->discount_rate,
                               res) ||
        !query_number_or_reply(req, "margin", 0, 1, false, &o->margin, res))
        return false;
    o->horizon_days = (long)h;
    return true;
}

static const char *churn_risk(const ltvd_config *cfg, double p_alive)
{
    if (p_alive < cfg->churn_high_below)
        return "high";
    return p_alive < cfg->churn_medium_below ? "medium" : "low";
}

static json_t *day_json(int64_t day)
{
    char s[11];
    return summary_format_day(day, s) == 0 ? json_string(s) : json_null();
}

/* The response document, or NULL when out of memory. */
static json_t *score_json(const char *id, const cache_model *m, const score_opts *o,
                          int64_t as_of, const cache_score_result *r, double p30,
                          const ltvd_config *cfg)
{
    const char *risk = churn_risk(cfg, r->p_alive);
    json_t *summary = json_pack("{s:I, s:f, s:f, s:s, s:f, s:o, s:o}", "frequency",
                                (json_int_t)r->x, "recency", r->t_x, "T", r->T, "period",
                                m->period_days == 1 ? "day" : "week", "monetary_value",
                                r->m, "first_purchase", day_json(r->summary.first_day),
                                "last_purchase", day_json(r->summary.last_day));
    json_t *model = json_pack("{s:s, s:I, s:f}", "name", m->model->name, "version",
                              (json_int_t)m->version, "fitted_at", m->fitted_at);
    return json_pack("{s:s, s:o, s:o, s:f, s:I, s:f, s:f, s:o, s:o, s:s, s:b, s:o}",
                     "customer_id", id, "as_of", day_json(as_of), "summary", summary,
                     "p_alive", r->p_alive, "horizon_days", (json_int_t)o->horizon_days,
                     "expected_purchases", r->expected, "p_purchase", p30,
                     "expected_spend",
                     r->has_spend ? json_real(r->expected_spend) : json_null(),
                     "predicted_ltv", r->has_spend ? json_real(r->clv) : json_null(),
                     "churn_risk", risk, "at_risk", risk[0] == 'h', "model", model);
}

/* Scores s with m and replies (200, or the problem of a scoring failure). */
static http_result reply_score(http_request *req, const char *id, const cache_model *m,
                               const cache_summary *s, const score_opts *o)
{
    app *a = req->ctx->app;
    int64_t as_of = app_as_of_day(a);
    clv_options clv = {(unsigned)fmax(1, lround((double)o->horizon_days / 30)),
                       o->discount_rate, o->margin,
                       clv_month_periods(m->model, m->period_days)};
    cache_score_result r, r30;
    int rc = cache_score_summary(m, s, as_of, (double)o->horizon_days / m->period_days,
                                 &clv, &r);
    if (rc == GSL_SUCCESS)
        rc = cache_score_summary(m, s, as_of, CUSTOMERS_P_PURCHASE_DAYS / m->period_days,
                                 NULL, &r30);
    if (rc == CACHE_SCORE_NOT_YET)
        return http_reply_problem(req, PROBLEM_CUSTOMER_NOT_FOUND,
                                  "the first purchase is after as_of", NULL);
    if (rc != GSL_SUCCESS) {
        char detail[160];
        snprintf(detail, sizeof detail, "the scores cannot be computed: %s",
                 rc == CACHE_SCORE_AS_OF_EARLY ? "the last purchase is after as_of"
                                               : gsl_strerror(rc));
        return http_reply_problem(req, PROBLEM_INTERNAL, detail, NULL);
    }
    json_t *doc = score_json(id, m, o, as_of, &r, r30.p_purchase, req->ctx->config);
    char *body =
        doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    return http_reply_owned(req, 200, "application/json", body, body ? strlen(body) : 0);
}

/* GET /v1/customers/{customer_id} */
static http_result get_customer(http_request *req)
{
    app *a = req->ctx->app;
    const char *id = req->params[0];
    http_result res;
    score_opts o;
    if (!opts_or_reply(req, &o, &res))
        return res;
    cache_summary s;
    if (cache_get(a->cache, id, &s) != CACHE_OK)
        return http_reply_problem(req, PROBLEM_CUSTOMER_NOT_FOUND, NULL, NULL);
    const cache_model *m = cache_snapshot_acquire(a->cache);
    if (m == NULL)
        return http_reply_problem(req, PROBLEM_NO_MODEL, "no model has been fitted yet",
                                  NULL);
    res = reply_score(req, id, m, &s, &o);
    cache_snapshot_release(m);
    return res;
}

const http_route customers_routes[] = {
    {"GET", "/v1/customers/{customer_id}", get_customer, 0, NULL},
};
const size_t customers_nroutes = sizeof customers_routes / sizeof customers_routes[0];

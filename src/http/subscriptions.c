/* The subscription endpoints (see subscriptions.h): parse, call app/subs.h,
 * reply. Every number goes through num(): a figure that is undefined (no
 * fit yet) or not finite is null, never NaN. */
#include "http/subscriptions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/subs.h"
#include "http/access.h"
#include "http/transactions.h"

static const char *const known_query[] = {"horizon_periods", NULL};

/* ---------------------------------------------------------------- output */

static void num(json_out *b, bool has, double v)
{
    if (has && isfinite(v))
        json_out_real(b, v);
    else
        json_out_raw(b, "null");
}

static void when(json_out *b, bool has, int64_t s)
{
    if (!has) {
        json_out_raw(b, "null");
        return;
    }
    time_t t = (time_t)s;
    struct tm tm;
    char text[32];
    gmtime_r(&t, &tm);
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_out_str(b, text);
}

static void params_out(json_out *b, const retention_params *p, const double *se,
                       bool has_se)
{
    json_out_raw(b, "{\"alpha\":");
    num(b, true, has_se ? se[0] : p->alpha);
    json_out_raw(b, ",\"beta\":");
    num(b, true, has_se ? se[1] : p->beta);
    if (p->kind == RETENTION_BDW) {
        json_out_raw(b, ",\"c\":");
        num(b, true, has_se ? se[2] : p->c);
    }
    json_out_raw(b, "}");
}

/* One subscriber's document (with_customer: its customer_id too). */
static void doc_out(json_out *b, const app_sub_doc *d, bool with_customer)
{
    json_out_raw(b, "{\"subscription_id\":");
    json_out_str(b, d->id);
    if (with_customer) {
        json_out_raw(b, ",\"customer_id\":");
        json_out_str(b, d->customer_id);
    }
    json_out_raw(b, ",\"status\":");
    json_out_str(b, app_sub_status_name(d->status));
    json_out_raw(b, ",\"billing_period\":");
    json_out_str(b, subs_period_name(d->period));
    json_out_raw(b, ",\"started_at\":");
    when(b, true, d->start_s);
    json_out_raw(b, ",\"cancelled_at\":");
    when(b, d->cancelled, d->cancel_s);
    json_out_raw(b, ",\"paid_through\":");
    when(b, true, d->paid_through_s);
    json_out_raw(b, ",\"renewals\":");
    json_out_int(b, (long long)d->renewals);
    json_out_raw(b, ",\"amount\":");
    num(b, true, d->amount);
    json_out_raw(b, ",\"model\":");
    if (d->has_model) {
        json_out_raw(b, "{\"name\":");
        json_out_str(b, retention_kind_name(d->params.kind));
        json_out_raw(b, ",\"params\":");
        params_out(b, &d->params, NULL, false);
        json_out_raw(b, "}");
    } else {
        json_out_raw(b, "null");
    }
    json_out_raw(b, ",\"p_renew\":");
    num(b, d->has_figures, d->p_renew);
    json_out_raw(b, ",\"horizon_periods\":");
    json_out_int(b, d->horizon);
    json_out_raw(b, ",\"expected_renewals\":");
    num(b, d->has_figures, d->expected_renewals);
    json_out_raw(b, ",\"discount_rate_per_period\":");
    num(b, true, d->discount_rate);
    json_out_raw(b, ",\"derl\":");
    num(b, d->has_derl, d->derl);
    json_out_raw(b, ",\"residual_value\":");
    num(b, d->has_derl, d->residual_value);
    if (!d->has_derl) {
        json_out_raw(b, ",\"note\":");
        json_out_str(b, d->note);
    }
    json_out_raw(b, "}");
}

/* horizon_periods (1..APP_SUBS_HORIZON_MAX, default
 * SUBSCRIPTIONS_HORIZON_DEFAULT); false after replying 400. */
static bool horizon_or_reply(http_request *req, unsigned *out, http_result *res)
{
    const char *bad = http_query_unknown(req, known_query), *v = NULL;
    if (bad != NULL) {
        char detail[160];
        snprintf(detail, sizeof detail, "unknown query parameter %.100s", bad);
        *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
        return false;
    }
    *out = SUBSCRIPTIONS_HORIZON_DEFAULT;
    int got = http_query(req, "horizon_periods", &v);
    if (got == 0)
        return true;
    char *end = NULL;
    long h = got > 0 ? strtol(v, &end, 10) : 0;
    if (got < 0 || end == v || *end != '\0' || h < 1 || h > APP_SUBS_HORIZON_MAX) {
        *res =
            http_reply_problem(req, PROBLEM_INVALID_PARAMETER,
                               "horizon_periods must be an integer from 1 to 1200", NULL);
        return false;
    }
    *out = (unsigned)h;
    return true;
}

static http_result reply_json(http_request *req, json_out *b)
{
    size_t len = 0;
    char *body = json_out_take(b, &len);
    return http_reply_owned(req, 200, "application/json", body, len);
}

/* ------------------------------------------------------------ the routes */

static http_result reply_refused(http_request *req, ingest_result r,
                                 const ingest_errors *e, const char *what)
{
    char detail[200];
    switch (r) {
    case INGEST_MALFORMED:
        return http_reply_problem(req, PROBLEM_MALFORMED_JSON,
                                  e->n > 0 ? e->items[0].reason : NULL, NULL);
    case INGEST_TOO_MANY:
        return http_reply_problem(req, PROBLEM_TOO_MANY_ITEMS,
                                  e->n > 0 ? e->items[0].reason : NULL, NULL);
    case INGEST_INVALID:
        snprintf(detail, sizeof detail, "%zu invalid event(s)%s; nothing was stored",
                 e->n_total, what);
        return http_reply_problem(req, PROBLEM_VALIDATION_FAILED, detail,
                                  transactions_errors_json(e));
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
}

static http_result store_events(http_request *req, const subs_batch *b, size_t max_errors)
{
    ingest_errors e = {0};
    bool refused = false;
    app_ingest_result r;
    http_result out;
    switch (app_subs_ingest(req->tenant_ref, b, max_errors, &e, &refused, &r)) {
    case APP_INGEST_OK:
        if (refused) {
            out = reply_refused(req, INGEST_INVALID, &e,
                                " against the events stored or sent with them");
        } else {
            char body[128];
            int n = snprintf(body, sizeof body,
                             "{\"received\":%zu,\"new\":%zu,\"duplicates\":%zu}", b->n,
                             r.n_new, r.n_duplicate);
            out = http_reply(req, 200, "application/json", body, (size_t)n);
        }
        break;
    case APP_INGEST_NO_TENANT:
        out = http_reply_problem(req, PROBLEM_TENANT_NOT_FOUND, r.detail, NULL);
        break;
    case APP_INGEST_UNAVAILABLE:
        out = http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE, r.detail, NULL);
        break;
    default:
        out = http_reply_problem(req, PROBLEM_INTERNAL, r.detail, NULL);
        break;
    }
    ingest_errors_free(&e);
    return out;
}

/* POST /v1/subscriptions */
static http_result post_subscriptions(http_request *req)
{
    const ltvd_config *cfg = req->ctx->config;
    ingest_limits lim = ingest_limits_default((size_t)cfg->max_batch_items);
    subs_batch b;
    ingest_errors e;
    ingest_result r =
        subs_batch_parse(req->body, req->body_len, &lim, (int64_t)time(NULL), &b, &e);
    http_result out;
    if (r != INGEST_OK)
        out = reply_refused(req, r, &e, "");
    else if (access_recheck_or_reply(req, &out))
        out = store_events(req, &b, lim.max_errors);
    subs_batch_free(&b);
    ingest_errors_free(&e);
    return out;
}

/* GET /v1/subscriptions/{subscription_id} */
static http_result get_subscription(http_request *req)
{
    unsigned horizon;
    http_result res;
    if (!horizon_or_reply(req, &horizon, &res))
        return res;
    app_sub_doc d;
    if (app_subs_get(req->tenant_ref, req->params[0], horizon, &d) != 0)
        return http_reply_problem(req, PROBLEM_SUBSCRIPTION_NOT_FOUND, NULL, NULL);
    json_out b = {0};
    doc_out(&b, &d, true);
    return reply_json(req, &b);
}

void subscriptions_customer_member(json_out *b, void *tenant, const char *customer_id)
{
    app_sub_doc *d = malloc(APP_SUBS_PER_CUSTOMER_MAX * sizeof *d);
    size_t total = 0;
    size_t n = d != NULL ? app_subs_of_customer(tenant, customer_id,
                                                SUBSCRIPTIONS_HORIZON_DEFAULT, d,
                                                APP_SUBS_PER_CUSTOMER_MAX, &total)
                         : 0;
    if (n > 0 && !b->failed && b->len > 0 && b->p[b->len - 1] == '}') {
        b->p[--b->len] = '\0'; /* reopen the document */
        json_out_raw(b, ",\"subscriptions\":[");
        for (size_t i = 0; i < n; i++) {
            json_out_raw(b, i > 0 ? "," : "");
            doc_out(b, &d[i], false);
        }
        json_out_raw(b, "]");
        if (total > n) {
            json_out_raw(b, ",\"subscriptions_total\":");
            json_out_int(b, (long long)total);
        }
        json_out_raw(b, "}");
    }
    free(d);
}

/* ------------------------------------------------------------ the report */

static void cohort_label(json_out *b, subs_period p, int key)
{
    char text[16];
    if (p == SUBS_MONTH)
        snprintf(text, sizeof text, "%04d-%02d", 1970 + key / 12, key % 12 + 1);
    else
        snprintf(text, sizeof text, "%04d", key);
    json_out_str(b, text);
}

/* The note beside the naive figure: why the two differ, or what is
 * missing. */
static void gap_note(json_out *b, const app_subs_period_report *p)
{
    char text[600];
    if (!p->has_fit) {
        snprintf(text, sizeof text, "%s", p->note);
    } else if (!p->has_naive) {
        snprintf(text, sizeof text, "no naive figure: %s",
                 !p->has_arpa ? "no active subscription gives an ARPA"
                              : "no churn was observed yet (ARPA / churn is unbounded)");
    } else if (!p->has_model_value) { /* it said "no churn was observed yet" */
        snprintf(text, sizeof text,
                 "no new_subscriber_value: the %s model's value of a new subscriber "
                 "is not finite at discount_rate_per_period %.4g (without discounting "
                 "it is unbounded when beta <= 1: the loyal ones never leave)",
                 retention_kind_name(p->fit.params.kind), p->discount_rate);
    } else {
        double gap = p->model_value - p->naive_value_discounted;
        snprintf(
            text, sizeof text,
            "ARPA / churn takes one constant churn rate (%.4g per period, pooled over "
            "the cohorts) for every subscriber and every period; the %s model lets "
            "subscribers differ, so retention rises with tenure as the ones who stay "
            "are the loyal ones. At the same discount rate the naive formula %s a "
            "new subscriber by %.2f (%.1f%%).",
            p->churn, retention_kind_name(p->fit.params.kind),
            gap >= 0 ? "undervalues" : "overvalues", fabs(gap),
            p->naive_value_discounted > 0 ? 100 * fabs(gap) / p->naive_value_discounted
                                          : 0.0);
    }
    json_out_str(b, text);
}

static void fit_out(json_out *b, const app_subs_period_report *p)
{
    if (!p->has_fit) {
        json_out_raw(b, "null");
        return;
    }
    const fit_result *f = &p->fit.fit;
    json_out_raw(b, "{\"model\":");
    json_out_str(b, retention_kind_name(p->fit.params.kind));
    json_out_raw(b, ",\"params\":");
    params_out(b, &p->fit.params, NULL, false);
    json_out_raw(b, ",\"std_errors\":");
    if (f->std_errors_ok)
        params_out(b, &p->fit.params, f->std_errors, true);
    else
        json_out_raw(b, "null");
    json_out_raw(b, ",\"log_likelihood\":");
    num(b, true, f->log_likelihood);
    json_out_raw(b, f->converged ? ",\"converged\":true}" : ",\"converged\":false}");
}

static void period_out(json_out *b, const app_subs_period_report *p, unsigned horizon)
{
    json_out_raw(b, "{\"billing_period\":");
    json_out_str(b, subs_period_name(p->period));
    json_out_raw(b, ",\"subscriptions\":");
    json_out_int(b, (long long)p->n_subs);
    json_out_raw(b, ",\"active\":");
    json_out_int(b, (long long)p->n_active);
    json_out_raw(b, ",\"cancelled\":");
    json_out_int(b, (long long)p->n_cancelled);
    json_out_raw(b, ",\"lapsed\":");
    json_out_int(b, (long long)p->n_lapsed);
    json_out_raw(b, ",\"cohorts_observed\":");
    json_out_int(b, (long long)p->n_cohorts);
    json_out_raw(b, ",\"cohorts\":[");
    for (size_t i = 0; i < p->n_shown; i++) {
        json_out_raw(b, i > 0 ? ",{\"start\":" : "{\"start\":");
        cohort_label(b, p->period, p->shown[i].key);
        json_out_raw(b, ",\"survivors\":[");
        for (size_t t = 0; t < p->shown[i].n; t++) {
            json_out_raw(b, t > 0 ? "," : "");
            json_out_int(b, (long long)p->shown[i].survivors[t]);
        }
        json_out_raw(b, "]}");
    }
    json_out_raw(b, "],\"fit\":");
    fit_out(b, p);
    json_out_raw(b, ",\"curve\":");
    if (p->has_fit) {
        json_out_raw(b, "[");
        for (unsigned h = 0; h <= horizon; h++) {
            json_out_raw(b, h > 0 ? "," : "");
            num(b, true, p->curve[h]);
        }
        json_out_raw(b, "]");
    } else {
        json_out_raw(b, "null");
    }
    json_out_raw(b, ",\"discount_rate_per_period\":");
    num(b, true, p->discount_rate);
    json_out_raw(b, ",\"arpa\":");
    num(b, p->has_arpa, p->arpa);
    json_out_raw(b, ",\"new_subscriber_value\":");
    num(b, p->has_model_value, p->model_value);
    json_out_raw(b, ",\"naive\":{\"churn\":");
    num(b, p->has_churn, p->churn);
    json_out_raw(b, ",\"value\":");
    num(b, p->has_naive, p->naive_value);
    json_out_raw(b, ",\"value_discounted\":");
    num(b, p->has_naive, p->naive_value_discounted);
    json_out_raw(b, "},\"gap\":");
    num(b, p->has_naive && p->has_model_value,
        p->model_value - p->naive_value_discounted);
    json_out_raw(b, ",\"note\":");
    gap_note(b, p);
    json_out_raw(b, "}");
}

/* GET /v1/subscriptions/retention */
static http_result get_retention(http_request *req)
{
    unsigned horizon;
    http_result res;
    if (!horizon_or_reply(req, &horizon, &res))
        return res;
    app_subs_report r;
    if (app_subs_report_make(req->tenant_ref, horizon, &r) != 0) {
        app_subs_report_free(&r);
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
    json_out b = {0};
    json_out_raw(&b, "{\"model\":");
    json_out_str(&b, retention_kind_name(r.kind));
    json_out_raw(&b, ",\"as_of\":");
    when(&b, true, r.as_of_s);
    json_out_raw(&b, ",\"grace_days\":");
    json_out_int(&b, r.grace_days);
    json_out_raw(&b, ",\"horizon_periods\":");
    json_out_int(&b, horizon);
    json_out_raw(&b, ",\"billing_periods\":[");
    bool first = true;
    for (int p = 0; p < 2; p++) {
        if (!r.present[p])
            continue;
        json_out_raw(&b, first ? "" : ",");
        first = false;
        period_out(&b, &r.periods[p], horizon);
    }
    json_out_raw(&b, "]}");
    app_subs_report_free(&r);
    return reply_json(req, &b);
}

const http_route subscriptions_routes[] = {
    {"POST", "/v1/subscriptions", post_subscriptions, HTTP_BODY_CONFIG,
     "application/json", http_offload_always},
    /* one pass over the tenant's subscriptions: off the HTTP threads */
    {"GET", "/v1/subscriptions/retention", get_retention, 0, NULL, http_offload_always},
    {"GET", "/v1/subscriptions/{subscription_id}", get_subscription, 0, NULL, NULL},
};
const size_t subscriptions_nroutes =
    sizeof subscriptions_routes / sizeof subscriptions_routes[0];

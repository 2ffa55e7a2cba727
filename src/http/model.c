/* GET /v1/model and POST /v1/model/refit. GET answers from memory: the
 * snapshot held for the request and a copy of the worker's status:
 *   model, title, period, as_of (UTC date), params and std_errors (by name;
 *   std_errors null when not available), log_likelihood, converged,
 *   iterations, n_customers, n_patterns, fitted_at (UTC seconds), seconds,
 *   version, spend {model "gg", params, std_errors, log_likelihood,
 *   n_customers, n_customers_zero_spend} or null, settings {model, period,
 *   as_of} (what it was fitted under), fallback (why model is not the
 *   configured one, or null), last_refit {at, outcome "succeeded"|"failed",
 *   reason, reason_code, seconds} or null, refits {succeeded, failed}.
 * Without a snapshot: the 503 no-model problem (its detail says which part
 * of the eligibility rule is not met, or the last failure). POST only
 * signals the worker: fits never run here. */
#include "http/model.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cache/cache.h"
#include "model/gg.h"
#include "summary/summary.h"
#include "worker/worker.h"

static json_t *by_name(const char *const *names, const double *v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        json_object_set_new(o, names[i], json_real(v[i]));
    return o;
}

static json_t *std_errors(const char *const *names, const fit_result *f, size_t n)
{
    return f->std_errors_ok ? by_name(names, f->std_errors, n) : json_null();
}

static json_t *spend_json(const cache_model *m)
{
    if (!m->has_spend)
        return json_null();
    return json_pack("{s:s, s:o, s:o, s:f, s:I, s:I}", "model", "gg", "params",
                     by_name(gg_param_names, m->gg_params, 3), "std_errors",
                     std_errors(gg_param_names, &m->gg_fit, 3), "log_likelihood",
                     m->gg_fit.log_likelihood, "n_customers",
                     (json_int_t)m->gg_n_customers, "n_customers_zero_spend",
                     (json_int_t)m->gg_n_zero);
}

static json_t *last_refit_json(const worker_status *st)
{
    if (st->outcome == WORKER_NONE)
        return json_null();
    bool ok = st->outcome == WORKER_SUCCEEDED;
    return json_pack("{s:f, s:s, s:o, s:o, s:f}", "at", st->attempted_at, "outcome",
                     ok ? "succeeded" : "failed", "reason",
                     ok ? json_null() : json_string(st->reason), "reason_code",
                     ok ? json_null() : json_string(worker_fail_label(st->fail)),
                     "seconds", st->seconds);
}

/* The settings the model was fitted under (it is served only under them). */
static json_t *settings_json(const cache_model *m)
{
    char day[11];
    json_t *as_of = m->settings_as_of_day != CACHE_AS_OF_NOW &&
                            summary_format_day(m->settings_as_of_day, day) == 0
                        ? json_string(day)
                        : json_null();
    return json_pack("{s:s, s:s, s:o}", "model", m->settings_model, "period",
                     m->period_days == 1 ? "day" : "week", "as_of", as_of);
}

/* The response document, or NULL when out of memory. */
static json_t *model_json(const cache_model *m, const worker_status *st)
{
    const btyd_model *b = m->model;
    char day[11];
    int64_t as_of_day = (int64_t)(m->as_of / 86400);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:b, s:I, s:I, s:I, s:f, s:f, s:I, s:o}",
        "model", b->name, "title", b->title, "period",
        m->period_days == 1 ? "day" : "week", "as_of",
        summary_format_day(as_of_day, day) == 0 ? json_string(day) : json_null(),
        "params", by_name(b->param_names, m->params, b->n_params), "std_errors",
        std_errors(b->param_names, &m->fit, b->n_params), "log_likelihood",
        m->fit.log_likelihood, "converged", m->fit.converged, "iterations",
        (json_int_t)m->fit.iterations, "n_customers", (json_int_t)m->n_customers,
        "n_patterns", (json_int_t)m->n_patterns, "fitted_at", m->fitted_at, "seconds",
        m->fit.seconds, "version", (json_int_t)m->version, "spend", spend_json(m));
    if (doc != NULL) {
        json_object_set_new(doc, "settings", settings_json(m));
        json_t *fb = m->fallback[0] != '\0' ? json_string(m->fallback) : json_null();
        json_object_set_new(doc, "fallback", fb);
        json_object_set_new(doc, "last_refit", last_refit_json(st));
        json_object_set_new(doc, "refits",
                            json_pack("{s:I, s:I}", "succeeded",
                                      (json_int_t)st->n_succeeded, "failed",
                                      (json_int_t)st->n_failed));
    }
    return doc;
}

/* GET /v1/model */
static http_result get_model(http_request *req)
{
    app_tenant *t = req->tenant_ref;
    worker_status st = {0};
    if (t->worker != NULL)
        worker_status_get(t->worker, &st);
    const cache_model *m = cache_snapshot_acquire(t->cache);
    if (m == NULL) {
        char detail[WORKER_REASON_MAX + 600];
        app_no_model_detail(t, detail, sizeof detail);
        return http_reply_problem(req, PROBLEM_NO_MODEL, detail, NULL);
    }
    json_t *doc = model_json(m, &st);
    cache_snapshot_release(m);
    char *body =
        doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    return http_reply_owned(req, 200, "application/json", body, body ? strlen(body) : 0);
}

/* POST /v1/model/refit */
static http_result post_refit(http_request *req)
{
    app_tenant *t = req->tenant_ref;
    if (t->worker == NULL)
        return http_reply_problem(req, PROBLEM_NOT_READY, "no refit worker is running",
                                  NULL);
    worker_request(t->worker);
    static const char body[] = "{\"status\":\"scheduled\"}";
    return http_reply(req, 202, "application/json", body, sizeof body - 1);
}

const http_route model_routes[] = {
    {"GET", "/v1/model", get_model, 0, NULL, NULL},
    {"POST", "/v1/model/refit", post_refit, 0, NULL, NULL},
};
const size_t model_nroutes = sizeof model_routes / sizeof model_routes[0];

/* GET /v1/acquisition?months=N&target_ratio=R and GET /v1/cohorts?by=month
 * (and their /v1/tenants/{tenant}/ forms): the acquisition and cohort
 * answers of docs/acquisition.md, from the tenant's cache and served model
 * (app/acq_view.h: one pass kept while nothing changes), as
 * http/acq_doc.h's documents. months 1..1200 (default 36), target_ratio a
 * number > 0 (default 3), by "month" (the only grouping). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/acq_view.h"
#include "http/acq_doc.h"
#include "http/customers.h"
#include "http/score_doc.h"
#include "summary/summary.h"

/* Reads query parameter name as a number into *v (left as is when absent).
 * False after a 400 reply. */
static bool number_param(http_request *req, const char *name, double *v, bool whole,
                         double lo, double hi, http_result *res)
{
    const char *s;
    int q = http_query(req, name, &s);
    if (q == 0)
        return true;
    double d;
    if (q == 1 && summary_parse_number(s, &d) == 0 && d >= lo && d <= hi &&
        (!whole || d == floor(d)) && (lo > 0 || d > 0)) {
        *v = d;
        return true;
    }
    char detail[300];
    snprintf(detail, sizeof detail, "%s must be %s, not \"%.100s\"", name,
             whole ? "a whole number of months from 1 to 1200" : "a number above 0",
             q == 1 ? s : "");
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    return false;
}

static bool known_only(http_request *req, const char *const *known, const char *what,
                       http_result *res)
{
    const char *bad = http_query_unknown(req, known);
    if (bad == NULL)
        return true;
    char detail[300];
    snprintf(detail, sizeof detail, "unknown query parameter \"%.200s\": %s", bad, what);
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    return false;
}

static http_result reply_doc(http_request *req, json_t *doc)
{
    char *body =
        doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    return http_reply_owned(req, 200, "application/json", body, body ? strlen(body) : 0);
}

/* The view, or a failure already replied (NULL). */
static app_acq_view *view_or_reply(http_request *req, http_result *res)
{
    score_mark_stale(req);
    app_acq_view *v;
    app_list_status st = app_acq_view_get(req->tenant_ref, &v);
    if (st != APP_LIST_OK)
        *res = customer_list_reply_failure(req, st, 0);
    return v;
}

/* GET /v1/acquisition */
static http_result get_acquisition(http_request *req)
{
    static const char *const known[] = {"months", "target_ratio", NULL};
    http_result res = HTTP_REPLIED;
    double months = 36, ratio = 3;
    if (!known_only(req, known, "GET /v1/acquisition takes months and target_ratio",
                    &res) ||
        !number_param(req, "months", &months, true, 1, ACQ_MAX_MONTHS, &res) ||
        !number_param(req, "target_ratio", &ratio, false, 0, 1e300, &res))
        return res;
    app_acq_view *v = view_or_reply(req, &res);
    if (v == NULL)
        return res;
    const ltvd_config *cfg = app_tenant_config(req->tenant_ref);
    acq_model a;
    bool valued = app_acq_model(v->m, cfg, (unsigned)months, &a);
    acq_value *value = valued ? malloc(sizeof *value) : NULL;
    if (value != NULL)
        app_acq_value(req->tenant_ref, v->m, &a, value);
    json_t *prov =
        acq_doc_provenance(&a, (long long)v->m->version, v->m->fitted_at, valued);
    acq_doc_in in = {.model = value != NULL ? &a : NULL,
                     .value = value,
                     .provenance = prov,
                     .names = (const char *const *)v->names,
                     .cc = &v->cc,
                     .target_ratio = ratio,
                     .as_of_day = v->as_of_day};
    const char *why = "out of memory";
    json_t *doc = acq_doc_acquisition(&in, &why);
    json_decref(prov);
    free(value);
    app_acq_view_release(v);
    if (doc == NULL)
        return http_reply_problem(req, PROBLEM_INTERNAL, why, NULL);
    return reply_doc(req, doc);
}

/* GET /v1/cohorts */
static http_result get_cohorts(http_request *req)
{
    static const char *const known[] = {"by", NULL};
    http_result res = HTTP_REPLIED;
    if (!known_only(req, known, "GET /v1/cohorts takes by", &res))
        return res;
    const char *by;
    if (http_query(req, "by", &by) == 1 && strcmp(by, "month") != 0) {
        char detail[300];
        snprintf(detail, sizeof detail, "by must be \"month\", not \"%.100s\"", by);
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    }
    app_acq_view *v = view_or_reply(req, &res);
    if (v == NULL)
        return res;
    const ltvd_config *cfg = app_tenant_config(req->tenant_ref);
    acq_model a;
    bool valued = app_acq_model(v->m, cfg, 1, &a);
    json_t *prov =
        acq_doc_provenance(&a, (long long)v->m->version, v->m->fitted_at, valued);
    json_t *doc = acq_doc_cohorts(&v->cohorts, prov, v->as_of_day);
    json_decref(prov);
    app_acq_view_release(v);
    return reply_doc(req, doc);
}

const http_route acq_answer_routes[] = {
    {"GET", "/v1/acquisition", get_acquisition, 0, NULL, http_offload_always},
    {"GET", "/v1/cohorts", get_cohorts, 0, NULL, http_offload_always},
};
const size_t acq_answer_nroutes = sizeof acq_answer_routes / sizeof acq_answer_routes[0];

/* GET /v1/segments: how many customers are in each churn risk and
 * lifecycle stage, as of the service's day with the served model
 * (app/segments.h). No query parameters. Body:
 *   {"as_of": "YYYY-MM-DD", "customers": N (counted), "unscored": N,
 *    "churn_risk": {"low": N, "medium": N, "high": N},
 *    "lifecycle_stage": {"new": N, "developing": N, "established": N,
 *                        "sleeping": N, "lost": N},
 *    "segments": [{"churn_risk", "lifecycle_stage", "customers"}, ...]
 *                (every pair, zeros included),
 *    "model": {"name", "version", "fitted_at"}} */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "app/segments.h"
#include "http/customers.h"
#include "http/score_doc.h"
#include "summary/summary.h"

static json_t *doc_of(const app_segments *g)
{
    char day[16];
    if (summary_format_day(g->as_of_day, day) != 0)
        return NULL;
    json_t *risk = json_object(), *stage = json_object(), *pairs = json_array();
    size_t by_stage[APP_STAGES] = {0};
    for (int r = 0; r < APP_RISKS; r++) {
        size_t n = 0;
        for (int s = 0; s < APP_STAGES; s++) {
            n += g->counts[r][s];
            by_stage[s] += g->counts[r][s];
            json_array_append_new(
                pairs,
                json_pack("{s:s, s:s, s:I}", "churn_risk", score_risk_name((score_risk)r),
                          "lifecycle_stage", score_stage_name((score_stage)s),
                          "customers", (json_int_t)g->counts[r][s]));
        }
        json_object_set_new(risk, score_risk_name((score_risk)r),
                            json_integer((json_int_t)n));
    }
    for (int s = 0; s < APP_STAGES; s++)
        json_object_set_new(stage, score_stage_name((score_stage)s),
                            json_integer((json_int_t)by_stage[s]));
    return json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:{s:s, s:I, s:f}}", "as_of", day,
                     "customers", (json_int_t)g->n_counted, "unscored",
                     (json_int_t)g->n_failed, "churn_risk", risk, "lifecycle_stage",
                     stage, "segments", pairs, "model", "name", g->m->model->name,
                     "version", (json_int_t)g->m->version, "fitted_at", g->m->fitted_at);
}

/* GET /v1/segments */
static http_result get_segments(http_request *req)
{
    static const char *const known[] = {NULL};
    const char *bad = http_query_unknown(req, known);
    if (bad != NULL) {
        char detail[300];
        snprintf(detail, sizeof detail, "unknown query parameter \"%.200s\": %s", bad,
                 "GET /v1/segments takes none");
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    }
    score_mark_stale(req);
    app_segments g;
    app_list_status st = app_segments_run(req->tenant_ref, &g);
    http_result res;
    if (st != APP_LIST_OK) {
        res = customer_list_reply_failure(req, st, g.n_customers);
    } else {
        json_t *doc = doc_of(&g);
        char *body =
            doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(doc);
        res =
            http_reply_owned(req, 200, "application/json", body, body ? strlen(body) : 0);
    }
    app_segments_free(&g);
    return res;
}

const http_route segments_routes[] = {
    {"GET", "/v1/segments", get_segments, 0, NULL, http_offload_always},
};
const size_t segments_nroutes = sizeof segments_routes / sizeof segments_routes[0];

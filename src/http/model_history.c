/* GET /v1/model/diagnostics and GET /v1/model/history (model_history.h):
 * parse, call app/model_diag.h, reply. Both read PostgreSQL, so they run on
 * the offload pool (http_offload_always). Bodies:
 *   diagnostics: {"version", "fitted_at", "backtest": {...} | null,
 *                 "reason": text | null}; the no-model problem without a
 *                 served snapshot;
 *   history:     {"snapshots": [...]} newest first; ?limit=1..100
 *                (default 20), anything else 400 invalid-parameter. */
#include "http/model_history.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/model_diag.h"
#include "http/json_body.h"
#include "http/query.h"
#include "worker/worker.h"

/* The reply to a status other than APP_DIAG_OK, or to a document. */
static http_result reply(http_request *req, app_diag_status st, json_t *doc,
                         const char *detail)
{
    app_tenant *t = req->tenant_ref;
    switch (st) {
    case APP_DIAG_OK:
        break;
    case APP_DIAG_NO_MODEL: {
        char why[WORKER_REASON_MAX + 600];
        app_no_model_detail(t, why, sizeof why);
        return http_reply_problem(req, PROBLEM_NO_MODEL, why, NULL);
    }
    case APP_DIAG_UNAVAILABLE:
        return http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE, detail, NULL);
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
    return json_body_reply(req, 200, doc, 17);
}

/* GET /v1/model/diagnostics */
static http_result get_diagnostics(http_request *req)
{
    static const char *const known[] = {NULL};
    http_result res;
    if (!query_known_only_or_reply(req, known, "GET /v1/model/diagnostics takes none",
                                   &res))
        return res;
    json_t *doc = NULL;
    char detail[APP_DB_DETAIL_MAX] = "";
    app_diag_status st = app_model_diagnostics(req->tenant_ref, &doc, detail);
    return reply(req, st, doc, detail);
}

/* GET /v1/model/history */
static http_result get_history(http_request *req)
{
    static const char *const known[] = {"limit", NULL};
    http_result res;
    if (!query_known_only_or_reply(req, known, "GET /v1/model/history takes limit", &res))
        return res;
    double limit = APP_HISTORY_DEFAULT;
    if (!query_number(req, "limit", 1, APP_HISTORY_MAX, true, &limit, &res))
        return res;
    json_t *doc = NULL;
    char detail[APP_DB_DETAIL_MAX] = "";
    app_diag_status st = app_model_history(req->tenant_ref, (int)limit, &doc, detail);
    return reply(req, st, doc, detail);
}

const http_route model_history_routes[] = {
    {"GET", "/v1/model/diagnostics", get_diagnostics, 0, NULL, http_offload_always},
    {"GET", "/v1/model/history", get_history, 0, NULL, http_offload_always},
};
const size_t model_history_nroutes =
    sizeof model_history_routes / sizeof model_history_routes[0];

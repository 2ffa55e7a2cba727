/* POST /v1/transactions. The body is parsed and validated as a whole
 * (ingest/batch.h) before anything is written; a valid batch is handed to
 * app_ingest_batch (app/ingest.h: one PostgreSQL transaction, then the
 * cache), and acknowledged with its counts, or answered 503 (with
 * Retry-After) when PostgreSQL failed, timed out or had no slot free. */
#include "http/transactions.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app/ingest.h"
#include "http/access.h"
#include "ingest/batch.h"

json_t *transactions_errors_json(const ingest_errors *e)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < e->n; i++) {
        const ingest_error *x = &e->items[i];
        json_t *o = json_pack("{s:I, s:o, s:s?}", "index", (json_int_t)x->index, "field",
                              x->field != NULL ? json_string(x->field) : json_null(),
                              "reason", x->reason);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Answers a batch the parser refused: 400, 413 or 422 (500 when out of
 * memory). */
static http_result reply_refused(http_request *req, ingest_result r,
                                 const ingest_errors *e)
{
    const char *first = e->n > 0 ? e->items[0].reason : NULL;
    char detail[160];
    switch (r) {
    case INGEST_MALFORMED:
        return http_reply_problem(req, PROBLEM_MALFORMED_JSON, first, NULL);
    case INGEST_TOO_MANY:
        return http_reply_problem(req, PROBLEM_TOO_MANY_ITEMS, first, NULL);
    case INGEST_INVALID:
        snprintf(detail, sizeof detail, "%zu invalid item(s); nothing was stored",
                 e->n_total);
        return http_reply_problem(req, PROBLEM_VALIDATION_FAILED, detail,
                                  transactions_errors_json(e));
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
}

/* Stores the batch and applies it to the cache (app_ingest_batch); replies. */
static http_result store_batch(http_request *req, const ingest_batch *b)
{
    app_ingest_result r;
    switch (app_ingest_batch(req->tenant_ref, b, &r)) {
    case APP_INGEST_OK:
        break;
    case APP_INGEST_NO_TENANT:
        return http_reply_problem(req, PROBLEM_TENANT_NOT_FOUND, r.detail, NULL);
    case APP_INGEST_UNAVAILABLE:
        return http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE, r.detail, NULL);
    case APP_INGEST_READ_ONLY:
        return http_reply_problem(req, PROBLEM_READ_ONLY, r.detail, NULL);
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, r.detail, NULL);
    }
    char body[128];
    int n =
        snprintf(body, sizeof body, "{\"received\":%zu,\"new\":%zu,\"duplicates\":%zu}",
                 b->n, r.n_new, r.n_duplicate);
    return http_reply(req, 200, "application/json", body, (size_t)n);
}

/* POST /v1/transactions */
static http_result post_transactions(http_request *req)
{
    const ltvd_config *cfg = req->ctx->config;
    ingest_limits lim = ingest_limits_default((size_t)cfg->max_batch_items);
    ingest_batch b;
    ingest_errors e;
    ingest_result r =
        ingest_batch_parse(req->body, req->body_len, &lim, (int64_t)time(NULL), &b, &e);
    http_result out;
    if (r != INGEST_OK)
        out = reply_refused(req, r, &e);
    else if (access_recheck_or_reply(req, &out)) /* the body may have taken a while */
        out = store_batch(req, &b);
    ingest_batch_free(&b);
    ingest_errors_free(&e);
    return out;
}

const http_route transactions_routes[] = {
    {"POST", "/v1/transactions", post_transactions, HTTP_BODY_CONFIG, "application/json",
     http_offload_always},
};
const size_t transactions_nroutes =
    sizeof transactions_routes / sizeof transactions_routes[0];

/* POST /v1/transactions. The body is parsed and validated as a whole
 * (ingest/batch.h) before anything is written; a valid batch goes into
 * PostgreSQL in one transaction on a pooled connection; only after COMMIT
 * is the cache updated and the batch acknowledged with its counts. */
#include "http/transactions.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app/app.h"
#include "ingest/batch.h"
#include "store/ingest.h"

static http_result reply_db_unavailable(http_request *req, const char *detail)
{
    return http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE, detail, NULL);
}

/* The parser's errors as the problem's `errors` array, or NULL. */
static json_t *errors_json(const ingest_errors *e)
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
        return http_reply_problem(req, PROBLEM_VALIDATION_FAILED, detail, errors_json(e));
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
}

/* Stores the batch and applies it to the cache; replies. */
static http_result store_batch(http_request *req, const ingest_batch *b)
{
    app *a = req->ctx->app;
    store_item *items = malloc(b->n * sizeof *items);
    if (items == NULL)
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    for (size_t i = 0; i < b->n; i++)
        ingest_item_to_store(&b->items[i], &items[i]);
    store_db *db = store_pool_acquire(a->pool, APP_POOL_WAIT_MS);
    if (db == NULL) {
        free(items);
        if (app_db_down_since(a) != 0)
            return reply_db_unavailable(req, "the database is unavailable");
        return reply_db_unavailable(req, "no database connection became free in time");
    }
    store_batch_result r = {0};
    store_batch_opts opts = {&a->gate, app_days_hint, a};
    int rc = store_insert_batch(db, items, b->n, &opts, &r);
    free(items);
    if (rc != 0) {
        app_db_failed(a);
        char detail[256];
        snprintf(detail, sizeof detail,
                 "the batch was not acknowledged (%.100s); resending it is safe: "
                 "items already stored count as duplicates",
                 store_db_error(db));
        store_pool_release(a->pool, db);
        return reply_db_unavailable(req, detail);
    }
    /* committed: from here on the batch is stored whatever happens */
    app_db_ok(a);
    store_pool_release(a->pool, db);
    int crc = app_batch_committed(a, &r);
    pthread_rwlock_unlock(&a->gate);
    app_note_ingested(a, r.n_new, r.n_duplicate);
    http_result out;
    if (crc != CACHE_OK) {
        out = http_reply_problem(req, PROBLEM_INTERNAL,
                                 "stored, but the cache could not be updated", NULL);
    } else {
        char body[128];
        int n = snprintf(body, sizeof body,
                         "{\"received\":%zu,\"new\":%zu,\"duplicates\":%zu}", b->n,
                         r.n_new, r.n_duplicate);
        out = http_reply(req, 200, "application/json", body, (size_t)n);
    }
    store_batch_result_free(&r);
    return out;
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
    http_result out = r == INGEST_OK ? store_batch(req, &b) : reply_refused(req, r, &e);
    ingest_batch_free(&b);
    ingest_errors_free(&e);
    return out;
}

const http_route transactions_routes[] = {
    {"POST", "/v1/transactions", post_transactions, HTTP_BODY_CONFIG, "application/json"},
};
const size_t transactions_nroutes =
    sizeof transactions_routes / sizeof transactions_routes[0];

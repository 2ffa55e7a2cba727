/* POST /v1/transactions: validated, all-or-nothing, idempotent batches,
 * acknowledged after their PostgreSQL commit and applied to the cache. */
#ifndef LTVD_HTTP_TRANSACTIONS_H
#define LTVD_HTTP_TRANSACTIONS_H

#include <stddef.h>

#include <jansson.h>

#include "http/http.h"
#include "ingest/batch.h"

/* A batch's refused items (ingest/batch.h) as a problem's `errors` array
 * ({"index", "field", "reason"} each), or NULL when out of memory; shared
 * by every batch route (transactions, subscriptions). */
json_t *transactions_errors_json(const ingest_errors *e);

/* The routes; req->ctx->app must be an app (app/app.h). */
extern const http_route transactions_routes[];
extern const size_t transactions_nroutes;

#endif

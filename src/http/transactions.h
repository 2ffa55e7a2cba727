/* POST /v1/transactions: validated, all-or-nothing, idempotent batches,
 * acknowledged after their PostgreSQL commit and applied to the cache. */
#ifndef LTVD_HTTP_TRANSACTIONS_H
#define LTVD_HTTP_TRANSACTIONS_H

#include <stddef.h>

#include "http/http.h"

/* The routes; req->ctx->app must be an app (app/app.h). */
extern const http_route transactions_routes[];
extern const size_t transactions_nroutes;

#endif

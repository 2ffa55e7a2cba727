/* The customer endpoints: GET /v1/customers/{customer_id} (one customer's
 * summary and live scores, customers.c) and GET /v1/customers (filtered,
 * sorted, cursor-paginated lists, customer_list.c), from the cache and the
 * current model snapshot. */
#ifndef LTVD_HTTP_CUSTOMERS_H
#define LTVD_HTTP_CUSTOMERS_H

#include <stddef.h>

#include "http/http.h"

/* The routes; req->ctx->app must be an app (app/app.h). */
extern const http_route customers_routes[];
extern const size_t customers_nroutes;
extern const http_route customer_list_routes[];
extern const size_t customer_list_nroutes;

#endif

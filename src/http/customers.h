/* GET /v1/customers/{customer_id}: one customer's summary and live scores
 * from the cache and the current model snapshot. */
#ifndef LTVD_HTTP_CUSTOMERS_H
#define LTVD_HTTP_CUSTOMERS_H

#include <stddef.h>

#include "http/http.h"

/* Days over which p_purchase is given, whatever the horizon. */
#define CUSTOMERS_P_PURCHASE_DAYS 30.0

/* The routes; req->ctx->app must be an app (app/app.h). */
extern const http_route customers_routes[];
extern const size_t customers_nroutes;

#endif

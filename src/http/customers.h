/* The customer endpoints: GET /v1/customers/{customer_id} (one customer's
 * summary and live scores, customers.c), GET /v1/customers (filtered,
 * sorted, cursor-paginated lists, customer_list.c) and GET /v1/segments
 * (customers per churn risk and lifecycle stage, segments.c) and GET
 * /v1/customers/export (every customer's document, streamed, export.c),
 * from the cache and the current model snapshot. */
#ifndef LTVD_HTTP_CUSTOMERS_H
#define LTVD_HTTP_CUSTOMERS_H

#include <stddef.h>

#include "app/customer_query.h"
#include "http/http.h"

/* The routes; req->ctx->app must be an app (app/app.h). */
extern const http_route customers_routes[];
extern const size_t customers_nroutes;
extern const http_route customer_list_routes[];
extern const size_t customer_list_nroutes;
extern const http_route segments_routes[];
extern const size_t segments_nroutes;
/* GET /v1/acquisition, GET /v1/cohorts (acq_answers.c) */
extern const http_route acq_answer_routes[];
extern const size_t acq_answer_nroutes;
/* GET /v1/customers/export (export.c): before customers_routes in a
 * router, as "/v1/customers/{customer_id}" matches it too. */
extern const http_route customer_export_routes[];
extern const size_t customer_export_nroutes;

/* The problem reply of a list (or segment count) that did not come to an
 * answer, st not APP_LIST_OK; n_customers for the messages that name it. */
http_result customer_list_reply_failure(http_request *req, app_list_status st,
                                        size_t n_customers);

/* Reads a next_cursor of GET /v1/customers made for sort ("-p_alive", ...):
 * "<sort>.<16 lowercase hex digits: the key's bits>.<the id in lowercase
 * hex>". Sets *key (never NaN) and id (NUL-terminated, no NUL inside, at
 * most id_cap - 1 bytes) and returns true; false when c is not such a
 * cursor (*key and id may then be partly written). */
bool customer_list_cursor_parse(const char *sort, const char *c, double *key, char *id,
                                size_t id_cap);

#endif

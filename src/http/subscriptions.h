/* The subscription endpoints (issue 11, part B; docs/subscriptions.md, "The
 * service"): POST /v1/subscriptions (events, all or nothing, idempotent by
 * (subscription_id, id), acknowledged after their commit), GET
 * /v1/subscriptions/retention (the tenant's retention curve, model, the
 * value of a new subscriber beside the naive ARPA / churn) and GET
 * /v1/subscriptions/{subscription_id} (a subscriber's document); and the
 * `subscriptions` member of a customer document. */
#ifndef LTVD_HTTP_SUBSCRIPTIONS_H
#define LTVD_HTTP_SUBSCRIPTIONS_H

#include <stddef.h>

#include "http/http.h"
#include "http/json_out.h"

extern const http_route subscriptions_routes[];
extern const size_t subscriptions_nroutes;

/* Periods of expected_renewals and of the retention curve when the request
 * does not say (horizon_periods). */
#define SUBSCRIPTIONS_HORIZON_DEFAULT 12

/* b holds a complete customer document (an object): when the customer has
 * subscriptions, adds the member "subscriptions" (at most
 * APP_SUBS_PER_CUSTOMER_MAX summaries, with "subscriptions_total" when
 * there are more) before its closing brace; else leaves it. */
void subscriptions_customer_member(json_out *b, void *tenant, const char *customer_id);

#endif

/* The "intervals" member of a customer document: 90% intervals of p_alive,
 * expected_purchases and predicted_ltv from the uncertainty of the served
 * snapshot's parameters (model/intervals.h, docs/intervals.md). Served by
 * GET /v1/customers/{customer_id} unless ?intervals=false; list pages and
 * exports leave it out (their cost stays that of the point scores). */
#ifndef LTVD_HTTP_INTERVALS_DOC_H
#define LTVD_HTTP_INTERVALS_DOC_H

#include <stdbool.h>

#include "cache/cache.h"
#include "http/http.h"
#include "http/json_out.h"
#include "http/score_doc.h"

/* b holds a complete customer document (an object) written for row with m
 * and o: adds the member
 *   "intervals": {"level": 0.9, "p_alive": [lo, hi],
 *                 "expected_purchases": [lo, hi], "predicted_ltv": [lo, hi] | null}
 * before its closing brace, or "intervals": null when the snapshot has no
 * usable covariance of the purchase model (a snapshot from before
 * migration 015, a Hessian that was not negative definite). predicted_ltv
 * is null without a spend model or its covariance. Costs about nine
 * scorings of the customer (2n + 1 evaluations, n parameters). */
void intervals_doc_member(json_out *b, const cache_model *m, const score_opts *o,
                          const score_row *row);

/* The query parameter "intervals" (true, the default, or false: the
 * member is left out and nothing computed) into *want. Returns false after
 * replying 400 invalid-parameter to another value. */
bool intervals_doc_wanted_or_reply(http_request *req, bool *want, http_result *res);

#endif

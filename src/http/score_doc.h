/* One customer's scores as the customer endpoints serve them, shared by
 * GET /v1/customers/{customer_id} and the list GET /v1/customers: the
 * request's scoring options (config defaults, query overrides, as_of), the
 * summary as of the requested day (from the cache, or from PostgreSQL when
 * the cache is ahead of that day), the scores, the churn risk and lifecycle
 * labels, and the JSON document of one customer. */
#ifndef LTVD_HTTP_SCORE_DOC_H
#define LTVD_HTTP_SCORE_DOC_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/customer_query.h"
#include "cache/cache.h"
#include "http/http.h"
#include "http/json_out.h"

/* The score types are the app's (app/customer_query.h), under the names
 * the customer endpoints use. */
#define SCORE_P_PURCHASE_DAYS APP_P_PURCHASE_DAYS
typedef app_risk score_risk;
#define SCORE_RISK_LOW APP_RISK_LOW
#define SCORE_RISK_MEDIUM APP_RISK_MEDIUM
#define SCORE_RISK_HIGH APP_RISK_HIGH
typedef app_stage score_stage;
typedef app_score_opts score_opts;
typedef app_score_row score_row;

/* The query parameters score_opts_or_reply reads (for http_query_unknown). */
#define SCORE_QUERY_NAMES "horizon_days", "discount_rate", "margin", "as_of"

/* Fills o from the config and the query parameters horizon_days,
 * discount_rate, margin and as_of. Returns false after replying 400. */
bool score_opts_or_reply(http_request *req, score_opts *o, http_result *res);

/* Refuses (400, returns false) a query parameter not in known. */
bool score_query_known_or_reply(http_request *req, const char *const *known,
                                http_result *res);

/* The response header of reads served while PostgreSQL fails: the cache may
 * miss what other writers stored since (its value says since when). */
#define SCORE_STALE_HEADER "Ltvd-Data-Stale"

/* Adds SCORE_STALE_HEADER to req's response when PostgreSQL is failing. */
void score_mark_stale(http_request *req);

/* Scores s with m: app_score_compute. */
int score_compute(const cache_model *m, const cache_summary *s, const score_opts *o,
                  const ltvd_config *cfg, score_row *out);

/* The problem reply of a score_compute failure. */
http_result score_reply_failure(http_request *req, const char *id, int rc);

/* Appends the document of one customer to b (json_out.h: what json_dumps
 * would write for the same object, keys in this order). */
void score_doc_write(json_out *b, const char *id, const cache_model *m,
                     const score_opts *o, const score_row *row);

const char *score_risk_name(score_risk r);
const char *score_stage_name(score_stage s);

/* Parse the names above; return -1 for an unknown name. */
int score_risk_parse(const char *s);
int score_stage_parse(const char *s);

#endif

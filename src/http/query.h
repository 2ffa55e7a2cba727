/* The one reader of query strings (?name=value&...), for every route: the
 * dispatcher checks the whole query once its head is in (query_check), and
 * handlers then read names with http_query (http.h) and numbers with
 * query_number, which accept only plain decimal text. Every refusal is a
 * 400 invalid-parameter problem naming the parameter. */
#ifndef LTVD_HTTP_QUERY_H
#define LTVD_HTTP_QUERY_H

#include <stdbool.h>

#include "http/http.h"

/* At most this many query parameters per request (handlers know about a
 * dozen names; the bound keeps the duplicate check cheap). */
#define QUERY_MAX_PARAMS 32

/* Checks req's whole query: at most QUERY_MAX_PARAMS parameters, each with
 * a name and a '=' (an empty value is a value), none repeated, names and
 * values valid percent-encoding of UTF-8 without control characters (C0,
 * DEL, C1). Returns true when it is fine; else false with req->pending set
 * to PROBLEM_INVALID_PARAMETER and req->pending_detail naming the
 * parameter. A '+' reaches us as a space (libmicrohttpd decodes it). */
bool query_check(http_request *req);

/* Reads the query parameter name as a plain decimal number in [lo, hi] into
 * *out, left alone when absent: for an integer, -?(0|[1-9][0-9]*); for a
 * real, that with an optional .digits and e[+-]digits (JSON's grammar). No
 * '+', spaces, hexadecimal, inf or nan. Returns false after replying 400
 * invalid-parameter (*res). */
bool query_number(http_request *req, const char *name, double lo, double hi, bool integer,
                  double *out, http_result *res);

/* Whether req's query names only parameters of known (NULL-terminated).
 * Returns true when it does; else false after replying 400
 * invalid-parameter (*res) naming the first unknown one, followed by
 * takes (what the route does take, e.g. "it takes limit"). */
bool query_known_only_or_reply(http_request *req, const char *const *known,
                               const char *takes, http_result *res);

/* Plain decimal text by query_number's grammar (integer: digits only). */
bool query_decimal_ok(const char *s, bool integer);

#endif

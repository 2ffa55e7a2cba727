/* JSON bodies built with jansson: the request body of the routes that take
 * one JSON object (tenant management, acquisition inputs), parsed once,
 * duplicate members refused, anything else answered with the one 400
 * malformed-json problem; and a jansson document as the reply's body. */
#ifndef LTVD_HTTP_JSON_BODY_H
#define LTVD_HTTP_JSON_BODY_H

#include <jansson.h>

#include "http/http.h"

/* req's body as a JSON object (the caller owns it: json_decref), or NULL
 * after setting *res to a 400 malformed-json problem saying why (no body,
 * not JSON, a member twice, not an object). */
json_t *json_body_object_or_reply(http_request *req, http_result *res);

/* Replies status with doc (taken: freed here) as compact JSON, reals with
 * precision significant digits (17 round-trips a double); doc NULL, or out
 * of memory, gives the 500 internal problem. Returns as http_reply_owned. */
http_result json_body_reply(http_request *req, unsigned status, json_t *doc,
                            int precision);

#endif

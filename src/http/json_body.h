/* The request body of the routes that take one JSON object (tenant
 * management, acquisition inputs): parsed once, duplicate members refused,
 * and anything else answered with the one 400 malformed-json problem. */
#ifndef LTVD_HTTP_JSON_BODY_H
#define LTVD_HTTP_JSON_BODY_H

#include <jansson.h>

#include "http/http.h"

/* req's body as a JSON object (the caller owns it: json_decref), or NULL
 * after setting *res to a 400 malformed-json problem saying why (no body,
 * not JSON, a member twice, not an object). */
json_t *json_body_object_or_reply(http_request *req, http_result *res);

#endif

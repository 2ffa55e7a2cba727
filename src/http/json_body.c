/* The request body as one JSON object, a document as the reply (see
 * json_body.h). */
#include "http/json_body.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/problem.h"

json_t *json_body_object_or_reply(http_request *req, http_result *res)
{
    json_error_t jerr;
    json_t *body = req->body != NULL ? json_loadb(req->body, req->body_len,
                                                  JSON_REJECT_DUPLICATES, &jerr)
                                     : NULL;
    if (json_is_object(body))
        return body;
    /* jerr says why only when there was a body that did not parse (decided
     * before the decref: body's value is not to be read after it) */
    bool why = body == NULL && req->body != NULL;
    json_decref(body);
    char detail[200];
    snprintf(detail, sizeof detail, "the body must be a JSON object%s%.150s",
             why ? ": " : "", why ? jerr.text : "");
    *res = http_reply_problem(req, PROBLEM_MALFORMED_JSON, detail, NULL);
    return NULL;
}

http_result json_body_reply(http_request *req, unsigned status, json_t *doc,
                            int precision)
{
    char *body = doc != NULL
                     ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(precision))
                     : NULL;
    json_decref(doc);
    if (body == NULL)
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    return http_reply_owned(req, status, "application/json", body, strlen(body));
}

/* The error registry and the problem+json bodies built from it. */
#include "http/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const problem_type registry[PROBLEM_COUNT] = {
    {PROBLEM_BAD_REQUEST, 400, "bad-request", "Bad request"},
    {PROBLEM_INVALID_PARAMETER, 400, "invalid-parameter", "Invalid parameter"},
    {PROBLEM_MALFORMED_JSON, 400, "malformed-json", "Malformed JSON body"},
    {PROBLEM_UNAUTHORIZED, 401, "unauthorized", "Missing or invalid API key"},
    {PROBLEM_FORBIDDEN, 403, "forbidden", "API key lacks the required scope"},
    {PROBLEM_NOT_FOUND, 404, "not-found", "No such resource"},
    {PROBLEM_CUSTOMER_NOT_FOUND, 404, "customer-not-found", "Unknown customer"},
    {PROBLEM_TENANT_NOT_FOUND, 404, "tenant-not-found", "Unknown tenant"},
    {PROBLEM_CONFLICT, 409, "conflict", "Conflict with the current state"},
    {PROBLEM_METHOD_NOT_ALLOWED, 405, "method-not-allowed", "Method not allowed"},
    {PROBLEM_BODY_TOO_LARGE, 413, "body-too-large", "Request body too large"},
    {PROBLEM_TOO_MANY_ITEMS, 413, "too-many-items", "Too many items in the batch"},
    {PROBLEM_URL_TOO_LONG, 414, "url-too-long", "Request URL too long"},
    {PROBLEM_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported-media-type",
     "Unsupported Content-Type"},
    {PROBLEM_VALIDATION_FAILED, 422, "validation-failed", "Invalid items in the request"},
    {PROBLEM_INTERNAL, 500, "internal", "Internal error"},
    {PROBLEM_NOT_READY, 503, "not-ready", "Service not ready"},
    {PROBLEM_NO_MODEL, 503, "no-model", "No model fitted yet"},
    {PROBLEM_DATABASE_UNAVAILABLE, 503, "database-unavailable", "Database unavailable"},
    {PROBLEM_TOO_BUSY, 503, "too-busy", "Too many long requests at once"},
    {PROBLEM_BUDGET_EXCEEDED, 503, "budget-exceeded", "Time budget exceeded"},
    {PROBLEM_STARTING, 503, "starting", "The service is starting"},
    /* 503 without Retry-After: not a client error (a 4xx makes clients drop
     * the batch), but no wait helps this process (docs/operations.md) */
    {PROBLEM_READ_ONLY, 503, "read-only", "This process cannot write"},
    {PROBLEM_NOT_ACCEPTABLE, 406, "not-acceptable", "No acceptable media type"},
    {PROBLEM_SUBSCRIPTION_NOT_FOUND, 404, "subscription-not-found",
     "Unknown subscription"},
};

const problem_type *problem_get(problem_code code)
{
    if ((unsigned)code >= PROBLEM_COUNT)
        code = PROBLEM_INTERNAL;
    return &registry[code];
}

/* The length of the valid UTF-8 character at p (1-4), or 0. */
static size_t utf8_char(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
    if ((c == 0xe0 && n == 3 && p[1] < 0xa0) || (c == 0xed && n == 3 && p[1] > 0x9f) ||
        (c == 0xf0 && n == 4 && p[1] < 0x90) || (c == 0xf4 && n == 4 && p[1] > 0x8f))
        return 0; /* overlong, a surrogate, past U+10FFFF */
    return n;
}

/* s as a JSON string, each byte that is not part of valid UTF-8 replaced
 * by U+FFFD (a detail quoting a name cut by "%.200s" in the middle of a
 * character keeps its text); NULL without memory. */
static json_t *text_json(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        size_t n = utf8_char(p);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
            continue;
        }
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    j = json_string(out);
    free(out);
    return j;
}

char *problem_body(problem_code code, const char *detail, const char *instance,
                   json_t *errors, size_t *len)
{
    const problem_type *p = problem_get(code);
    json_t *o = json_object();
    char *out = NULL;
    if (o == NULL) {
        json_decref(errors);
        return NULL;
    }
    char type[128];
    snprintf(type, sizeof type, "%s%s", PROBLEM_TYPE_BASE, p->slug);
    int rc = json_object_set_new(o, "type", json_string(type));
    rc |= json_object_set_new(o, "title", json_string(p->title));
    rc |= json_object_set_new(o, "status", json_integer(p->status));
    /* invalid UTF-8 in a detail or instance shows as U+FFFD */
    json_t *d = detail != NULL ? text_json(detail) : NULL;
    json_t *i = instance != NULL ? text_json(instance) : NULL;
    if (d != NULL)
        rc |= json_object_set_new(o, "detail", d);
    if (i != NULL)
        rc |= json_object_set_new(o, "instance", i);
    if (errors != NULL)
        rc |= json_object_set_new(o, "errors", errors);
    if (rc == 0)
        out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (out != NULL)
        *len = strlen(out);
    return out;
}

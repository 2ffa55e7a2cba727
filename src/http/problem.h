/* The error registry: every RFC 9457 application/problem+json reply of the
 * service comes from one row {code, HTTP status, type, title} of this table
 * (openapi.yaml lists the same rows). */
#ifndef LTVD_HTTP_PROBLEM_H
#define LTVD_HTTP_PROBLEM_H

#include <jansson.h>
#include <stddef.h>

/* The type URI of a problem is PROBLEM_TYPE_BASE followed by its slug. */
#define PROBLEM_TYPE_BASE "urn:ltvd:problem:"

typedef enum problem_code {
    PROBLEM_BAD_REQUEST,
    PROBLEM_INVALID_PARAMETER,
    PROBLEM_MALFORMED_JSON,
    PROBLEM_UNAUTHORIZED,
    PROBLEM_FORBIDDEN,
    PROBLEM_NOT_FOUND,
    PROBLEM_CUSTOMER_NOT_FOUND,
    PROBLEM_TENANT_NOT_FOUND,
    PROBLEM_CONFLICT,
    PROBLEM_METHOD_NOT_ALLOWED,
    PROBLEM_BODY_TOO_LARGE,
    PROBLEM_TOO_MANY_ITEMS,
    PROBLEM_URL_TOO_LONG,
    PROBLEM_UNSUPPORTED_MEDIA_TYPE,
    PROBLEM_VALIDATION_FAILED,
    PROBLEM_INTERNAL,
    PROBLEM_NOT_READY,
    PROBLEM_NO_MODEL,
    PROBLEM_DATABASE_UNAVAILABLE,
    PROBLEM_TOO_BUSY,               /* the share of threads for long work is taken */
    PROBLEM_BUDGET_EXCEEDED,        /* the request's time budget ran out */
    PROBLEM_STARTING,               /* start-up is not over: the cache is being rebuilt */
    PROBLEM_READ_ONLY,              /* this process cannot write (a replica, read_only) */
    PROBLEM_NOT_ACCEPTABLE,         /* no media type of the Accept header is served */
    PROBLEM_SUBSCRIPTION_NOT_FOUND, /* no subscription of that id (issue 11) */
    PROBLEM_COUNT
} problem_code;

typedef struct problem_type {
    problem_code code;
    unsigned status;
    const char *slug;  /* the type URI's last part, e.g. "not-found" */
    const char *title; /* the same for every occurrence */
} problem_type;

/* The registry row of code (codes out of range give PROBLEM_INTERNAL's). */
const problem_type *problem_get(problem_code code);

/* Builds the problem+json body {type, title, status, detail, instance,
 * errors}. detail and instance may be NULL (left out); errors, when not
 * NULL, is an array that the function steals (the `errors` extension, one
 * object per bad item). Returns a malloc'd string (caller frees) and its
 * length, or NULL when out of memory. */
char *problem_body(problem_code code, const char *detail, const char *instance,
                   json_t *errors, size_t *len);

#endif

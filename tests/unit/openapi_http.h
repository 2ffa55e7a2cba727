/* Test helper of the openapi suite: requests to the in-process server and
 * their answers checked against openapi.yaml (status documented for the
 * operation, documented media type, required headers and header values, body valid
 * against the schema, problem members agreeing with the ProblemType row),
 * mutated answers that must stop validating, undocumented requests, the
 * router's 413/414 for every operation, and coverage of the documented
 * (operation, status) pairs. Failures are check assertions. */
#ifndef LTVD_TESTS_OPENAPI_HTTP_H
#define LTVD_TESTS_OPENAPI_HTTP_H

#include <jansson.h>
#include <stdbool.h>

#include "testhttp.h"

/* The operation keys of an OpenAPI path item, lower case. */
#define OA_NMETHODS 8
extern const char *const oa_http_methods[OA_NMETHODS];

typedef testhttp_response oa_response;

/* What to send besides method and target. */
typedef struct oa_req {
    const char *content_type;  /* NULL: no Content-Type */
    const char *body;          /* NULL: none */
    long declared;             /* > 0: announce this Content-Length and send no body */
    const char *authorization; /* NULL: no Authorization header, else its value */
    const char *accept;        /* NULL: no Accept header, else its value */
    const char *if_none_match; /* NULL: no If-None-Match header, else its value */
} oa_req;

/* Which documented (METHOD, path, status) a check is about. */
typedef bool (*oa_scope_fn)(const char *method, const char *path, const char *status);

/* Checks against spec (borrowed) and talks to 127.0.0.1:*port (read at
 * each request, so a restart may change it); forgets the coverage. */
void oa_http_use(const json_t *spec, const int *port);

/* Calls fn for every operation spec documents: its METHOD (upper case), path
 * and operation object (borrowed), path by path in the spec's order. */
typedef void (*oa_op_fn)(const char *method, const char *path, const json_t *op,
                         void *arg);
void oa_each_operation(const json_t *spec, oa_op_fn fn, void *arg);

/* A target for the spec path template path into out[cap]: its path
 * parameter (the last segment) is "c1". */
void oa_sample_target(const char *path, char *out, size_t cap);

/* The operation object of (method, path) in the spec, or NULL; HEAD is GET's. */
const json_t *oa_operation(const char *method, const char *path);

/* The ProblemType row whose const is the type URI, or NULL. */
const json_t *oa_problem_row(const char *type);

/* Sends the request on a fresh connection (Connection: close); r->json is
 * the body parsed, duplicate members refused, or NULL. Free with
 * oa_response_free. */
void oa_request(const char *method, const char *target, const oa_req *o, oa_response *r);
void oa_response_free(oa_response *r);

/* The value of header name (case-insensitive) into out; false when absent. */
bool oa_header(const oa_response *r, const char *name, char *out, size_t size);

/* Sends method target (o may be NULL) as the documented operation
 * (method, spec_path); asserts that the answer's status is documented for
 * it and fits the documented response (media type, body schema, required
 * headers present, every documented header's value valid against its
 * schema), then that it is want; counts it as covered. r keeps the answer;
 * oa_call0 frees it. */
void oa_call(const char *method, const char *spec_path, const char *target,
             const oa_req *o, int want, oa_response *r);
void oa_call0(const char *method, const char *spec_path, const char *target,
              const oa_req *o, int want);

/* r's body (an answer oa_call checked) stops validating when any member,
 * at any depth, is removed (but detail, instance, errors and the members of
 * by-name maps) or replaced by a value of another JSON kind. */
void oa_check_mutations(const char *method, const char *spec_path, const oa_response *r);

/* A request no operation documents: 404 not-found when no path matches,
 * else 405 method-not-allowed whose Allow header names exactly the
 * documented methods (HEAD with GET). */
void oa_check_undocumented(const char *method, const char *target);

/* For every documented operation in scope ({customer_id} = "c1"): 413 for a
 * body announced past max_body, 414 for a target past max_url. */
void oa_check_router_limits(oa_scope_fn in_scope, long max_body, long max_url);

/* Every documented (operation, status) in scope but 500 has been answered
 * since oa_http_use. */
void oa_assert_covered(oa_scope_fn in_scope);

#endif

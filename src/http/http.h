/* What every endpoint sees: the request context, the route table row, the
 * handler signature and the reply helpers. Handlers never parse URLs: the
 * router has matched the route, decoded the path parameters and collected
 * the (bounded) body before a handler runs. */
#ifndef LTVD_HTTP_H
#define LTVD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "http/json_out.h"
#include "http/problem.h"
#include "metrics/metrics.h"

struct MHD_Connection;

/* The three outcomes at the HTTP boundary. */
typedef enum http_result {
    HTTP_DONE,    /* a response was queued */
    HTTP_REPLIED, /* an error response was queued; the caller just returns */
    HTTP_FATAL,   /* nothing queued: close the connection */
} http_result;

typedef struct http_request http_request;
typedef http_result (*http_handler)(http_request *req);

/* The route's body limit is the configured max_body_bytes. */
#define HTTP_BODY_CONFIG SIZE_MAX
#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_PARAM_BYTES 256
/* Longest tenant id, and the one the unprefixed /v1 paths address. */
#define HTTP_TENANT_MAX 63
#define HTTP_TENANT_DEFAULT "default"

/* One row of a routing table. Pattern segments are literals or {name}; a
 * {name} matches one non-empty segment, handed to the handler decoded. */
typedef struct http_route {
    const char *method;  /* "GET", "POST", ...; HEAD is served by GET routes */
    const char *pattern; /* "/v1/customers/{customer_id}" */
    http_handler handler;
    size_t max_body;       /* 0 = no body; HTTP_BODY_CONFIG = max_body_bytes */
    const char *body_type; /* media type a body must have ("application/json"), or NULL */
    /* Whether this request's handler may wait (on PostgreSQL, or long work):
     * then it runs on the offload pool, not on a libmicrohttpd thread
     * (http/offload.h). NULL: never. http_offload_always for every request. */
    bool (*offload)(struct http_request *req);
} http_route;

/* An http_route.offload for routes whose every request may wait. */
bool http_offload_always(struct http_request *req);

/* Says whether the service can take traffic; when not, writes why (one
 * sentence) into why. Called on every GET /readyz. */
typedef bool (*http_readiness)(void *cls, char *why, size_t why_len);

/* More Prometheus text for GET /metrics (the service's own counters and
 * gauges): a malloc'd string and its length, or NULL when out of memory. */
typedef char *(*http_metrics_source)(void *cls, size_t *len);

/* Shared by every request of a server; handlers read it, never write it. */
typedef struct http_context {
    const ltvd_config *config;
    metrics *metrics;
    http_readiness ready; /* NULL: never ready */
    void *ready_cls;
    http_metrics_source more_metrics; /* NULL: request metrics only */
    void *more_metrics_cls;
    /* Whether start-up is over (the cache complete, everything running);
     * when not, why. NULL: started. Until it says so, only the probe
     * routes (http_server_add_probe_routes) run: the others answer 503
     * `starting`, so no handler touches app before it is whole. */
    http_readiness started;
    void *started_cls;
    /* Whether this process cannot write; when so, the detail of the 503
     * `read-only` answered to every request other than GET or HEAD of a
     * non-probe route (nothing of it reaches a handler), also stated by a
     * 200 /readyz. NULL: it writes. */
    http_readiness read_only;
    void *read_only_cls;
    void *app;              /* for endpoint groups (cache, store, ...) */
    struct auth_keys *auth; /* the API keys (auth/auth.h); NULL: none can pass */
    /* The tenant a request of a tenant route addresses (http_tenant_route),
     * taken when its head is in and released with the request; NULL from
     * acquire: no such tenant (404). NULL functions: no tenants. */
    void *(*tenant_acquire)(void *app, const char *id);
    void (*tenant_release)(void *tenant);
} http_context;

typedef struct http_mem http_mem;

/* One request, from its headers to libmicrohttpd's completion callback,
 * which frees it and everything hanging off it. */
struct http_request {
    struct MHD_Connection *conn;
    const http_context *ctx;
    const http_route *route;             /* NULL when no route matched */
    size_t route_index;                  /* metrics slot of route */
    const char *method;                  /* borrowed from libmicrohttpd */
    const char *path;                    /* raw (still percent-encoded), borrowed */
    const char *params[HTTP_MAX_PARAMS]; /* decoded {name} segments, in order */
    size_t nparams;
    char *body; /* NUL-terminated, body_len bytes; NULL if none */
    size_t body_len;
    /* the dispatcher's own state */
    size_t body_cap, body_limit, discarded;
    int pending; /* problem_code to answer once the body is in, or -1 */
    char pending_detail[400];
    char allow[64]; /* Allow header of a 405 */
    /* the tenant addressed: "default", or {tenant} of /v1/tenants/{tenant}/...
     * (matched as /v1/...); its object for a tenant route (http_tenant_route) */
    char tenant[HTTP_TENANT_MAX + 1];
    void *tenant_ref;
    char key_tenant[HTTP_TENANT_MAX + 1]; /* the tenant of the key that passed, or "*" */
    bool bad_token;                       /* a 401 for credentials given, not missing */
    bool close;                           /* close the connection after the answer */
    const char *extra_name;               /* one more response header (http_set_header) */
    const char *extra_value;
    unsigned status; /* status queued, for metrics and logs */
    uint64_t start_ns;
    http_mem *mem; /* request-scoped allocations */
    /* offloaded: the handler runs on the pool while the connection is
     * suspended; its answer is held here and queued once resumed */
    bool deferred;
    struct MHD_Response *held;
    unsigned held_status;
};

/* Whether route is one of a tenant's (every /v1 route but the tenants'
 * management, /v1/tenants and /v1/tenants/{tenant}). */
bool http_tenant_route(const http_route *route);

/* Request-scoped memory: freed in the completion callback. NULL when out
 * of memory. */
void *http_alloc(http_request *req, size_t size);

/* The decoded query parameter name into *value (request-scoped). Returns 1
 * when present, 0 when absent, -1 when its percent-encoding is invalid or
 * out of memory. The dispatcher has already refused a repeated parameter, one
 * without a value and bad encodings (http/query.h), so a handler only
 * checks the value's meaning. */
int http_query(http_request *req, const char *name, const char **value);

/* The first query parameter whose name is not in known (a NULL-terminated
 * list), borrowed from the connection; NULL when every name is known. */
const char *http_query_unknown(http_request *req, const char *const *known);

/* Adds the header name: value (copied) to the response this request will
 * get, whatever it is. One header per request; a second call replaces it. */
void http_set_header(http_request *req, const char *name, const char *value);

/* Queues status with a copy of body (content_type e.g. "application/json").
 * Returns HTTP_DONE, or HTTP_FATAL when libmicrohttpd refused. */
http_result http_reply(http_request *req, unsigned status, const char *content_type,
                       const char *body, size_t len);

/* As http_reply, but takes ownership of the malloc'd body (freed by
 * libmicrohttpd when sent); body NULL gives a 500. */
http_result http_reply_owned(http_request *req, unsigned status, const char *content_type,
                             char *body, size_t len);

/* As http_reply, for a body that lives as long as the program (not
 * copied), with the extra headers name, value, name, value, ..., NULL
 * (borrowed for the call). Returns HTTP_DONE, or HTTP_FATAL. */
http_result http_reply_static(http_request *req, unsigned status,
                              const char *content_type, const void *body, size_t len,
                              const char *const *headers);

/* A streamed body's producer: appends the next piece of the body to b
 * (empty when called), a bounded amount of work: about HTTP_STREAM_CHUNK
 * bytes, never less than one byte. Returns 1 when it appended, 0 at the
 * end of the body (nothing appended), -1 to cut the body short (the
 * client sees it unfinished: no last chunk). b->failed counts as -1. */
typedef int (*http_stream_fill)(void *cls, json_out *b);

/* What a producer aims to append per call. */
#define HTTP_STREAM_CHUNK (64 * 1024)

/* Queues status with a body made as the client reads it (chunked in
 * HTTP/1.1): fill is called on the connection's thread each time the
 * previous piece has been sent, so the memory held is one piece whatever
 * the body's length, and a client that stops reading stops the work.
 * Each piece read restarts the connection's deadline (http/deadline.h): a
 * client that reads no piece within connection_timeout_s is cut off.
 * done(cls) runs once when the response is freed (after the last piece,
 * a cut, or a closed connection), also when this fails. Returns HTTP_DONE;
 * HTTP_REPLIED after a 500 when out of memory; HTTP_FATAL when nothing
 * could be queued. */
http_result http_reply_stream(http_request *req, unsigned status,
                              const char *content_type, http_stream_fill fill,
                              void (*done)(void *cls), void *cls);

/* Seconds a client is told to wait (Retry-After) after a database failure:
 * every database-unavailable problem carries it (and too-busy,
 * budget-exceeded and starting). */
#define HTTP_RETRY_AFTER_S_TEXT "1"

/* Queues the problem+json reply of code (see problem_body for detail and
 * errors, which is stolen). Returns HTTP_REPLIED, or HTTP_FATAL. */
http_result http_reply_problem(http_request *req, problem_code code, const char *detail,
                               json_t *errors);

#endif

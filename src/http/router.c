/* The dispatcher: route matching, error replies that belong to no handler,
 * bounded body collection and request-scoped memory (the replies:
 * reply.c).
 *
 * libmicrohttpd calls router_access at least twice per request: once when
 * the headers are in (we decide the request's fate, and reject an
 * oversized Content-Length at once), once per piece of body, and once when
 * the request is complete, where the answer is queued. Answering on that
 * last call keeps keep-alive on in 0.9.75 (see DESIGN.md). */
#include "http/router.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/access.h"
#include "http/deadline.h"
#include "http/offload.h"
#include "http/query.h"
#include "http/url.h"
#include "log/log.h"

_Static_assert(URL_MAX_PARAMS == HTTP_MAX_PARAMS, "url.h and http.h disagree");

struct http_mem {
    http_mem *next;
    max_align_t data[];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ----------------------------------------------------------- the tables */

void router_init(router *r, const http_context *ctx)
{
    memset(r->routes, 0, sizeof r->routes);
    memset(r->probe, 0, sizeof r->probe);
    r->nroutes = 0;
    r->ctx = ctx;
    atomic_init(&r->in_flight, 0);
}

bool router_add(router *r, const http_route *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (r->nroutes == ROUTER_MAX_ROUTES || !url_pattern_ok(table[i].pattern) ||
            table[i].handler == NULL || table[i].method == NULL)
            return false;
        r->routes[r->nroutes++] = &table[i];
    }
    return true;
}

bool router_add_probes(router *r, const http_route *table, size_t n)
{
    size_t first = r->nroutes;
    if (!router_add(r, table, n))
        return false;
    for (size_t i = first; i < r->nroutes; i++)
        r->probe[i] = true;
    return true;
}

long router_in_flight(router *r)
{
    return atomic_load(&r->in_flight);
}

size_t router_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

/* ------------------------------------------------------------- matching */

/* Decodes the {name} segments into req->params; on a bad one, sets the
 * pending 400 and returns false. */
static bool take_params(http_request *req, const url_segment seg[], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *out = http_alloc(req, seg[i].len + 1);
        long len = out != NULL ? url_pct_decode(seg[i].start, seg[i].len, out) : -1;
        const char *why = out == NULL                  ? NULL
                          : len < 0                    ? "malformed percent-encoding"
                          : len == 0                   ? "must not be empty"
                          : len > HTTP_MAX_PARAM_BYTES ? "longer than 256 bytes"
                          : !url_text_ok((const unsigned char *)out, (size_t)len)
                              ? "must be UTF-8 without control characters"
                              : NULL;
        if (out == NULL || why != NULL) {
            req->pending = out == NULL ? PROBLEM_INTERNAL : PROBLEM_INVALID_PARAMETER;
            snprintf(req->pending_detail, sizeof req->pending_detail,
                     "path parameter %zu %s", i + 1, why != NULL ? why : "");
            return false;
        }
        req->params[i] = out;
    }
    req->nparams = n;
    return true;
}

static bool method_is(const http_route *rt, const char *method)
{
    return strcmp(rt->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
}

/* Appends m to the comma-separated Allow list unless it is there already. */
static void allow_add(char *allow, size_t cap, const char *m)
{
    char list[96], item[32];
    snprintf(list, sizeof list, ", %s,", allow);
    snprintf(item, sizeof item, ", %s,", m);
    if (strstr(list, item) != NULL)
        return;
    size_t len = strlen(allow);
    snprintf(allow + len, cap - len, "%s%s", len > 0 ? ", " : "", m);
}

bool http_tenant_route(const http_route *route)
{
    return strncmp(route->pattern, "/v1/", 4) == 0 &&
           strncmp(route->pattern, "/v1/tenants", 11) != 0;
}

/* /v1/tenants/{tenant}/rest is /v1/rest of that tenant: the tenant into
 * req->tenant and the path to match into *path (request-scoped). False
 * when the tenant segment is not a tenant id (the pending 404 is set). */
static bool tenant_prefix(http_request *req, const char **path)
{
    static const char prefix[] = "/v1/tenants/";
    const char *p = req->path;
    snprintf(req->tenant, sizeof req->tenant, "%s", HTTP_TENANT_DEFAULT);
    *path = p;
    if (strncmp(p, prefix, sizeof prefix - 1) != 0)
        return true;
    const char *id = p + sizeof prefix - 1, *slash = strchr(id, '/');
    if (slash == NULL)
        return true; /* /v1/tenants/{tenant}: the management route */
    size_t len = (size_t)(slash - id);
    bool ok = len >= 1 && len <= HTTP_TENANT_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char c = id[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             (i > 0 && (c == '_' || c == '-'));
    }
    char *rest = ok ? http_alloc(req, strlen(slash) + 4) : NULL;
    if (rest == NULL) {
        req->pending = ok ? PROBLEM_INTERNAL : PROBLEM_TENANT_NOT_FOUND;
        snprintf(req->pending_detail, sizeof req->pending_detail,
                 "no tenant has that id (tenant ids are [a-z0-9][a-z0-9_-]{0,62})");
        return false;
    }
    memcpy(req->tenant, id, len);
    req->tenant[len] = '\0';
    snprintf(rest, strlen(slash) + 4, "/v1%s", slash);
    *path = rest;
    return true;
}

void router_route(const router *r, http_request *req)
{
    url_segment seg[HTTP_MAX_PARAMS];
    size_t n;
    const char *path;
    req->route_index = r->nroutes;
    if (!tenant_prefix(req, &path))
        return;
    for (size_t i = 0; i < r->nroutes; i++) {
        if (!url_match(r->routes[i]->pattern, path, seg, &n))
            continue;
        /* the tenants' own routes are not under a tenant */
        if (path != req->path && !http_tenant_route(r->routes[i]))
            continue;
        if (method_is(r->routes[i], req->method)) {
            req->route = r->routes[i];
            req->route_index = i;
            take_params(req, seg, n);
            return;
        }
        allow_add(req->allow, sizeof req->allow, r->routes[i]->method);
        if (strcmp(r->routes[i]->method, "GET") == 0)
            allow_add(req->allow, sizeof req->allow, "HEAD");
    }
    req->pending = req->allow[0] != '\0' ? PROBLEM_METHOD_NOT_ALLOWED : PROBLEM_NOT_FOUND;
    if (req->pending == PROBLEM_METHOD_NOT_ALLOWED)
        snprintf(req->pending_detail, sizeof req->pending_detail, "allowed: %s",
                 req->allow);
}

/* ------------------------------------------------------- the first call */

static enum MHD_Result add_arg_len(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value != NULL ? strlen(value) + 1 : 0) + 1;
    return MHD_YES;
}

static bool media_type_is(const char *header, const char *type)
{
    size_t len = strlen(type);
    if (header == NULL || strncasecmp(header, type, len) != 0)
        return false;
    char next = header[len];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* Counts of the framing headers of a request (framing_visit). */
typedef struct framing {
    int content_length, transfer_encoding, host;
    int bad_name;   /* a field name that is not a token (RFC 9110, 5.1) */
    int folded;     /* a value that looks continued on another line */
    const char *te; /* the Transfer-Encoding value */
} framing;

/* A field name is a token: no space (as in "Transfer-Encoding : chunked",
 * which a proxy may read as Transfer-Encoding), no control, no separator. */
static bool is_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~", *s) != NULL))
            return false;
    return true;
}

static enum MHD_Result framing_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    framing *f = cls;
    if (!is_token(key))
        f->bad_name++;
    /* an obsolete line folding (RFC 9112, 5.2) leaves an empty value or one
     * that still holds the fold's line break or leading blank */
    if (value != NULL &&
        (value[0] == ' ' || value[0] == '\t' || strpbrk(value, "\r\n") != NULL))
        f->folded++;
    /* libmicrohttpd 0.9.75 glues a folded line to the name:
     * "Transfer-Encoding:\r\n chunked" arrives as "Transfer-Encodingchunked" */
    size_t te_len = strlen(MHD_HTTP_HEADER_TRANSFER_ENCODING);
    size_t cl_len = strlen(MHD_HTTP_HEADER_CONTENT_LENGTH);
    if ((strncasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING, te_len) == 0 &&
         key[te_len] != '\0') ||
        (strncasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH, cl_len) == 0 &&
         key[cl_len] != '\0'))
        f->folded++;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        f->host++;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->content_length++;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        f->te = value;
    }
    return MHD_YES;
}

/* Why the body's framing is ambiguous, or NULL: a proxy in front may frame
 * such a request otherwise than libmicrohttpd (which lets chunked win over
 * Content-Length and reads the first of two Content-Lengths), and smuggle a
 * second request inside the first (RFC 9112, 6.3). */
static const char *framing_ambiguous(http_request *req, const char *version)
{
    framing f = {0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, framing_visit, &f);
    if (f.bad_name > 0)
        return "a header field name that is not a token (whitespace before the colon?)";
    if (f.folded > 0)
        return "a header field folded over lines, or without a value";
    bool v11 = strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
    if (v11 && f.host != 1) /* RFC 9112, 3.2 */
        return f.host == 0 ? "no Host header (HTTP/1.1)" : "more than one Host header";
    if (f.content_length > 0 && f.transfer_encoding > 0)
        return "both Content-Length and Transfer-Encoding";
    if (f.content_length > 1)
        return "more than one Content-Length";
    if (f.transfer_encoding > 1)
        return "more than one Transfer-Encoding";
    if (f.transfer_encoding == 1 && strcasecmp(f.te, "chunked") != 0)
        return "a Transfer-Encoding other than chunked";
    if (f.transfer_encoding == 1 && strcmp(version, MHD_HTTP_VERSION_1_0) == 0)
        return "a Transfer-Encoding in HTTP/1.0"; /* RFC 9112, 6.1: faulty framing */
    return NULL;
}

/* Refuses an ambiguous framing at once (400, and the connection is closed
 * after the answer: what follows the head cannot be trusted). Returns false
 * when the request may go on; *ok is false when no answer could be queued. */
static bool refused_framing(http_request *req, const char *version, bool *ok)
{
    const char *why = framing_ambiguous(req, version);
    if (why == NULL)
        return false;
    char detail[96];
    snprintf(detail, sizeof detail, "the request has %s", why);
    req->close = true;
    *ok = http_reply_problem(req, PROBLEM_BAD_REQUEST, detail, NULL) != HTTP_FATAL;
    return true;
}

/* While the service starts, a route that is not served then answers 503
 * `starting` (with the start-up's progress): its handler never runs before
 * the app behind it is whole. */
static void start_check(const router *r, http_request *req)
{
    const http_context *ctx = r->ctx;
    char why[sizeof req->pending_detail];
    if (r->probe[req->route_index] || ctx->started == NULL ||
        ctx->started(ctx->started_cls, why, sizeof why))
        return;
    req->pending = PROBLEM_STARTING;
    snprintf(req->pending_detail, sizeof req->pending_detail, "%s", why);
}

/* A tenant route's tenant, taken for the request (released with it): an
 * unknown one, or one the key may not address, answers 404 (the same
 * answer: a key learns nothing of other tenants). */
static void tenant_check(const router *r, http_request *req)
{
    const http_context *ctx = r->ctx;
    if (!http_tenant_route(req->route) || ctx->tenant_acquire == NULL)
        return;
    bool allowed = req->key_tenant[0] == '\0' || strcmp(req->key_tenant, "*") == 0 ||
                   strcmp(req->key_tenant, req->tenant) == 0;
    req->tenant_ref = allowed ? ctx->tenant_acquire(ctx->app, req->tenant) : NULL;
    if (req->tenant_ref != NULL)
        return;
    req->pending = PROBLEM_TENANT_NOT_FOUND;
    snprintf(req->pending_detail, sizeof req->pending_detail, "no tenant %s",
             req->tenant);
}

/* In a process that cannot write, a request that may write (any method
 * but GET and HEAD, on a route that is not a probe) answers 503
 * `read-only`: its body is discarded unread and its handler never runs. */
static void write_check(const router *r, http_request *req)
{
    const http_context *ctx = r->ctx;
    char why[sizeof req->pending_detail];
    if (r->probe[req->route_index] || ctx->read_only == NULL ||
        strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
        !ctx->read_only(ctx->read_only_cls, why, sizeof why))
        return;
    req->pending = PROBLEM_READ_ONLY;
    snprintf(req->pending_detail, sizeof req->pending_detail, "%s", why);
}

/* Decides the request's fate once its headers are in. Returns false when
 * an answer could not be queued (close the connection). */
static bool on_headers(const router *r, http_request *req, const char *version)
{
    const ltvd_config *cfg = r->ctx->config;
    bool ok = true;
    if (refused_framing(req, version, &ok))
        return ok;
    size_t url_len = strlen(req->path);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_arg_len, &url_len);
    if (url_len > (size_t)cfg->max_url_bytes) {
        req->pending = PROBLEM_URL_TOO_LONG;
        snprintf(req->pending_detail, sizeof req->pending_detail,
                 "the request target has %zu bytes, the limit is %ld", url_len,
                 cfg->max_url_bytes);
        req->route_index = r->nroutes;
    } else {
        router_route(r, req);
    }
    if (req->route != NULL && req->pending < 0)
        access_check(req); /* before the body: a refused one is never read */
    if (req->route != NULL && req->pending < 0)
        start_check(r, req); /* after the key: a bad one is 401 at any time */
    if (req->route != NULL && req->pending < 0)
        tenant_check(r, req); /* once started: the tenants are loaded */
    if (req->route != NULL && req->pending < 0)
        write_check(r, req); /* before the body: a write here is never read */
    if (req->route != NULL && req->pending < 0)
        query_check(req); /* every route reads its query the same way */
    size_t limit = (size_t)cfg->max_body_bytes;
    if (req->route != NULL && req->route->max_body < limit)
        limit = req->route->max_body;
    req->body_limit = limit;

    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    unsigned long long announced = cl != NULL ? strtoull(cl, NULL, 10) : 0;
    if (announced > limit && req->pending >= 0) /* early, the body unread: see below */
        return http_reply_problem(req, (problem_code)req->pending,
                                  req->pending_detail[0] ? req->pending_detail : NULL,
                                  NULL) != HTTP_FATAL;
    if (announced > limit) {
        /* early: the body is never read, and libmicrohttpd closes afterwards */
        char detail[128];
        snprintf(detail, sizeof detail,
                 "Content-Length %llu exceeds the limit of %zu bytes", announced, limit);
        return http_reply_problem(req, PROBLEM_BODY_TOO_LARGE, detail, NULL) !=
               HTTP_FATAL;
    }
    bool has_body = announced > 0 || te != NULL;
    if (req->pending < 0 && has_body && req->route->body_type != NULL) {
        const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!media_type_is(ct, req->route->body_type)) {
            req->pending = PROBLEM_UNSUPPORTED_MEDIA_TYPE;
            snprintf(req->pending_detail, sizeof req->pending_detail,
                     "the body must be %s", req->route->body_type);
        }
    }
    return true;
}

/* --------------------------------------------------------------- bodies */

/* Appends a piece of body, or counts it as discarded once the request is
 * doomed. Returns false when the client keeps sending far past the limit. */
static bool on_body(http_request *req, const char *data, size_t size)
{
    if (req->pending < 0 && req->body_len + size > req->body_limit) {
        req->pending = PROBLEM_BODY_TOO_LARGE;
        snprintf(req->pending_detail, sizeof req->pending_detail,
                 "the body exceeds the limit of %zu bytes", req->body_limit);
        free(req->body);
        req->body = NULL;
        req->body_len = 0;
    }
    if (req->pending >= 0 || req->status != 0) {
        req->discarded += size;
        return req->discarded <= 2 * req->body_limit + 65536;
    }
    if (req->body_len + size + 1 > req->body_cap) {
        size_t cap = req->body_cap == 0 ? 4096 : req->body_cap;
        while (cap < req->body_len + size + 1)
            cap *= 2;
        if (cap > req->body_limit + 1)
            cap = req->body_limit + 1;
        char *grown = realloc(req->body, cap);
        if (grown == NULL)
            return false;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    req->body[req->body_len] = '\0';
    return true;
}

/* ----------------------------------------------------------- dispatching */

bool http_offload_always(http_request *req)
{
    (void)req;
    return true;
}

/* An offloaded handler, on a pool thread: its answer is held in req (queue
 * sees req->deferred), then the connection resumes and router_access
 * queues it. */
static void run_offloaded(void *arg)
{
    http_request *req = arg;
    http_result res = req->route->handler(req);
    if (res != HTTP_FATAL && req->held == NULL) {
        log_write(LOG_ERROR, "%s %s: handler queued no response", req->route->method,
                  req->route->pattern);
        http_reply_problem(req, PROBLEM_INTERNAL, NULL, NULL);
    }
    MHD_resume_connection(req->conn);
}

/* Suspends req's connection and gives its handler to the pool. False when
 * the pool's queue is full (then nothing is suspended). */
static bool offloaded(router *r, http_request *req)
{
    req->deferred = true;
    MHD_suspend_connection(req->conn);
    if (offload_submit(r->pool, run_offloaded, req))
        return true;
    MHD_resume_connection(req->conn);
    req->deferred = false;
    return false;
}

/* Queues the answer an offloaded handler held; false to close instead. */
static bool queue_held(http_request *req)
{
    if (req->held == NULL)
        return false;
    enum MHD_Result ok = MHD_queue_response(req->conn, req->held_status, req->held);
    MHD_destroy_response(req->held);
    req->held = NULL;
    return ok == MHD_YES;
}

/* The last call: the request is complete, answer it (or hand it to the
 * offload pool when its route says it may wait). */
static bool on_complete(router *r, http_request *req)
{
    if (req->status != 0)
        return true; /* answered early */
    http_result res;
    if (req->pending < 0 && r->pool != NULL && req->route->offload != NULL &&
        req->route->offload(req)) {
        if (offloaded(r, req))
            return true;
        res = http_reply_problem(req, PROBLEM_TOO_BUSY,
                                 "every thread for requests that may wait is taken and "
                                 "their queue is full",
                                 NULL);
    } else if (req->pending >= 0) {
        res =
            http_reply_problem(req, (problem_code)req->pending,
                               req->pending_detail[0] ? req->pending_detail : NULL, NULL);
    } else {
        res = req->route->handler(req);
        if (res != HTTP_FATAL && req->status == 0) {
            log_write(LOG_ERROR, "%s %s: handler queued no response", req->route->method,
                      req->route->pattern);
            res = http_reply_problem(req, PROBLEM_INTERNAL, NULL, NULL);
        }
    }
    return res != HTTP_FATAL;
}

static http_request *request_new(router *r, struct MHD_Connection *conn, const char *url,
                                 const char *method)
{
    http_request *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    req->conn = conn;
    req->ctx = r->ctx;
    req->method = method;
    req->path = url;
    req->pending = -1;
    req->route_index = r->nroutes;
    snprintf(req->tenant, sizeof req->tenant, "%s", HTTP_TENANT_DEFAULT);
    req->start_ns = now_ns();
    atomic_fetch_add(&r->in_flight, 1);
    return req;
}

enum MHD_Result router_access(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    router *r = cls;
    http_request *req = *con_cls;
    if (req == NULL) {
        req = request_new(r, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        deadline_head_in(conn);
        return on_headers(r, req, version) ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size > 0) {
        bool ok = on_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    if (req->deferred) { /* resumed: the pool has answered */
        bool queued = queue_held(req);
        deadline_sending(conn);
        return queued ? MHD_YES : MHD_NO;
    }
    deadline_handling(conn);
    bool ok = on_complete(r, req);
    if (!req->deferred)
        deadline_sending(conn); /* the answer must be read within the timeout too */
    return ok ? MHD_YES : MHD_NO;
}

void router_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    router *r = cls;
    http_request *req = *con_cls;
    deadline_answered(conn);
    if (req == NULL)
        return;
    *con_cls = NULL;
    uint64_t usec = (now_ns() - req->start_ns) / 1000;
    metrics_observe(r->ctx->metrics, req->route_index, req->status != 0 ? req->status : 0,
                    usec);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && req->status == 0)
        log_write(LOG_DEBUG, "request ended without an answer (%d)", (int)toe);
    router_request_free(req);
    atomic_fetch_sub(&r->in_flight, 1);
}

void router_request_free(http_request *req)
{
    if (req == NULL)
        return;
    for (http_mem *m = req->mem, *next; m != NULL; m = next) {
        next = m->next;
        free(m);
    }
    if (req->held != NULL)
        MHD_destroy_response(req->held);
    if (req->tenant_ref != NULL && req->ctx->tenant_release != NULL)
        req->ctx->tenant_release(req->tenant_ref);
    free(req->body);
    free(req);
}

/* ------------------------------------------------- request-scoped memory */

void *http_alloc(http_request *req, size_t size)
{
    http_mem *m = malloc(sizeof *m + size);
    if (m == NULL)
        return NULL;
    m->next = req->mem;
    req->mem = m;
    return m->data;
}

/* The dispatcher: matches requests against the routing tables, owns the
 * 404, 405, 413, 414 and 415 replies and the bounded collection of bodies,
 * then runs the route's handler. Its functions are libmicrohttpd callbacks
 * (installed by server.c) with the router as their closure. */
#ifndef LTVD_HTTP_ROUTER_H
#define LTVD_HTTP_ROUTER_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "http/http.h"

#define ROUTER_MAX_ROUTES 64

typedef struct router {
    const http_route *routes[ROUTER_MAX_ROUTES]; /* borrowed rows of static tables */
    size_t nroutes;
    bool probe[ROUTER_MAX_ROUTES]; /* served during start-up too (router_add_probes) */
    const http_context *ctx;
    atomic_long in_flight; /* requests between their headers and completion */
    struct offload *pool;  /* runs the handlers of offloaded routes; NULL: none */
} router;

/* An empty router sharing ctx (borrowed) with its requests. */
void router_init(router *r, const http_context *ctx);

/* Adds the rows of a static table (borrowed, must outlive r). Returns false
 * when the router is full, or a pattern is malformed (not starting with '/',
 * an unclosed '{', more than HTTP_MAX_PARAMS parameters). */
bool router_add(router *r, const http_route *table, size_t n);

/* router_add for routes served while the service starts (ctx->started),
 * the probes and metrics; the others answer 503 `starting` until then. */
bool router_add_probes(router *r, const http_route *table, size_t n);

/* Matches req (method and raw path set, pending -1, allow empty) against the
 * routes: sets req->route, route_index and the decoded params; or the
 * pending 404, 405 (req->allow listing the path's methods) or 400 (a bad
 * path parameter, say why in pending_detail). Called by router_access; also
 * by fuzz/fuzz_url.c. */
void router_route(const router *r, http_request *req);

/* Frees a calloc'ed req with everything hanging off it (http_alloc's
 * memory, the body). NULL is allowed. */
void router_request_free(http_request *req);

/* Requests currently in flight. */
long router_in_flight(router *r);

/* libmicrohttpd callbacks; cls is the router. */
enum MHD_Result router_access(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls);
void router_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe);
/* Leaves URLs percent-encoded, so that an encoded '/' stays inside its path
 * segment; the router decodes parameters itself. */
size_t router_unescape(void *cls, struct MHD_Connection *conn, char *s);

#endif

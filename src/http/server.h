/* The HTTP server: libmicrohttpd with a pool of poll()ing threads, every
 * limit from the configuration, its log to ours; graceful stop. */
#ifndef LTVD_HTTP_SERVER_H
#define LTVD_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "http/http.h"

typedef struct http_server http_server;

/* A server for cfg (borrowed, must outlive it), not yet listening. Returns
 * NULL when out of memory. */
http_server *http_server_new(const ltvd_config *cfg);

/* Adds a static routing table (borrowed). Before http_server_start only.
 * Returns false when the router is full or a pattern is malformed. */
bool http_server_add_routes(http_server *s, const http_route *table, size_t n);

/* http_server_add_routes for routes served from the moment the server
 * listens, start-up or not (health_routes: the probes and metrics); every
 * other route answers 503 `starting` while the start-up check says so
 * (http_server_set_started). */
bool http_server_add_probe_routes(http_server *s, const http_route *table, size_t n);

/* The readiness check behind GET /readyz (default: never ready) and the
 * application pointer handlers find in req->ctx->app. Before start only. */
void http_server_set_readiness(http_server *s, http_readiness ready, void *cls);
void http_server_set_app(http_server *s, void *app);

/* How a tenant route's tenant is found (see http_context.tenant_acquire).
 * Before start only. */
void http_server_set_tenants(http_server *s, void *(*acquire)(void *app, const char *id),
                             void (*release)(void *tenant));

/* The start-up check (see http_context.started): until it returns true,
 * only the probe routes are served, the others answer 503 `starting` with
 * its why. Default: started. Before start only. */
void http_server_set_started(http_server *s, http_readiness started, void *cls);

/* The check that this process cannot write (http_context.read_only):
 * writes are then answered 503 `read-only` and /readyz says so. Default:
 * it writes. */
void http_server_set_read_only(http_server *s, http_readiness read_only, void *cls);

/* The API keys checked for the routes that need one (http/access.h;
 * borrowed, must outlive s). Without it such routes answer 401, unless
 * auth_required is false. Before start only. */
struct auth_keys;
void http_server_set_auth(http_server *s, struct auth_keys *auth);

/* GET /metrics appends what source returns (see http_metrics_source). */
void http_server_set_metrics_source(http_server *s, http_metrics_source source,
                                    void *cls);

/* Binds and starts serving, over HTTPS when tls_cert_file is set (both
 * files are read here). Returns false with a message in err. */
bool http_server_start(http_server *s, char err[CONFIG_ERR_MAX]);

/* The port actually bound (useful with port 0), or 0 when not started. */
uint16_t http_server_port(const http_server *s);

/* The request metrics (valid once started). */
metrics *http_server_metrics(http_server *s);

/* Stops accepting, waits up to deadline_s for the requests in flight, then
 * stops every thread and closes every connection. Returns true when all
 * requests in flight finished in time. Safe to call on a stopped server. */
bool http_server_stop(http_server *s, double deadline_s);

/* Stops (without waiting) if needed and frees s. NULL is fine. */
void http_server_free(http_server *s);

#endif

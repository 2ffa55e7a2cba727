/* The built-in dashboard (docs/dashboard.md): GET / and GET /assets/{name}
 * serve the page and its bundle, compiled into the binary (web/, bundled
 * by esbuild and embedded by web/embed.mjs at build time), public like
 * /healthz; the page then calls the documented JSON endpoints with the
 * key its user gives. dashboard_data.c adds the two summaries it draws
 * that no other endpoint gave: GET /v1/model/p_alive_matrix and GET
 * /v1/customers/ltv_distribution (scope read, under every tenant too). */
#ifndef LTVD_HTTP_DASHBOARD_H
#define LTVD_HTTP_DASHBOARD_H

#include <stddef.h>

#include "http/http.h"

/* One embedded file: path "/" (the page) or "/assets/<name>". The
 * generated table (build dir, web/embed.mjs) defines dashboard_assets. */
typedef struct dashboard_asset {
    const char *path;
    const char *content_type;
    const char *etag; /* quoted, a digest of the content */
    const unsigned char *data;
    size_t len;
} dashboard_asset;

extern const dashboard_asset dashboard_assets[];
extern const size_t dashboard_nassets;

/* The Content-Security-Policy of the page and its assets. */
#define DASHBOARD_CSP                                                                    \
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "  \
    "style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; "            \
    "frame-ancestors 'none'"

/* GET / and GET /assets/{name}. */
extern const http_route dashboard_routes[];
extern const size_t dashboard_nroutes;

/* GET /v1/model/p_alive_matrix and GET /v1/customers/ltv_distribution:
 * before customers_routes in a router ("/v1/customers/{customer_id}"). */
extern const http_route dashboard_data_routes[];
extern const size_t dashboard_data_nroutes;

#endif

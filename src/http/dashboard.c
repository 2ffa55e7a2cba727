/* GET / and GET /assets/{name}: the embedded dashboard (dashboard.h).
 * Every answer carries the Content-Security-Policy (scripts and
 * connections to this origin only), nosniff, no referrer, and cache
 * validation: the page is revalidated each time (no-cache, ETag), an
 * asset may be kept an hour; If-None-Match with the current ETag gives
 * 304. The bodies are static: nothing is copied per request. */
#include "http/dashboard.h"

#include <microhttpd.h>
#include <string.h>

static const dashboard_asset *find(const char *path)
{
    for (size_t i = 0; i < dashboard_nassets; i++)
        if (strcmp(dashboard_assets[i].path, path) == 0)
            return &dashboard_assets[i];
    return NULL;
}

/* Whether If-None-Match names etag (or is "*"). */
static bool not_modified(http_request *req, const char *etag)
{
    const char *inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    return inm != NULL && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

static http_result serve(http_request *req, const dashboard_asset *a, const char *cache)
{
    const char *headers[] = {"Content-Security-Policy",
                             DASHBOARD_CSP,
                             "X-Content-Type-Options",
                             "nosniff",
                             "Referrer-Policy",
                             "no-referrer",
                             "Cache-Control",
                             cache,
                             "ETag",
                             a->etag,
                             NULL};
    if (not_modified(req, a->etag))
        return http_reply_static(req, 304, NULL, NULL, 0, headers);
    return http_reply_static(req, 200, a->content_type, a->data, a->len, headers);
}

/* GET / */
static http_result get_index(http_request *req)
{
    const dashboard_asset *a = find("/");
    if (a == NULL)
        return http_reply_problem(req, PROBLEM_NOT_FOUND, "no dashboard in this build",
                                  NULL);
    return serve(req, a, "no-cache");
}

/* GET /assets/{name} */
static http_result get_asset(http_request *req)
{
    char path[HTTP_MAX_PARAM_BYTES + 16] = "/assets/";
    strncat(path, req->params[0], sizeof path - strlen(path) - 1);
    const dashboard_asset *a = find(path);
    if (a == NULL)
        return http_reply_problem(req, PROBLEM_NOT_FOUND, "no such dashboard asset",
                                  NULL);
    return serve(req, a, "public, max-age=3600");
}

const http_route dashboard_routes[] = {
    {"GET", "/", get_index, 0, NULL, NULL},
    {"GET", "/assets/{name}", get_asset, 0, NULL, NULL},
};
const size_t dashboard_nroutes = sizeof dashboard_routes / sizeof dashboard_routes[0];

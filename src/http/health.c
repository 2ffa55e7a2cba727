/* Operations endpoints: liveness, readiness (through the server's
 * readiness callback) and the Prometheus metrics. The small hot bodies are
 * constant strings, not jansson documents. */
#include "http/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ok_body[] = "{\"status\":\"ok\"}";
static const char ready_body[] = "{\"status\":\"ready\",\"mode\":\"read-write\"}";

/* GET /healthz: the process is alive and serving. */
static http_result get_healthz(http_request *req)
{
    return http_reply(req, 200, "application/json", ok_body, sizeof ok_body - 1);
}

/* The 200 of a process that cannot write: ready for reads, with why it is
 * read-only and where writes go (the read-only problem's detail). */
static http_result reply_ready_read_only(http_request *req, const char *detail)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "status", "ready", "mode", "read-only",
                          "detail", detail);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL)
        return HTTP_FATAL;
    return http_reply_owned(req, 200, "application/json", text, strlen(text));
}

/* GET /readyz: 200 when start-up is over and the readiness callback says
 * so, with the mode (read-write, or read-only and why); else a 503 problem
 * saying why: `starting` (with the start-up's progress) until start-up is
 * over, `not-ready` after. */
static http_result get_readyz(http_request *req)
{
    char why[600] = "no readiness check configured";
    const http_context *ctx = req->ctx;
    if (ctx->started != NULL && !ctx->started(ctx->started_cls, why, sizeof why))
        return http_reply_problem(req, PROBLEM_STARTING, why, NULL);
    if (req->ctx->ready != NULL &&
        req->ctx->ready(req->ctx->ready_cls, why, sizeof why)) {
        if (ctx->read_only != NULL && ctx->read_only(ctx->read_only_cls, why, sizeof why))
            return reply_ready_read_only(req, why);
        return http_reply(req, 200, "application/json", ready_body,
                          sizeof ready_body - 1);
    }
    return http_reply_problem(req, PROBLEM_NOT_READY, why, NULL);
}

/* GET /metrics: Prometheus text. Unless metrics_public, the dispatcher
 * lets only keys with the scope read or admin this far (http/access.c). */
static http_result get_metrics(http_request *req)
{
    size_t len = 0, more_len = 0;
    char *text = metrics_render(req->ctx->metrics, &len);
    if (text != NULL && req->ctx->more_metrics != NULL) {
        char *more = req->ctx->more_metrics(req->ctx->more_metrics_cls, &more_len);
        char *all = more != NULL ? realloc(text, len + more_len + 1) : NULL;
        if (all != NULL) { /* else the request metrics alone */
            memcpy(all + len, more, more_len + 1);
            len += more_len;
            text = all;
        }
        free(more);
    }
    return http_reply_owned(req, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                            len);
}

const http_route health_routes[] = {
    {"GET", "/healthz", get_healthz, 0, NULL, NULL},
    {"GET", "/readyz", get_readyz, 0, NULL, NULL},
    {"GET", "/metrics", get_metrics, 0, NULL, NULL},
};
const size_t health_nroutes = sizeof health_routes / sizeof health_routes[0];

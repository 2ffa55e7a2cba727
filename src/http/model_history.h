/* GET /v1/model/diagnostics (the served snapshot's back-test) and
 * GET /v1/model/history?limit=N (the newest snapshots), scope read,
 * docs/diagnostics.md. */
#ifndef LTVD_HTTP_MODEL_HISTORY_H
#define LTVD_HTTP_MODEL_HISTORY_H

#include <stddef.h>

#include "http/http.h"

/* The routes; req->ctx->app must be an app (app/app.h). */
extern const http_route model_history_routes[];
extern const size_t model_history_nroutes;

#endif

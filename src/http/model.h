/* GET /v1/model (the current snapshot and the last refit attempt) and
 * POST /v1/model/refit (asks the worker for a refit: 202). */
#ifndef LTVD_HTTP_MODEL_H
#define LTVD_HTTP_MODEL_H

#include <stddef.h>

#include "http/http.h"

/* The routes; req->ctx->app must be an app (app/app.h). */
extern const http_route model_routes[];
extern const size_t model_nroutes;

#endif

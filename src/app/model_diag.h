/* The served model's diagnostics and the snapshot history, read from
 * PostgreSQL for GET /v1/model/diagnostics and GET /v1/model/history
 * (docs/diagnostics.md). Both wait on PostgreSQL within the request bounds
 * (app/db_wait.h): their routes run on the offload pool. */
#ifndef LTVD_APP_MODEL_DIAG_H
#define LTVD_APP_MODEL_DIAG_H

#include <jansson.h>

#include "app/app.h"
#include "app/db_wait.h"

/* The history's page size: default and bounds of ?limit. */
#define APP_HISTORY_DEFAULT 20
#define APP_HISTORY_MAX 100

typedef enum app_diag_status {
    APP_DIAG_OK = 0,
    APP_DIAG_NO_MODEL,    /* no snapshot served: the no-model problem */
    APP_DIAG_UNAVAILABLE, /* PostgreSQL failed, timed out or is busy: detail says */
    APP_DIAG_NO_MEMORY,
} app_diag_status;

/* The served snapshot's diagnostics, {"version", "fitted_at" (RFC 3339),
 * "backtest": <back-test JSON> | null, "reason": text | null}, into *doc
 * (caller owns it). The back-test runs after the snapshot is served: until
 * it is stored, backtest is null and reason says it is pending. */
app_diag_status app_model_diagnostics(app_tenant *t, json_t **doc,
                                      char detail[APP_DB_DETAIL_MAX]);

/* {"snapshots": [...]}: the tenant's newest limit snapshots (1 ..
 * APP_HISTORY_MAX), newest first, each {version, fitted_at, model, params,
 * std_errors, log_likelihood, customers, fit_seconds, diagnostics: {mae,
 * naive_mae, worse_than_naive} | null}, into *doc (caller owns it). */
app_diag_status app_model_history(app_tenant *t, int limit, json_t **doc,
                                  char detail[APP_DB_DETAIL_MAX]);

#endif

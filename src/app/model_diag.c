/* GET /v1/model/diagnostics and /v1/model/history's data (model_diag.h):
 * one bounded statement each on a pooled connection, the documents built
 * here with jansson. */
#include "app/model_diag.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tenant.h"
#include "cache/cache.h"
#include "store/diagnostics.h"

/* The reason of a snapshot whose back-test is not stored yet. */
#define PENDING_REASON                                                                   \
    "pending: the back-test runs after the refit that saved this snapshot (or the "      \
    "snapshot is from before back-tests were recorded)"

static app_diag_status unavailable(app *a, store_db *db, char detail[APP_DB_DETAIL_MAX])
{
    app_db_refused(a, db);
    snprintf(detail, APP_DB_DETAIL_MAX, "%.200s",
             store_db_timed_out(db) ? "the database did not answer in time"
                                    : store_db_error(db));
    return APP_DIAG_UNAVAILABLE;
}

/* The stored diagnostics text as the document's backtest and reason. */
static json_t *diag_doc(uint64_t version, const char *fitted_at, const char *text)
{
    json_t *stored = text != NULL ? json_loads(text, 0, NULL) : NULL;
    json_t *bt = json_object_get(stored, "backtest");
    json_t *why = json_object_get(stored, "reason");
    json_t *btv = json_is_object(bt) ? json_incref(bt) : json_null();
    json_t *reason = json_is_string(why) ? json_incref(why)
                     : stored == NULL    ? json_string(PENDING_REASON)
                                         : json_null();
    json_t *doc = json_pack("{s:I, s:s, s:o, s:o}", "version", (json_int_t)version,
                            "fitted_at", fitted_at, "backtest", btv, "reason", reason);
    json_decref(stored);
    return doc;
}

app_diag_status app_model_diagnostics(app_tenant *t, json_t **doc,
                                      char detail[APP_DB_DETAIL_MAX])
{
    *doc = NULL;
    const cache_model *m = cache_snapshot_acquire(t->cache);
    if (m == NULL)
        return APP_DIAG_NO_MODEL;
    uint64_t version = m->version;
    cache_snapshot_release(m);
    app *a = t->app;
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_DIAG_UNAVAILABLE;
    char fitted_at[40], *text = NULL;
    int rc =
        store_snapshot_diagnostics_get(db, t->id, (int64_t)version, fitted_at, &text);
    app_diag_status st = rc < 0 ? unavailable(a, db, detail) : APP_DIAG_OK;
    app_db_release(a, db);
    if (rc == 0) /* the served snapshot is not stored: not one a refit saved */
        return APP_DIAG_NO_MODEL;
    if (st == APP_DIAG_OK && (*doc = diag_doc(version, fitted_at, text)) == NULL)
        st = APP_DIAG_NO_MEMORY;
    free(text);
    return st;
}

/* A JSON text of the store as a value (null when NULL or not JSON). */
static json_t *json_of(const char *text)
{
    json_t *v = text != NULL ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v != NULL ? v : json_null();
}

/* v as a JSON number, or null when it is not finite (a stored row is not
 * trusted to be: one odd row must not fail the whole history). */
static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *history_item(const store_history_row *h)
{
    json_t *diag = h->has_backtest
                       ? json_pack("{s:o, s:o, s:b}", "mae", number_or_null(h->mae),
                                   "naive_mae", number_or_null(h->naive_mae),
                                   "worse_than_naive", h->worse_than_naive)
                       : json_null();
    return json_pack(
        "{s:I, s:s?, s:s?, s:o, s:o, s:o, s:I, s:o, s:o}", "version", (json_int_t)h->id,
        "fitted_at", h->fitted_at, "model", h->model, "params", json_of(h->params_json),
        "std_errors", json_of(h->std_errors_json), "log_likelihood",
        number_or_null(h->log_likelihood), "customers", (json_int_t)h->n_customers,
        "fit_seconds", number_or_null(h->seconds), "diagnostics", diag);
}

app_diag_status app_model_history(app_tenant *t, int limit, json_t **doc,
                                  char detail[APP_DB_DETAIL_MAX])
{
    *doc = NULL;
    app *a = t->app;
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_DIAG_UNAVAILABLE;
    store_history_row *rows = NULL;
    size_t n = 0;
    int rc = store_snapshot_history(db, t->id, limit, &rows, &n);
    app_diag_status st = rc < 0 ? unavailable(a, db, detail) : APP_DIAG_OK;
    app_db_release(a, db);
    if (st != APP_DIAG_OK)
        return st;
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && i < n; i++)
        if (json_array_append_new(items, history_item(&rows[i])) != 0) {
            json_decref(items);
            items = NULL;
        }
    store_history_free(rows, n);
    *doc = items != NULL ? json_pack("{s:o}", "snapshots", items) : NULL;
    return *doc != NULL ? APP_DIAG_OK : APP_DIAG_NO_MEMORY;
}

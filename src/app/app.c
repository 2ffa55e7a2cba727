/* The service state and its start-up: pool, migrations, cache rebuild and
 * the newest model snapshot. */
#define _GNU_SOURCE /* PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP */
#include "app/app.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/customer_query.h"
#include "app/sync.h"
#include "model/btyd.h"
#include "store/customers.h"
#include "store/migrate.h"
#include "summary/summary.h"
#include "worker/worker.h"

/* ------------------------------------------------------------ snapshots */

/* Reads names[0..n) from the JSON object text into out; each must be a
 * finite number > 0. Returns 0, or -1 with err set. */
static int read_params(const char *text, const char *const *names, size_t n, double *out,
                       const char *what, char err[CONFIG_ERR_MAX])
{
    json_error_t jerr;
    json_t *o = json_loads(text != NULL ? text : "", 0, &jerr);
    int rc = json_is_object(o) ? 0 : -1;
    if (rc != 0)
        snprintf(err, CONFIG_ERR_MAX, "%s parameters: not a JSON object", what);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *v = json_object_get(o, names[i]);
        out[i] = json_is_number(v) ? json_number_value(v) : NAN;
        if (!(isfinite(out[i]) && out[i] > 0)) {
            snprintf(err, CONFIG_ERR_MAX, "%s parameter %s: missing or not > 0", what,
                     names[i]);
            rc = -1;
        }
    }
    json_decref(o);
    return rc;
}

static void fit_from_store(const store_fit *f, const double *params, size_t n,
                           fit_result *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->params, params, n * sizeof *params);
    out->log_likelihood = f->log_likelihood;
    out->iterations = f->iterations > 0 ? (size_t)f->iterations : 0;
    out->converged = f->converged;
    out->seconds = f->seconds;
}

/* The standard errors, when stored: optional, so a missing or bad object
 * only leaves std_errors_ok false. */
static void std_errors_from_store(const store_fit *f, const char *const *names, size_t n,
                                  fit_result *out)
{
    char ignored[CONFIG_ERR_MAX];
    double se[FIT_MAX_PARAMS];
    if (f->std_errors_json != NULL &&
        read_params(f->std_errors_json, names, n, se, "std_errors", ignored) == 0) {
        memcpy(out->std_errors, se, n * sizeof *se);
        out->std_errors_ok = true;
    }
}

int app_model_from_snapshot(const store_snapshot *s, cache_model *out,
                            char err[CONFIG_ERR_MAX])
{
    static const char *const gg_names[] = {"p", "q", "v"};
    memset(out, 0, sizeof *out);
    out->model = btyd_model_find(s->purchase.model != NULL ? s->purchase.model : "");
    if (out->model == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "snapshot %lld: unknown model", (long long)s->id);
        return -1;
    }
    if (strcmp(s->period, "day") == 0 || strcmp(s->period, "week") == 0) {
        out->period_days = s->period[0] == 'd' ? 1 : 7;
    } else {
        snprintf(err, CONFIG_ERR_MAX, "snapshot %lld: bad period", (long long)s->id);
        return -1;
    }
    if (read_params(s->purchase.params_json, out->model->param_names,
                    out->model->n_params, out->params, out->model->name, err) != 0)
        return -1;
    fit_from_store(&s->purchase, out->params, out->model->n_params, &out->fit);
    std_errors_from_store(&s->purchase, out->model->param_names, out->model->n_params,
                          &out->fit);
    if (s->has_spend) {
        if (read_params(s->spend.params_json, gg_names, 3, out->gg_params, "gg", err) !=
            0)
            return -1;
        out->has_spend = true;
        fit_from_store(&s->spend, out->gg_params, 3, &out->gg_fit);
        std_errors_from_store(&s->spend, gg_names, 3, &out->gg_fit);
    }
    if (!isfinite(s->created_at) || !isfinite(s->as_of)) {
        snprintf(err, CONFIG_ERR_MAX, "snapshot %lld: created_at or as_of not finite",
                 (long long)s->id);
        return -1;
    }
    out->fitted_at = s->created_at;
    out->as_of = s->as_of;
    out->version = (uint64_t)s->id;
    out->n_customers = s->purchase.n_customers > 0 ? (size_t)s->purchase.n_customers : 0;
    out->n_patterns = s->purchase.n_patterns > 0 ? (size_t)s->purchase.n_patterns : 0;
    return 0;
}

/* ------------------------------------------------------------ the cache */

static int rebuild_one(const store_customer *c, void *arg)
{
    cache_summary s;
    if (!app_summary_from_store(c, &s))
        return 1;
    return cache_upsert(arg, c->customer_id, &s) == CACHE_OK ? 0 : 1;
}

void app_db_failed(app *a)
{
    long long zero = 0;
    atomic_compare_exchange_strong(&a->db_down_since, &zero, (long long)time(NULL));
}

void app_db_ok(app *a)
{
    atomic_store(&a->db_down_since, 0);
}

long long app_db_down_since(app *a)
{
    return atomic_load(&a->db_down_since);
}

bool app_sync_begin(app *a)
{
    if (a->sync == NULL && a->config->cache_sync_ms > 0)
        a->sync = app_sync_start(a, a->config->cache_sync_ms);
    return a->sync != NULL || a->config->cache_sync_ms == 0;
}

bool app_worker_start(app *a)
{
    if (a->worker == NULL)
        a->worker = worker_start(a);
    return a->worker != NULL && app_list_start(a);
}

void app_note_ingested(app *a, size_t n_new, size_t n_duplicate)
{
    atomic_fetch_add(&a->n_batches, 1);
    atomic_fetch_add(&a->n_txn_new, n_new);
    atomic_fetch_add(&a->n_txn_duplicate, n_duplicate);
    if (a->worker != NULL)
        worker_note_ingested(a->worker, n_new);
}

int64_t app_as_of_day(const app *a)
{
    if (a->config->has_as_of)
        return a->config->as_of_day;
    return summary_day_of((int64_t)time(NULL));
}

/* ------------------------------------------------------------ start-up */

/* Migrations, cache rebuild and snapshot, on one pooled connection. */
static int load_state(app *a, store_db *db, char err[CONFIG_ERR_MAX])
{
    int applied = 0;
    if (store_migrate(db, a->migrations_dir, &applied) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "migrate: %.200s", store_db_error(db));
        return -1;
    }
    /* before the rebuild: what begins later is the catch-up's (sync.c) */
    if (store_customers_horizon(db, a->sync_since) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "cache rebuild: %.200s", store_db_error(db));
        return -1;
    }
    int64_t as_of = a->config->has_as_of ? a->config->as_of_day : STORE_AS_OF_NOW;
    int rc = store_customers_stream(db, as_of, rebuild_one, a->cache);
    if (rc != 0) {
        snprintf(err, CONFIG_ERR_MAX, "cache rebuild: %.200s",
                 rc < 0 ? store_db_error(db) : "invalid summary or out of memory");
        return -1;
    }
    store_snapshot s;
    rc = store_snapshot_load_latest(db, &s);
    if (rc < 0) {
        snprintf(err, CONFIG_ERR_MAX, "model snapshot: %.200s", store_db_error(db));
        return -1;
    }
    if (rc == 0)
        return 0;
    cache_model m;
    rc = app_model_from_snapshot(&s, &m, err);
    store_snapshot_free(&s);
    if (rc == 0 && cache_snapshot_set(a->cache, &m) != CACHE_OK) {
        snprintf(err, CONFIG_ERR_MAX, "model snapshot: out of memory");
        rc = -1;
    }
    return rc;
}

app *app_open(const ltvd_config *config, const char *migrations_dir,
              char err[CONFIG_ERR_MAX])
{
    if (config->database_url[0] == '\0') {
        snprintf(err, CONFIG_ERR_MAX, "DATABASE_URL is not set");
        return NULL;
    }
    app *a = calloc(1, sizeof *a);
    if (a == NULL || pthread_mutex_init(&a->writer, NULL) != 0) {
        free(a);
        snprintf(err, CONFIG_ERR_MAX, "out of memory");
        return NULL;
    }
    /* Writer preference: the catch-up must get in between busy batches. */
    pthread_rwlockattr_t ga;
    pthread_rwlockattr_init(&ga);
    pthread_rwlockattr_setkind_np(&ga, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int grc = pthread_rwlock_init(&a->gate, &ga);
    pthread_rwlockattr_destroy(&ga);
    if (grc != 0) {
        pthread_mutex_destroy(&a->writer);
        free(a);
        snprintf(err, CONFIG_ERR_MAX, "out of memory");
        return NULL;
    }
    a->config = config;
    atomic_init(&a->n_batches, 0);
    atomic_init(&a->n_txn_new, 0);
    atomic_init(&a->n_txn_duplicate, 0);
    atomic_init(&a->db_down_since, 0);
    snprintf(a->migrations_dir, sizeof a->migrations_dir, "%s", migrations_dir);
    char dberr[STORE_ERR_MAX];
    a->cache = cache_new(0);
    a->lists = app_list_state_new(config);
    a->pool =
        store_pool_open(config->database_url, (size_t)config->thread_pool_size, dberr);
    if (a->cache == NULL || a->lists == NULL || a->pool == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "%.200s",
                 a->pool == NULL ? dberr : "out of memory");
        app_free(a);
        return NULL;
    }
    store_db *db = store_pool_acquire(a->pool, -1);
    int rc = load_state(a, db, err);
    store_pool_release(a->pool, db);
    if (rc != 0) {
        app_free(a);
        return NULL;
    }
    return a;
}

void app_free(app *a)
{
    if (a == NULL)
        return;
    worker_stop(a->worker); /* first: it uses the pool and the cache */
    app_sync_stop(a->sync);
    app_list_stop(a->lists); /* before the cache: its thread reads it */
    store_pool_close(a->pool);
    cache_free(a->cache);
    app_window_close(a);
    free(a->own_xids);
    pthread_rwlock_destroy(&a->gate);
    pthread_mutex_destroy(&a->writer);
    free(a);
}

/* ------------------------------------------------------------ readiness */

bool app_ready(void *cls, char *why, size_t n)
{
    app *a = cls;
    const cache_model *m = cache_snapshot_acquire(a->cache);
    cache_snapshot_release(m);
    if (m == NULL) {
        snprintf(why, n, "no model has been fitted yet");
        return false;
    }
    store_db *db = store_pool_acquire(a->pool, APP_POOL_WAIT_MS);
    if (db == NULL) {
        snprintf(why, n, "no database connection free");
        return false;
    }
    int pending = 0;
    bool ok = store_db_ping(db) == 0 &&
              store_migrations_pending(db, a->migrations_dir, &pending) == 0;
    if (ok)
        app_db_ok(a);
    else
        app_db_failed(a);
    if (!ok)
        snprintf(why, n, "database unreachable: %.100s", store_db_error(db));
    else if (pending > 0)
        snprintf(why, n, "%d migration(s) pending", pending);
    store_pool_release(a->pool, db);
    return ok && pending == 0;
}

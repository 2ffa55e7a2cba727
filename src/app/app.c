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

#include "app/acq_view.h"
#include "app/apply.h"
#include "app/checkpoint.h"
#include "app/customer_query.h"
#include "app/db_wait.h"
#include "app/follow.h"
#include "app/list_table.h"
#include "app/mode.h"
#include "app/readiness.h"
#include "app/subs.h"
#include "app/sync.h"
#include "app/tenant_admin.h"
#include "app/tenants.h"
#include "base/clock.h"
#include "base/ticker.h"
#include "cache/score_memo.h"
#include "log/log.h"
#include "model/accept.h"
#include "model/btyd.h"
#include "model/gg.h"
#include "store/customers.h"
#include "store/fleet.h"
#include "summary/summary.h"
#include "worker/covariance.h"
#include "worker/worker.h"

/* ------------------------------------------------------------ snapshots */

/* Reads names[0..n) from the JSON object text into out; each must be a
 * finite number > 0. Returns 0, or -1 with err set. */
static int read_params(const char *text, const char *const *names, size_t n, double *out,
                       const char *what, char err[CONFIG_ERR_MAX])
{
    json_error_t jerr;
    /* as reals whatever their magnitude: jsonb prints a parameter of 1e19
     * as a 20-digit integer, which jansson refuses as an integer */
    json_t *o = json_loads(text != NULL ? text : "", JSON_DECODE_INT_AS_REAL, &jerr);
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
    worker_covariance_read(s->covariance_json, out); /* intervals: none without */
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
    snprintf(out->settings_model, sizeof out->settings_model, "%s", s->settings_model);
    out->settings_as_of_day =
        s->settings_as_of_set ? s->settings_as_of_day : CACHE_AS_OF_NOW;
    out->gg_n_customers =
        s->has_spend && s->spend.n_customers > 0 ? (size_t)s->spend.n_customers : 0;
    out->gg_n_zero = s->spend_n_zero > 0 ? (size_t)s->spend_n_zero : 0;
    snprintf(out->fallback, sizeof out->fallback, "%s",
             s->fallback != NULL ? s->fallback : "");
    return 0;
}

bool app_snapshot_usable(app_tenant *t, const cache_model *m, char *why, size_t len)
{
    char w[WORKER_REASON_MAX];
    if (!worker_settings_match(m, app_tenant_config(t), w, sizeof w)) {
        snprintf(why, len, "not fitted under the running settings: %s", w);
        return false;
    }
    const btyd_model *b = m->model;
    bool params_ok =
        accept_params(b->name, b->param_names, b->n_params, m->params, w, sizeof w) ==
            ACCEPT_OK &&
        (!m->has_spend ||
         accept_params("gg", gg_param_names, 3, m->gg_params, w, sizeof w) == ACCEPT_OK);
    if (!params_ok) {
        snprintf(why, len, "cannot be used: %s", w);
        return false;
    }
    worker_env env;
    app_worker_env(t, &env);
    if (!worker_check_scores(&env, m, w, sizeof w)) {
        snprintf(why, len, "cannot score: %s", w);
        return false;
    }
    return true;
}

/* Looks at APP_SNAPSHOTS_TRIED at most: the tenant then starts with no
 * model and the worker refits. */
int app_tenant_load_snapshot(app_tenant *t, store_db *db, char err[CONFIG_ERR_MAX])
{
    int64_t before = INT64_MAX;
    for (int i = 0; i < APP_SNAPSHOTS_TRIED; i++) {
        store_snapshot s;
        int rc = store_snapshot_load_before(db, t->id, before, &s);
        if (rc < 0) {
            snprintf(err, CONFIG_ERR_MAX, "model snapshot: %.200s", store_db_error(db));
            return -1;
        }
        if (rc == 0)
            return 0;
        before = s.id;
        cache_model m;
        char why[CONFIG_ERR_MAX + WORKER_REASON_MAX];
        bool ok = app_model_from_snapshot(&s, &m, why) == 0 &&
                  app_snapshot_usable(t, &m, why, sizeof why);
        store_snapshot_free(&s);
        if (ok && cache_snapshot_set(t->cache, &m) == CACHE_OK) {
            log_write(LOG_INFO, "tenant %s: model snapshot %lld served", t->id,
                      (long long)before);
            return 0;
        }
        atomic_fetch_add(&t->n_snapshots_skipped, 1);
        if (i == 0)
            snprintf(t->snapshot_note, sizeof t->snapshot_note,
                     "stored snapshot %lld not served: %.300s", (long long)before,
                     ok ? "out of memory" : why);
        log_write(LOG_WARN,
                  "tenant %s: model snapshot %lld skipped (not served; a refit "
                  "follows): %s",
                  t->id, (long long)before, ok ? "out of memory" : why);
    }
    log_write(LOG_WARN,
              "tenant %s: no usable model snapshot among the newest %d: starting "
              "without a model",
              t->id, APP_SNAPSHOTS_TRIED);
    return 0;
}

/* ------------------------------------------------------------ the cache */

/* The start-up rebuild's state: the tenant of the last row (rows of one
 * tenant mostly come together), and the one tenant of a per-tenant stream
 * (NULL: every tenant's, skipping those with their own as_of). */
typedef struct rebuild_ctx {
    app *a;
    app_tenant *last;
    app_tenant *only;
} rebuild_ctx;

/* One customer of the start-up rebuild, counted for the progress /readyz
 * reports. A row of a tenant this process does not know (created since
 * the tenants were read) is left to the follower, which loads it whole. */
static int rebuild_one(const store_customer *c, void *arg)
{
    rebuild_ctx *x = arg;
    app_tenant *t = x->only;
    if (t == NULL) {
        if (x->last == NULL || strcmp(x->last->id, c->tenant_id) != 0) {
            app_tenant_release(x->last);
            x->last = app_tenants_find(x->a->tenants, c->tenant_id);
        }
        t = x->last;
        if (t == NULL || app_tenant_config(t)->has_as_of)
            return 0;
    }
    if (app_cache_load(t->cache, c) != CACHE_OK)
        return 1;
    atomic_fetch_add_explicit(&x->a->n_loaded, 1, memory_order_relaxed);
    return 0;
}

int app_tenant_rebuild(app_tenant *t, store_db *db)
{
    rebuild_ctx x = {t->app, NULL, t};
    const ltvd_config *cfg = app_tenant_config(t);
    return store_customers_stream(
        db, t->id, cfg->has_as_of ? cfg->as_of_day : STORE_AS_OF_NOW, rebuild_one, &x);
}

/* Every tenant's cache: one stream of every tenant's customers as of now
 * (unless every tenant has an as_of: its rows would all be skipped), then
 * one per tenant with an as_of of its own. */
static int rebuild_all(app *a, store_db *db)
{
    size_t n;
    app_tenant **v = app_tenants_list(a->tenants, &n);
    bool any_now = false;
    for (size_t i = 0; i < n; i++)
        any_now = any_now || !app_tenant_config(v[i])->has_as_of;
    rebuild_ctx x = {a, NULL, NULL};
    int rc =
        any_now ? store_customers_stream(db, NULL, STORE_AS_OF_NOW, rebuild_one, &x) : 0;
    app_tenant_release(x.last);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (app_tenant_config(v[i])->has_as_of)
            rc = app_tenant_rebuild(v[i], db);
    app_tenants_list_free(v, n);
    return rc;
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

static int64_t as_of_day_cb(void *cls)
{
    return app_tenant_as_of_day(cls);
}

static const ltvd_config *config_cb(void *cls)
{
    return app_tenant_config(cls);
}

void app_worker_env(app_tenant *t, worker_env *out)
{
    *out = (worker_env){t->cache, t->app->pool, app_tenant_config(t), as_of_day_cb, t,
                        t->id,    config_cb,    t->app->workers};
}

bool app_worker_start(app *a)
{
    size_t n;
    app_tenant **v = app_tenants_list(a->tenants, &n);
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = app_tenant_start(v[i]) && ok;
    app_tenants_list_free(v, n);
    if (a->follow == NULL) /* read-only processes follow too (polling on a standby) */
        a->follow = app_follow_start(a);
    return ok && a->follow != NULL;
}

void app_note_changed(app_tenant *t, size_t n)
{
    if (t->worker != NULL)
        worker_note_changed(t->worker, n);
}

app_tenant *app_tenant_find(app *a, const char *id)
{
    return app_tenants_find(a->tenants, id);
}

void *app_http_tenant_acquire(void *a, const char *id)
{
    /* a tenant marked deleted just after it was found may have been
     * replaced (deleted and created again elsewhere: the new one is in
     * the registry before the old one is marked), so a second look finds
     * the new one; a few more cover replacements in quick succession */
    for (int look = 0; look < 8; look++) {
        app_tenant *t = app_tenants_find(((app *)a)->tenants, id);
        if (t == NULL || !atomic_load(&t->deleted))
            return t;
        app_tenant_release(t);
    }
    return NULL;
}

void app_http_tenant_release(void *tenant)
{
    app_tenant_release(tenant);
}

/* The no-model detail without the start-up note. */
static void no_model_why(app_tenant *t, char *out, size_t len)
{
    worker_status st = {0};
    char why[WORKER_REASON_MAX];
    if (t->worker == NULL && t->app->read_only) {
        snprintf(out, len,
                 "no model snapshot is stored yet: this process is read-only "
                 "and does not fit; a process on the primary does");
        return;
    }
    if (t->worker == NULL) {
        snprintf(out, len, "no model has been fitted yet (no refit worker is running)");
        return;
    }
    worker_status_get(t->worker, &st);
    if (!st.looked)
        snprintf(out, len,
                 "no model has been fitted yet: the worker is looking at the data");
    else if (!worker_eligible(t->worker, why, sizeof why))
        snprintf(out, len, "no model has been fitted yet: not enough data: %s", why);
    else if (st.running || st.outcome != WORKER_FAILED)
        snprintf(out, len,
                 "no model has been fitted yet: the data are eligible, a fit "
                 "is under way");
    else
        snprintf(out, len, "no model has been fitted yet; the last refit failed: %s",
                 st.reason);
}

void app_no_model_detail(app_tenant *t, char *out, size_t len)
{
    no_model_why(t, out, len);
    size_t used = strlen(out);
    if (t->snapshot_note[0] != '\0' && used + 3 < len)
        snprintf(out + used, len - used, " (%s)", t->snapshot_note);
}

void app_note_ingested(app_tenant *t, size_t n_new, size_t n_duplicate)
{
    app *a = t->app;
    atomic_fetch_add(&a->n_batches, 1);
    atomic_fetch_add(&a->n_txn_new, n_new);
    atomic_fetch_add(&a->n_txn_duplicate, n_duplicate);
    if (t->worker != NULL)
        worker_note_ingested(t->worker, n_new);
}

/* ------------------------------------------------------------ start-up */

static void set_phase(app *a, app_phase p)
{
    atomic_store_explicit(&a->phase, (int)p, memory_order_release);
}

static app_phase get_phase(app *a)
{
    return (app_phase)atomic_load_explicit(&a->phase, memory_order_acquire);
}

int app_start_migrate(app *a, char err[CONFIG_ERR_MAX])
{
    const ltvd_config *config = a->config;
    char dberr[STORE_ERR_MAX];
    store_db_limits lim, boot;
    app_db_limits(config, &lim);
    /* start-up (migrations, the cache rebuild) may take long: no statement
     * bound, but the same connect and TCP bounds */
    boot = lim;
    boot.statement_timeout_ms = boot.wait_ms = 0;
    /* a connection for every request that may wait on PostgreSQL at once */
    a->pool = store_pool_open(config->database_url, (size_t)app_db_slots(config) + 1,
                              &lim, dberr);
    a->boot = a->pool != NULL ? store_db_open_limited(config->database_url, &boot, dberr)
                              : NULL;
    if (a->pool == NULL || a->boot == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "%.200s", dberr);
        return -1;
    }
    set_phase(a, APP_MIGRATING);
    if (app_mode_prepare(a, a->boot, err) != 0) /* read-only: no migration */
        return -1;
    set_phase(a, APP_MIGRATED);
    return 0;
}

/* The catch-up's horizon, the cache rebuild and the snapshot, on the
 * start-up connection. */
static int load_state(app *a, store_db *db, char err[CONFIG_ERR_MAX])
{
    /* before the rebuild: what begins later is the catch-up's (sync.c) */
    if (store_customers_horizon(db, a->sync_since) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "cache rebuild: %.200s", store_db_error(db));
        return -1;
    }
    atomic_store(&a->n_expected, store_customers_estimate(db)); /* -1 is fine */
    if (app_tenants_load(a, db, err) != 0)
        return -1;
    set_phase(a, APP_REBUILDING);
    /* the tenants' checkpoints (app/checkpoint.h) when there are: else the
     * aggregate of every customer's days */
    int rc = app_checkpoint_load(a, db, err);
    if (rc < 0)
        return -1;
    rc = rc == 0 ? rebuild_all(a, db) : 0;
    if (rc != 0) {
        snprintf(err, CONFIG_ERR_MAX, "cache rebuild: %.200s",
                 rc < 0 ? store_db_error(db) : "invalid summary or out of memory");
        return -1;
    }
    set_phase(a, APP_LOADING_MODEL);
    size_t n;
    app_tenant **v = app_tenants_list(a->tenants, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = app_tenant_load_snapshot(v[i], db, err);
    for (size_t i = 0; rc == 0 && i < n; i++) /* the answers' spend copy (acq_view.h) */
        if ((rc = app_acq_spend_load(v[i], db)) != 0)
            snprintf(err, CONFIG_ERR_MAX, "acquisition spend: %.200s",
                     store_db_error(db));
    for (size_t i = 0; rc == 0 && i < n; i++) /* the subscriptions (app/subs.h) */
        if ((rc = app_subs_load(v[i], db)) != 0)
            snprintf(err, CONFIG_ERR_MAX, "subscriptions: %.200s", store_db_error(db));
    app_tenants_list_free(v, n);
    return rc;
}

int app_start_load(app *a, char err[CONFIG_ERR_MAX])
{
    store_db *db = app_mode_rebuild_db(a, a->boot, err); /* DATABASE_READ_URL */
    int rc = db != NULL ? load_state(a, db, err) : -1;
    if (db != a->boot)
        store_db_close(db);
    store_db_close(a->boot);
    a->boot = NULL;
    if (rc == 0 && (a->readiness = app_readiness_start(a)) == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "the readiness check could not be started");
        rc = -1;
    }
    if (rc == 0)
        set_phase(a, APP_LOADED);
    return rc;
}

void app_start_serving(app *a)
{
    long long took = base_mono_ms() - a->start_ms;
    atomic_store(&a->start_took_ms, took > 0 ? took : 1);
    set_phase(a, APP_SERVING);
    log_write(LOG_INFO,
              "started in %.3f s: %zu tenants, cache of %llu customers, serving every "
              "route",
              (double)took / 1000.0, app_tenants_count(a->tenants),
              (unsigned long long)atomic_load(&a->n_loaded));
}

void app_start_failed(app *a, const char *why)
{
    snprintf(a->start_error, sizeof a->start_error, "%s", why);
    set_phase(a, APP_FAILED);
}

/* The rebuild's progress: "N of about M customers loaded". */
static void rebuild_progress(app *a, char *out, size_t len)
{
    unsigned long long n = atomic_load_explicit(&a->n_loaded, memory_order_relaxed);
    long long m = atomic_load(&a->n_expected);
    if (m >= 0 && (unsigned long long)m >= n)
        snprintf(out, len, "%llu of about %lld customers loaded", n, m);
    else
        snprintf(out, len, "%llu customers loaded", n);
}

bool app_started(void *cls, char *why, size_t len)
{
    app *a = cls;
    app_phase p = get_phase(a);
    char progress[96];
    switch (p) {
    case APP_SERVING:
        return true;
    case APP_CONNECTING:
        snprintf(why, len, "the service is starting: connecting to PostgreSQL");
        break;
    case APP_MIGRATING:
        snprintf(why, len, "the service is starting: applying the database migrations");
        break;
    case APP_MIGRATED:
        snprintf(why, len, "the service is starting: loading the API keys");
        break;
    case APP_REBUILDING:
        rebuild_progress(a, progress, sizeof progress);
        snprintf(why, len, "the service is starting: cache rebuild: %s", progress);
        break;
    case APP_LOADING_MODEL:
    case APP_LOADED:
        snprintf(why, len,
                 "the service is starting: the cache is complete (%llu customers); %s",
                 (unsigned long long)atomic_load(&a->n_loaded),
                 p == APP_LOADING_MODEL ? "loading the model snapshot"
                                        : "starting the refit worker and the catch-up");
        break;
    default:
        snprintf(why, len, "start-up failed: %s", a->start_error);
        break;
    }
    return false;
}

app *app_new(const ltvd_config *config, const char *migrations_dir,
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
    atomic_init(&a->db_waiting, 0);
    atomic_init(&a->n_db_busy, 0);
    atomic_init(&a->n_db_timeout, 0);
    atomic_init(&a->n_db_failed, 0);
    atomic_init(&a->phase, APP_CONNECTING);
    atomic_init(&a->n_loaded, 0);
    atomic_init(&a->exports, 0);
    atomic_init(&a->n_expected, -1);
    atomic_init(&a->start_took_ms, 0);
    a->start_ms = base_mono_ms();
    a->db_slots = app_db_slots(config);
    snprintf(a->migrations_dir, sizeof a->migrations_dir, "%s", migrations_dir);
    a->tenants = app_tenants_new();
    a->list_shared = app_list_shared_new(config);
    a->workers = ticker_group_start();
    if (a->tenants == NULL || a->list_shared == NULL || a->workers == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "out of memory");
        app_free(a);
        return NULL;
    }
    return a;
}

app *app_open(const ltvd_config *config, const char *migrations_dir,
              char err[CONFIG_ERR_MAX])
{
    app *a = app_new(config, migrations_dir, err);
    if (a == NULL)
        return NULL;
    if (app_start_migrate(a, err) != 0 || app_start_load(a, err) != 0) {
        app_free(a);
        return NULL;
    }
    cache_score_memo_prepare();
    app_start_serving(a);
    return a;
}

void app_free(app *a)
{
    if (a == NULL)
        return;
    /* the threads that call into the worker (the catch-up's
     * app_note_changed, the follower) stop before it is freed; the worker
     * before the pool and the cache it uses */
    app_follow_stop(a->follow);
    app_sync_stop(a->sync);
    /* each tenant's worker and list keeper stop with its last reference */
    app_tenant_release(a->dflt);
    app_tenants_free(a->tenants);
    ticker_group_stop(a->workers); /* every tenant's worker stopped above */
    app_list_shared_free(a->list_shared);
    app_readiness_stop(a->readiness);
    store_db_close(a->boot);
    store_pool_close(a->pool);
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
    if (!app_started(a, why, n))
        return false; /* nothing below is published yet */
    const cache_model *m = cache_snapshot_acquire(a->dflt->cache);
    cache_snapshot_release(m);
    if (m == NULL &&
        (cache_count(a->dflt->cache) > 0 || app_tenants_count(a->tenants) < 2)) {
        app_no_model_detail(a->dflt, why, n);
        return false;
    }
    return app_readiness_db_ok(a->readiness, why, n);
}

/* The refit's back-test (docs/diagnostics.md): once a snapshot is saved
 * and served, the worker holds out the tenant's most recent history
 * (backtest_holdout_days, or a quarter of the history's span, at most
 * WORKER_BACKTEST_MAX_DAYS), fits the configured purchase model (and
 * Gamma-Gamma when the snapshot has spend) on the calibration part, and
 * stores the back-test JSON that `ltvd backtest` prints for the same split
 * (report/backtest_json.h) with the snapshot, or null with the reason
 * there is none. Nothing here can fail the refit: every failure becomes
 * the reason. */
#include "worker/backtest_run.h"

#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log.h"
#include "model/accept.h"
#include "model/backtest.h"
#include "report/backtest_json.h"
#include "store/diagnostics.h"
#include "summary/backtest_data.h"
#include "summary/summary.h"

/* How long storing the back-test waits for a pooled connection. */
#define BACKTEST_POOL_WAIT_MS 10000
/* A client-side wait goes on this much longer than statement_timeout, so
 * that a PostgreSQL that answers gets to say why itself (as app/db_wait.c). */
#define BACKTEST_WAIT_GRACE_MS 1000

/* One back-test: its inputs, what it found, and why it has no figures. */
typedef struct run {
    const worker_env *env;
    const cache_model *m;
    int64_t as_of_day;
    int period_days;
    worker_backtest_ctl *ctl; /* NULL: not stoppable */
    bool stopped;             /* the worker is stopping: nothing is stored */
    double read_secs;         /* the read's wall time */
    char reason[WORKER_REASON_MAX];
    summary_backtest data;
    fit_result fit, spend_fit;
    double fit_customers, spend_customers;
    backtest_figures figures;
} run;

static bool skip(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool skip(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    return false;
}

/* cache_foreach callback: the earliest first purchase on or before as_of. */
typedef struct span {
    int64_t as_of_day, first_day;
} span;

static int earliest(const char *id, const cache_summary *s, void *arg)
{
    (void)id;
    span *sp = arg;
    if (s->first_day <= sp->as_of_day && s->first_day < sp->first_day)
        sp->first_day = s->first_day;
    return 0;
}

int64_t worker_backtest_holdout_days(long configured, int64_t span_days)
{
    if (configured > 0)
        return configured;
    int64_t d = span_days / 4;
    return d > WORKER_BACKTEST_MAX_DAYS ? WORKER_BACKTEST_MAX_DAYS : d;
}

/* Whether the split read (st) is long and wide enough for a back-test. */
static bool check_split(run *r, summary_backtest_status st)
{
    if (st == SUMMARY_BACKTEST_NOMEM)
        return skip(r, "out of memory");
    if (st != SUMMARY_BACKTEST_OK || r->data.holdout_periods < 2)
        return skip(r,
                    "the history is too short for a back-test: a holdout of at least 2 "
                    "%ss after the calibration is needed",
                    r->period_days == 1 ? "day" : "week");
    const ltvd_config *cfg = r->env->config;
    size_t repeaters = 0;
    for (size_t i = 0; i < r->data.n; i++)
        repeaters += r->data.customers[i].x >= 1;
    if (r->data.n < (size_t)cfg->model_min_customers ||
        repeaters < (size_t)cfg->model_min_repeaters)
        return skip(r,
                    "too few customers in the calibration part for a back-test (%zu, %zu "
                    "with repeat purchases; need %ld and %ld: model_min_customers, "
                    "model_min_repeaters)",
                    r->data.n, repeaters, cfg->model_min_customers,
                    cfg->model_min_repeaters);
    return true;
}

/* The bounds of the back-test's connection: the pool's (the service's,
 * app/db_wait.c's app_db_limits), but for the statement bound,
 * backtest_statement_timeout_ms, and the client-side wait that goes with it. */
static store_db_limits backtest_limits(const worker_env *env)
{
    long st = env->config->backtest_statement_timeout_ms;
    store_db_limits lim = store_pool_limits(env->pool);
    lim.statement_timeout_ms = st;
    lim.wait_ms = st > 0 ? st + BACKTEST_WAIT_GRACE_MS : 0;
    return lim;
}

/* Publishes (stop not NULL) or withdraws the running read's stop in ctl;
 * false when the worker is stopping (then nothing is published). */
static bool publish_stop(worker_backtest_ctl *ctl, store_stop *stop)
{
    if (ctl == NULL)
        return true;
    pthread_mutex_lock(&ctl->mu);
    bool ok = !ctl->stopping;
    ctl->stop = ok ? stop : NULL;
    pthread_mutex_unlock(&ctl->mu);
    return ok;
}

/* The tenant's aggregates up to as_of for the split at cal_end, read from
 * PostgreSQL on a connection of the back-test's own (no pooled connection
 * of the requests is taken), and whether they can be back-tested. */
static bool read_split(run *r, int64_t cal_end)
{
    const ltvd_config *cfg = r->env->config;
    store_db_limits lim = backtest_limits(r->env);
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open_limited(cfg->database_url, &lim, err);
    if (db == NULL)
        return skip(r, "back-test data not read: %.200s", err);
    store_stop *stop = store_stop_new(db);
    summary_backtest_status st = SUMMARY_BACKTEST_OK;
    int rc = 1;
    if (stop == NULL) {
        rc = -1;
        snprintf(db->err, sizeof db->err, "out of memory");
    } else if (publish_stop(r->ctl, stop)) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = store_backtest_read(db, r->env->tenant, cal_end, r->as_of_day,
                                 r->period_days, stop, &r->data, &st);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        r->read_secs =
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    }
    if (stop != NULL && !publish_stop(r->ctl, NULL))
        rc = 1; /* stopping meanwhile: whatever came is not trusted */
    if (rc < 0)
        skip(r, "back-test data not read: %.200s", store_db_error(db));
    store_stop_free(stop);
    store_db_close(db);
    if (rc > 0) {
        r->stopped = true;
        return skip(r, "stopped: the process is shutting down");
    }
    return rc == 0 && check_split(r, st);
}

/* The calibration fit (the configured model, Gamma-Gamma when the served
 * snapshot has spend), accepted as a refit's would be, and the figures. */
static bool fit_and_compute(run *r, const btyd_model *bm)
{
    bool spend = r->m->has_spend;
    int rc = backtest_fit(bm, r->data.customers, r->data.n, 0, &r->fit, &r->fit_customers,
                          spend ? &r->spend_fit : NULL, &r->spend_customers);
    if (rc != GSL_SUCCESS)
        return skip(r, "the calibration fit failed: %s", gsl_strerror(rc));
    char why[WORKER_REASON_MAX];
    if (accept_btyd(bm, &r->fit, why, sizeof why) != ACCEPT_OK)
        return skip(r, "the calibration fit of %s is not usable: %.250s", bm->name, why);
    if (spend && accept_gg(&r->spend_fit, why, sizeof why) != ACCEPT_OK)
        return skip(r, "the calibration fit of gamma-gamma is not usable: %.250s", why);
    backtest_input in = summary_backtest_input(&r->data, bm, r->fit.params,
                                               spend ? r->spend_fit.params : NULL);
    rc = backtest_compute(&in, &r->figures, NULL);
    if (rc != GSL_SUCCESS)
        return skip(r, "the back-test could not be computed: %s", gsl_strerror(rc));
    return true;
}

/* The back-test document, or NULL (out of memory). */
static json_t *backtest_doc(run *r, const btyd_model *bm, int64_t cal_end)
{
    report_backtest rep = {.model = bm,
                           .period_days = r->period_days,
                           .calibration_end_day = cal_end,
                           .holdout_end_day = r->as_of_day,
                           .holdout_periods = r->data.holdout_periods,
                           .first_period_day = r->data.first_period_day,
                           .fit = &r->fit,
                           .fit_customers = r->fit_customers,
                           .spend_fit = r->m->has_spend ? &r->spend_fit : NULL,
                           .spend_customers = r->spend_customers,
                           .figures = &r->figures};
    return report_backtest_json(&rep);
}

/* Runs the back-test; its document, or NULL with r->reason set. */
static json_t *run_backtest(run *r, const btyd_model *bm)
{
    span sp = {r->as_of_day, INT64_MAX};
    if (cache_foreach(r->env->cache, earliest, &sp) != 0 || sp.first_day == INT64_MAX) {
        skip(r, "no customer to back-test");
        return NULL;
    }
    int64_t hold = worker_backtest_holdout_days(r->env->config->backtest_holdout_days,
                                                r->as_of_day - sp.first_day);
    int64_t cal_end = r->as_of_day - hold;
    if (hold < 1 || cal_end < sp.first_day) {
        skip(r,
             "the history is too short for a back-test: %lld days from the first "
             "purchase to as_of, %s",
             (long long)(r->as_of_day - sp.first_day),
             hold < 1 ? "a quarter of it is less than a day"
                      : "the holdout (backtest_holdout_days) leaves no calibration");
        return NULL;
    }
    if (!read_split(r, cal_end) || !fit_and_compute(r, bm))
        return NULL;
    json_t *doc = backtest_doc(r, bm, cal_end);
    if (doc == NULL)
        skip(r, "out of memory");
    return doc;
}

/* Stores {"backtest": bt or null, "reason": ...} with snapshot version. */
static bool store_diagnostics(const worker_env *env, uint64_t version, json_t *bt,
                              const char *reason)
{
    json_t *d =
        json_pack("{s:o, s:o}", "backtest", bt != NULL ? json_incref(bt) : json_null(),
                  "reason", bt != NULL ? json_null() : json_string(reason));
    char *text = d != NULL ? json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(d);
    store_db *db =
        text != NULL ? store_pool_acquire(env->pool, BACKTEST_POOL_WAIT_MS) : NULL;
    bool ok = db != NULL && store_snapshot_diagnostics_set(db, env->tenant,
                                                           (int64_t)version, text) >= 0;
    if (!ok)
        log_write(LOG_WARN, "back-test of snapshot %llu not stored: %s",
                  (unsigned long long)version,
                  db != NULL ? store_db_error(db) : "no connection or out of memory");
    if (db != NULL)
        store_pool_release(env->pool, db);
    free(text);
    return ok;
}

/* The back-test's figures for /metrics, into st. */
static void note(worker_status *st, uint64_t version, json_t *bt)
{
    st->backtest_version = version;
    st->backtest_done = bt != NULL;
    if (bt == NULL)
        return;
    json_t *mae = json_object_get(json_object_get(bt, "holdout"), "mae");
    json_t *naive = json_object_get(json_object_get(bt, "naive"), "mae");
    st->backtest_mae = json_number_value(mae);
    st->backtest_naive_mae = json_number_value(naive);
    st->backtest_worse = json_is_true(json_object_get(bt, "worse_than_naive"));
}

void worker_backtest_ctl_stop(worker_backtest_ctl *ctl)
{
    pthread_mutex_lock(&ctl->mu);
    ctl->stopping = true;
    store_stop_now(ctl->stop);
    pthread_mutex_unlock(&ctl->mu);
}

void worker_backtest_run(const worker_env *env, const cache_model *m, int64_t as_of_day,
                         worker_status *st, worker_backtest_ctl *ctl)
{
    const btyd_model *bm =
        env->config->model == CONFIG_MODEL_PARETO ? &pareto_model : &bgnbd_model;
    run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        log_write(LOG_WARN, "back-test skipped: out of memory");
        return;
    }
    *r = (run){.env = env,
               .m = m,
               .as_of_day = as_of_day,
               .period_days = m->period_days == 1 ? 1 : 7,
               .ctl = ctl};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *bt = run_backtest(r, bm);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const char *tenant = env->tenant != NULL ? env->tenant : "default";
    worker_status got = {0};
    note(&got, m->version, bt);
    if (!r->stopped && store_diagnostics(env, m->version, bt, r->reason) && st != NULL) {
        st->backtest_version = got.backtest_version;
        st->backtest_done = got.backtest_done;
        st->backtest_mae = got.backtest_mae;
        st->backtest_naive_mae = got.backtest_naive_mae;
        st->backtest_worse = got.backtest_worse;
    }
    if (bt == NULL)
        log_write(LOG_INFO, "tenant %s: back-test of snapshot %llu: none: %s", tenant,
                  (unsigned long long)m->version, r->reason);
    else
        log_write(LOG_INFO,
                  "tenant %s: back-test of snapshot %llu in %.3fs (read %.3fs, %zu "
                  "customers): holdout MAE %.4g, naive %.4g%s",
                  tenant, (unsigned long long)m->version, secs, r->read_secs, r->data.n,
                  got.backtest_mae, got.backtest_naive_mae,
                  got.backtest_worse ? " (worse than naive)" : "");
    json_decref(bt);
    backtest_figures_free(&r->figures);
    summary_backtest_free(&r->data);
    free(r);
}

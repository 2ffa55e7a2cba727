/* The refit worker: gathers the cache's summaries, fits, persists and
 * publishes; a loop on one thread decides when (see worker.h). */
#include "worker/worker.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "log/log.h"
#include "model/gg.h"

/* How long a refit waits for a pooled connection to persist its snapshot. */
#define WORKER_POOL_WAIT_MS 10000

struct worker {
    app *app;
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;  /* signalled on stop, request and enough ingests */
    bool stop;
    bool requested;
    size_t ingested; /* transactions stored since the last refit began */
    worker_status status;
};

/* ------------------------------------------------------------ gathering */

/* The customers as of one day, as fitting data. */
typedef struct gathered {
    int64_t as_of_day;
    double period_days;
    btyd_pattern *pat;
    size_t n, cap;
    gg_pattern *gg;
    size_t n_gg, cap_gg;
    size_t n_repeaters;
    size_t n_late; /* last purchase after as_of: cannot be cut back, left out */
} gathered;

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap > 0 ? *cap * 2 : 1024;
    void *q = realloc(*p, c * size);
    if (q == NULL)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* cache_foreach callback: one customer into the patterns (1 stops: ENOMEM). */
static int gather_one(const char *id, const cache_summary *s, void *arg)
{
    (void)id;
    gathered *g = arg;
    if (s->first_day > g->as_of_day)
        return 0; /* not yet a customer */
    if (s->last_day > g->as_of_day) {
        g->n_late++;
        return 0;
    }
    if (!grow((void **)&g->pat, &g->cap, g->n, sizeof *g->pat))
        return 1;
    double x = (double)s->n_days - 1;
    g->pat[g->n++] =
        (btyd_pattern){x, (double)(s->last_day - s->first_day) / g->period_days,
                       (double)(g->as_of_day - s->first_day) / g->period_days, 1};
    if (x < 1)
        return 0;
    g->n_repeaters++;
    if (!(s->repeat_units > 0))
        return 0;
    if (!grow((void **)&g->gg, &g->cap_gg, g->n_gg, sizeof *g->gg))
        return 1;
    g->gg[g->n_gg++] = (gg_pattern){x, cache_repeat_amount(s) / x, 1};
    return 0;
}

static int gg_cmp(const void *pa, const void *pb)
{
    const gg_pattern *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return a->m < b->m ? -1 : a->m > b->m;
}

/* Sorts by (x, m) and merges equal pairs; returns the distinct count. */
static size_t gg_collapse(gg_pattern *p, size_t n)
{
    if (n == 0)
        return 0;
    qsort(p, n, sizeof *p, gg_cmp);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i].x == p[k].x && p[i].m == p[k].m)
            p[k].weight += p[i].weight;
        else
            p[++k] = p[i];
    }
    return k + 1;
}

/* ------------------------------------------------------------ fitting */

static bool fit_ok(const fit_result *r, size_t n)
{
    if (!r->converged || !isfinite(r->log_likelihood))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isfinite(r->params[i]) && r->params[i] > 0))
            return false;
    return true;
}

/* The JSON object {names[i]: v[i]} as text (caller frees), or NULL. */
static char *params_text(const char *const *names, const double *v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        json_object_set_new(o, names[i], json_real(v[i]));
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    return s;
}

/* Fits both models on g; the purchase model warm-starts from prev when it
 * is the same model. Returns true, or false with reason set. */
static bool fit_all(const btyd_model *bm, const cache_model *prev, gathered *g,
                    size_t n_pat, size_t n_gg, cache_model *m, char *reason)
{
    const double *init = prev != NULL && prev->model == bm ? prev->params : NULL;
    int rc = fit_btyd(bm, g->pat, n_pat, 0, init, &m->fit);
    if (rc != GSL_SUCCESS || !fit_ok(&m->fit, bm->n_params)) {
        snprintf(reason, WORKER_REASON_MAX, "%s fit %s", bm->name,
                 rc != GSL_SUCCESS ? gsl_strerror(rc) : "did not converge");
        return false;
    }
    memcpy(m->params, m->fit.params, sizeof m->params);
    if (n_gg < WORKER_MIN_REPEATERS)
        return true; /* too little spend data: no spend model */
    const double *ginit = prev != NULL && prev->has_spend ? prev->gg_params : NULL;
    rc = gg_fit(g->gg, n_gg, 0, ginit, &m->gg_fit);
    if (rc != GSL_SUCCESS || !fit_ok(&m->gg_fit, 3)) {
        snprintf(reason, WORKER_REASON_MAX, "gamma-gamma fit %s",
                 rc != GSL_SUCCESS ? gsl_strerror(rc) : "did not converge");
        return false;
    }
    m->has_spend = true;
    memcpy(m->gg_params, m->gg_fit.params, sizeof m->gg_params);
    return true;
}

/* Fills a store_fit; the strings are malloc'd (free with free_fit). */
static bool fit_to_store(const char *name, const char *const *names, size_t n,
                         const fit_result *r, size_t n_cust, size_t n_pat, store_fit *f)
{
    *f = (store_fit){.model = (char *)name,
                     .params_json = params_text(names, r->params, n),
                     .std_errors_json =
                         r->std_errors_ok ? params_text(names, r->std_errors, n) : NULL,
                     .log_likelihood = r->log_likelihood,
                     .n_customers = (int64_t)n_cust,
                     .n_patterns = (int64_t)n_pat,
                     .converged = r->converged,
                     .iterations = (int)r->iterations,
                     .seconds = r->seconds};
    return f->params_json != NULL && (!r->std_errors_ok || f->std_errors_json != NULL);
}

static void free_fit(store_fit *f)
{
    free(f->params_json);
    free(f->std_errors_json);
}

/* Persists m on a pooled connection and sets its version and fitted_at. */
static bool persist(app *a, cache_model *m, size_t n_gg_cust, char *reason)
{
    store_snapshot s = {.as_of = m->as_of, .has_spend = m->has_spend};
    snprintf(s.period, sizeof s.period, "%s", m->period_days == 1 ? "day" : "week");
    bool ok = fit_to_store(m->model->name, m->model->param_names, m->model->n_params,
                           &m->fit, m->n_customers, m->n_patterns, &s.purchase) &&
              (!m->has_spend ||
               fit_to_store("gg", gg_param_names, 3, &m->gg_fit, n_gg_cust, 0, &s.spend));
    if (!ok)
        snprintf(reason, WORKER_REASON_MAX, "out of memory");
    store_db *db = ok ? store_pool_acquire(a->pool, WORKER_POOL_WAIT_MS) : NULL;
    if (ok && db == NULL) {
        snprintf(reason, WORKER_REASON_MAX, "no database connection became free");
        ok = false;
    } else if (ok && store_snapshot_save(db, &s) != 0) {
        snprintf(reason, WORKER_REASON_MAX, "snapshot not saved: %.150s",
                 store_db_error(db));
        ok = false;
    }
    if (db != NULL)
        store_pool_release(a->pool, db);
    free_fit(&s.purchase);
    free_fit(&s.spend);
    m->version = (uint64_t)s.id;
    m->fitted_at = s.created_at;
    return ok;
}

bool worker_refit_once(app *a, char reason[WORKER_REASON_MAX])
{
    const ltvd_config *cfg = a->config;
    const btyd_model *bm =
        cfg->model == CONFIG_MODEL_PARETO ? &pareto_model : &bgnbd_model;
    gathered g = {.as_of_day = app_as_of_day(a),
                  .period_days = cfg->period == CONFIG_PERIOD_WEEK ? 7 : 1};
    cache_model m = {
        .model = bm, .period_days = g.period_days, .as_of = (double)g.as_of_day * 86400};
    const cache_model *prev = NULL;
    bool ok = false;
    reason[0] = '\0';
    if (cache_foreach(a->cache, gather_one, &g) != 0) {
        snprintf(reason, WORKER_REASON_MAX, "out of memory");
        goto cleanup;
    }
    if (g.n_repeaters < WORKER_MIN_REPEATERS) {
        snprintf(reason, WORKER_REASON_MAX,
                 "too few customers with repeat purchases (%zu, need %d)", g.n_repeaters,
                 WORKER_MIN_REPEATERS);
        goto cleanup;
    }
    m.n_customers = g.n;
    m.n_patterns = btyd_patterns_collapse(g.pat, g.n);
    size_t n_gg = gg_collapse(g.gg, g.n_gg);
    prev = cache_snapshot_acquire(a->cache);
    ok = fit_all(bm, prev, &g, m.n_patterns, n_gg, &m, reason) &&
         persist(a, &m, g.n_gg, reason);
    if (ok && cache_snapshot_set(a->cache, &m) != CACHE_OK) {
        snprintf(reason, WORKER_REASON_MAX, "saved, but not published: out of memory");
        ok = false;
    }
cleanup:
    cache_snapshot_release(prev);
    free(g.pat);
    free(g.gg);
    return ok;
}

/* ------------------------------------------------------------ the loop */

static struct timespec deadline_after(long s)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += s;
    return t;
}

static bool due(const worker *w, const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return w->requested || w->ingested >= (size_t)w->app->config->refit_after_txns ||
           now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Runs one refit with the lock released and records its outcome. */
static void refit_and_record(worker *w)
{
    w->requested = false;
    w->ingested = 0;
    w->status.running = true;
    pthread_mutex_unlock(&w->mu);
    char reason[WORKER_REASON_MAX];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = worker_refit_once(w->app, reason);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&w->mu);
    worker_status *st = &w->status;
    st->running = false;
    st->outcome = ok ? WORKER_SUCCEEDED : WORKER_FAILED;
    st->attempted_at = (double)time(NULL);
    st->seconds =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    st->seconds_total += st->seconds;
    snprintf(st->reason, sizeof st->reason, "%s", ok ? "" : reason);
    if (ok)
        st->n_succeeded++;
    else
        st->n_failed++;
    if (ok)
        log_write(LOG_INFO, "refit: done in %.3fs", st->seconds);
    else
        log_write(LOG_WARN, "refit failed (previous model kept): %s", st->reason);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    struct timespec deadline = deadline_after(w->app->config->refit_interval_s);
    while (!w->stop) {
        if (due(w, &deadline)) {
            refit_and_record(w);
            deadline = deadline_after(w->app->config->refit_interval_s);
            continue;
        }
        int rc = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
        (void)rc; /* ETIMEDOUT or a signal: the loop re-checks */
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

worker *worker_start(app *a)
{
    worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->app = a;
    pthread_condattr_t ca;
    bool ok = pthread_condattr_init(&ca) == 0;
    ok = ok && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
         pthread_cond_init(&w->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok || pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    const cache_model *m = cache_snapshot_acquire(a->cache);
    w->requested = m == NULL && cache_count(a->cache) > 0;
    cache_snapshot_release(m);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void worker_stop(worker *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void worker_request(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->requested = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void worker_note_ingested(worker *w, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&w->mu);
    w->ingested += n;
    if (w->ingested >= (size_t)w->app->config->refit_after_txns)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void worker_status_get(worker *w, worker_status *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->status;
    pthread_mutex_unlock(&w->mu);
}

/* The refit worker: gathers the cache's summaries, checks the eligibility
 * rule, fits, accepts (model/accept.h), persists with the settings and
 * publishes; a loop on one thread decides when (see worker.h). It knows the
 * service only through its worker_env. */
#include "worker/worker.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/ticker.h"
#include "log/log.h"
#include "model/accept.h"
#include "model/gg.h"
#include "store/snapshot.h"
#include "summary/summary.h"

/* How long a refit waits for a pooled connection to persist its snapshot. */
#define WORKER_POOL_WAIT_MS 10000
/* Seconds until a refit whose snapshot could not be stored is tried again. */
#define DB_RETRY_S 30
/* Months of CLV the scoring check computes at most. */
#define SCORE_CHECK_MONTHS 12
/* Least gap between two refits woken by new data while no model is served. */
#define NO_MODEL_GAP_S 1
/* ... and after a fit failed on eligible data, while new data keep coming. */
#define NO_MODEL_RETRY_S 30

static const char *const fail_labels[WORKER_FAIL_N] = {
    "none",    "not_finite",      "boundary",  "heavy_tail", "not_converged", "hessian",
    "scoring", "too_little_data", "fit_error", "database",   "out_of_memory",
};

const char *worker_fail_label(worker_fail f)
{
    return f < WORKER_FAIL_N ? fail_labels[f] : "unknown";
}

struct worker {
    worker_env env;
    ticker *ticker;     /* the worker's thread: worker_tick */
    pthread_mutex_t mu; /* guards everything below */
    struct timespec deadline; /* the next scheduled refit (CLOCK_MONOTONIC) */
    bool requested;
    bool changed;    /* new data since the last refit began */
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
    size_t n_gg_zero; /* repeat buyers whose repeat spend is all zero */
    size_t n_late;    /* last purchase after as_of: cannot be cut back, left out */
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
    if (!(s->repeat_units > 0)) {
        g->n_gg_zero++;
        return 0;
    }
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

/* A refit in progress: what it found and why it failed. */
typedef struct attempt {
    const worker_env *env;
    char *reason; /* WORKER_REASON_MAX bytes */
    worker_fail fail;
} attempt;

static bool failed(attempt *t, worker_fail f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool failed(attempt *t, worker_fail f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->reason, WORKER_REASON_MAX, fmt, ap);
    va_end(ap);
    t->fail = f;
    return false;
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

/* Fits bm on g (warm start from prev when it is the same model) and checks
 * the result. ACCEPT_OK, another accept code with why set, or -1 when the
 * likelihood cannot be evaluated (why set). */
static int fit_purchase(const btyd_model *bm, const cache_model *prev, const gathered *g,
                        size_t n_pat, fit_result *r, char *why)
{
    const double *init = prev != NULL && prev->model == bm ? prev->params : NULL;
    int rc = fit_btyd(bm, g->pat, n_pat, 0, init, r);
    if (rc != GSL_SUCCESS && init != NULL)
        rc = fit_btyd(bm, g->pat, n_pat, 0, NULL, r);
    if (rc != GSL_SUCCESS) {
        snprintf(why, WORKER_REASON_MAX, "%s fit: %s", bm->name, gsl_strerror(rc));
        return -1;
    }
    char w[WORKER_REASON_MAX];
    accept_code c = accept_btyd(bm, r, w, sizeof w);
    if (c != ACCEPT_OK)
        snprintf(why, WORKER_REASON_MAX, "%s fit %.280s", bm->name, w);
    return (int)c;
}

/* What is served instead of a configured model that is not identified, in
 * order of preference: a nested or limiting model first. */
typedef struct fallback {
    const btyd_model *model;
    const char *what;
} fallback;

static const fallback bgnbd_fallbacks[] = {
    {&bggeo_model, "its limit bggeo (one drop-out probability p for all)"},
    {&bgpois_model, "its limit bgpois (one purchase rate lambda for all)"},
};
static const fallback pareto_fallbacks[] = {
    {&bgnbd_model, "bgnbd (identified on these data)"},
    {&bggeo_model, "bggeo (BG/NBD with one drop-out probability p for all)"},
    {&bgpois_model, "bgpois (BG/NBD with one purchase rate lambda for all)"},
};

static const fallback *fallbacks_of(const btyd_model *bm, size_t *n)
{
    *n = bm == &bgnbd_model    ? sizeof bgnbd_fallbacks / sizeof bgnbd_fallbacks[0]
         : bm == &pareto_model ? sizeof pareto_fallbacks / sizeof pareto_fallbacks[0]
                               : 0;
    return bm == &bgnbd_model ? bgnbd_fallbacks : pareto_fallbacks;
}

/* The purchase model: the configured one, or, when it is not identified
 * (BG/NBD's Beta collapsing under homogeneous drop-out, Pareto/NBD's
 * Gamma of drop-out rates likewise), the first of its fallbacks that is
 * accepted; m->fallback says so. */
static bool fit_purchase_or_limit(attempt *t, const btyd_model *bm,
                                  const cache_model *prev, const gathered *g,
                                  size_t n_pat, cache_model *m)
{
    char why[WORKER_REASON_MAX];
    int c = fit_purchase(bm, prev, g, n_pat, &m->fit, why);
    if (c == ACCEPT_OK) {
        memcpy(m->params, m->fit.params, sizeof m->params);
        return true;
    }
    size_t n = 0;
    const fallback *fb = fallbacks_of(bm, &n);
    bool identify =
        c == ACCEPT_BOUNDARY || c == ACCEPT_HESSIAN || c == ACCEPT_NOT_CONVERGED;
    for (size_t i = 0; identify && i < n; i++) {
        char why2[WORKER_REASON_MAX];
        if (fit_purchase(fb[i].model, prev, g, n_pat, &m->fit, why2) != ACCEPT_OK)
            continue;
        m->model = fb[i].model;
        memcpy(m->params, m->fit.params, sizeof m->params);
        snprintf(m->fallback, sizeof m->fallback, "%.300s; serving %s", why, fb[i].what);
        return true;
    }
    if (c < 0)
        return failed(t, WORKER_FAIL_FIT_ERROR, "%.300s", why);
    return failed(t, (worker_fail)c, "%.300s", why);
}

/* Gamma-Gamma, when enough customers have repeat spend. A fit that is
 * refused leaves the spend model that was served in the new snapshot (with
 * the new purchase fit), or, when none was, the purchase model is served
 * alone; m->fallback says which and why. */
static bool fit_spend(attempt *t, const cache_model *prev, const gathered *g, size_t n_gg,
                      cache_model *m)
{
    m->gg_n_customers = g->n_gg;
    m->gg_n_zero = g->n_gg_zero;
    if (g->n_gg < (size_t)t->env->config->model_min_repeaters)
        return true; /* too little spend data: no spend model */
    const double *ginit = prev != NULL && prev->has_spend ? prev->gg_params : NULL;
    int rc = gg_fit(g->gg, n_gg, 0, ginit, &m->gg_fit);
    if (rc != GSL_SUCCESS && ginit != NULL)
        rc = gg_fit(g->gg, n_gg, 0, NULL, &m->gg_fit);
    if (rc != GSL_SUCCESS)
        return failed(t, WORKER_FAIL_FIT_ERROR, "gamma-gamma fit: %s", gsl_strerror(rc));
    char why[WORKER_REASON_MAX];
    accept_code c = accept_gg(&m->gg_fit, why, sizeof why);
    if (c != ACCEPT_OK && prev != NULL && prev->has_spend) {
        /* the new purchase fit is still served (a heavy tail in spend must
         * not freeze it), with the spend model that was served */
        m->has_spend = true;
        memcpy(m->gg_params, prev->gg_params, sizeof m->gg_params);
        m->gg_fit = prev->gg_fit;
        m->gg_n_customers = prev->gg_n_customers;
        m->gg_n_zero = prev->gg_n_zero;
        size_t used = strlen(m->fallback);
        snprintf(m->fallback + used, sizeof m->fallback - used,
                 "%sspend model kept from the previous snapshot: gamma-gamma fit %.200s",
                 used > 0 ? "; " : "", why);
        log_write(LOG_WARN, "refit: spend model kept: gamma-gamma fit %s", why);
        return true;
    }
    if (c != ACCEPT_OK) { /* nothing to lose: serve the purchase model alone */
        size_t used = strlen(m->fallback);
        snprintf(m->fallback + used, sizeof m->fallback - used,
                 "%sno spend model: gamma-gamma fit %.280s", used > 0 ? "; " : "", why);
        log_write(LOG_WARN, "refit: no spend model: gamma-gamma fit %s", why);
        return true;
    }
    m->has_spend = true;
    memcpy(m->gg_params, m->gg_fit.params, sizeof m->gg_params);
    return true;
}

/* Scores a sample of the customers with m within WORKER_SCORE_BUDGET_S. */
static bool scores_ok(attempt *t, const cache_model *m, const gathered *g, size_t n_pat,
                      size_t n_gg)
{
    const ltvd_config *cfg = t->env->config;
    /* the CLV over up to SCORE_CHECK_MONTHS: its cost grows with the months,
     * and the check is about the model, not about the longest horizon */
    long months = cfg->horizon_days / 30;
    months = months < 1 ? 1 : (months > SCORE_CHECK_MONTHS ? SCORE_CHECK_MONTHS : months);
    clv_options clv = {(unsigned)months, cfg->discount_rate, cfg->margin,
                       clv_month_periods(m->model, m->period_days)};
    char why[WORKER_REASON_MAX];
    accept_code c =
        accept_scores(m->model, m->params, m->has_spend ? m->gg_params : NULL, g->pat,
                      n_pat, g->gg, n_gg, (double)cfg->horizon_days / m->period_days,
                      &clv, WORKER_SCORE_BUDGET_S, why, sizeof why);
    if (c != ACCEPT_OK)
        return failed(t, (worker_fail)c, "%s: %.280s", m->model->name, why);
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
static bool persist(attempt *t, cache_model *m)
{
    store_snapshot s = {.as_of = m->as_of,
                        .has_spend = m->has_spend,
                        .settings_as_of_set = m->settings_as_of_day != CACHE_AS_OF_NOW,
                        .settings_as_of_day = m->settings_as_of_day,
                        .spend_n_zero = (int64_t)m->gg_n_zero,
                        .fallback = m->fallback[0] != '\0' ? m->fallback : NULL};
    snprintf(s.period, sizeof s.period, "%s", m->period_days == 1 ? "day" : "week");
    snprintf(s.settings_model, sizeof s.settings_model, "%s", m->settings_model);
    bool ok = fit_to_store(m->model->name, m->model->param_names, m->model->n_params,
                           &m->fit, m->n_customers, m->n_patterns, &s.purchase) &&
              (!m->has_spend || fit_to_store("gg", gg_param_names, 3, &m->gg_fit,
                                             m->gg_n_customers, 0, &s.spend));
    if (!ok)
        failed(t, WORKER_FAIL_OUT_OF_MEMORY, "out of memory");
    store_db *db = ok ? store_pool_acquire(t->env->pool, WORKER_POOL_WAIT_MS) : NULL;
    if (ok && db == NULL) {
        ok = failed(t, WORKER_FAIL_DATABASE, "no database connection became free");
    } else if (ok && store_snapshot_save(db, &s) != 0) {
        ok = failed(t, WORKER_FAIL_DATABASE, "snapshot not saved: %.150s",
                    store_db_error(db));
    }
    if (db != NULL)
        store_pool_release(t->env->pool, db);
    free_fit(&s.purchase);
    free_fit(&s.spend);
    m->version = (uint64_t)s.id;
    m->fitted_at = s.created_at;
    return ok;
}

/* The eligibility rule on what was gathered. */
static bool eligible(attempt *t, const gathered *g)
{
    const ltvd_config *cfg = t->env->config;
    if (g->n < (size_t)cfg->model_min_customers)
        return failed(
            t, WORKER_FAIL_TOO_LITTLE_DATA,
            "too few customers (%zu as of as_of, need %ld: model_min_customers)", g->n,
            cfg->model_min_customers);
    if (g->n_repeaters < (size_t)cfg->model_min_repeaters)
        return failed(t, WORKER_FAIL_TOO_LITTLE_DATA,
                      "too few customers with repeat purchases (%zu, need %ld: "
                      "model_min_repeaters)",
                      g->n_repeaters, cfg->model_min_repeaters);
    return true;
}

/* The settings a refit runs under, into m. */
static void settings_of(const worker_env *env, cache_model *m)
{
    const ltvd_config *cfg = env->config;
    snprintf(m->settings_model, sizeof m->settings_model, "%s",
             cfg->model == CONFIG_MODEL_PARETO ? "pareto" : "bgnbd");
    m->settings_as_of_day = cfg->has_as_of ? cfg->as_of_day : CACHE_AS_OF_NOW;
    m->period_days = cfg->period == CONFIG_PERIOD_WEEK ? 7 : 1;
}

bool worker_settings_match(const cache_model *m, const ltvd_config *cfg, char *why,
                           size_t len)
{
    cache_model want = {0};
    worker_env env = {.config = cfg};
    settings_of(&env, &want);
    char day[32] = "now", want_day[32] = "now";
    if (m->settings_as_of_day != CACHE_AS_OF_NOW &&
        summary_format_day(m->settings_as_of_day, day) != 0)
        snprintf(day, sizeof day, "day %lld", (long long)m->settings_as_of_day);
    if (want.settings_as_of_day != CACHE_AS_OF_NOW &&
        summary_format_day(want.settings_as_of_day, want_day) != 0)
        snprintf(want_day, sizeof want_day, "day %lld",
                 (long long)want.settings_as_of_day);
    if (m->settings_model[0] != '\0' &&
        strcmp(m->settings_model, want.settings_model) == 0 &&
        m->period_days == want.period_days &&
        m->settings_as_of_day == want.settings_as_of_day)
        return true;
    if (m->settings_model[0] == '\0')
        snprintf(why, len, "it records no settings (fitted before they were recorded)");
    else
        snprintf(why, len,
                 "fitted under model %s, period %s, as_of %s; running with model %s, "
                 "period %s, as_of %s",
                 m->settings_model, m->period_days == 1 ? "day" : "week", day,
                 want.settings_model, want.period_days == 1 ? "day" : "week", want_day);
    return false;
}

bool worker_check_scores(const worker_env *env, const cache_model *m, char *why,
                         size_t len)
{
    char reason[WORKER_REASON_MAX];
    attempt t = {.env = env, .reason = reason};
    gathered g = {.as_of_day = env->as_of_day(env->cls), .period_days = m->period_days};
    bool ok = cache_foreach(env->cache, gather_one, &g) == 0;
    if (!ok)
        failed(&t, WORKER_FAIL_OUT_OF_MEMORY, "out of memory");
    size_t n_pat = btyd_patterns_collapse(g.pat, g.n);
    size_t n_gg = gg_collapse(g.gg, g.n_gg);
    ok = ok && scores_ok(&t, m, &g, n_pat, n_gg);
    if (!ok)
        snprintf(why, len, "%s", reason);
    free(g.pat);
    free(g.gg);
    return ok;
}

bool worker_refit_once(const worker_env *env, char reason[WORKER_REASON_MAX],
                       worker_fail *fail, worker_status *st)
{
    const ltvd_config *cfg = env->config;
    const btyd_model *bm =
        cfg->model == CONFIG_MODEL_PARETO ? &pareto_model : &bgnbd_model;
    attempt t = {.env = env, .reason = reason};
    cache_model m = {.model = bm};
    settings_of(env, &m);
    gathered g = {.as_of_day = env->as_of_day(env->cls), .period_days = m.period_days};
    m.as_of = (double)g.as_of_day * 86400;
    const cache_model *prev = NULL;
    bool ok = false;
    reason[0] = '\0';
    if (cache_foreach(env->cache, gather_one, &g) != 0) {
        failed(&t, WORKER_FAIL_OUT_OF_MEMORY, "out of memory");
        goto cleanup;
    }
    if (st != NULL) {
        st->looked = true;
        st->n_customers = g.n;
        st->n_repeaters = g.n_repeaters;
    }
    if (!eligible(&t, &g))
        goto cleanup;
    m.n_customers = g.n;
    m.n_patterns = btyd_patterns_collapse(g.pat, g.n);
    size_t n_gg = gg_collapse(g.gg, g.n_gg);
    prev = cache_snapshot_acquire(env->cache);
    ok = fit_purchase_or_limit(&t, bm, prev, &g, m.n_patterns, &m) &&
         fit_spend(&t, prev, &g, n_gg, &m) && scores_ok(&t, &m, &g, m.n_patterns, n_gg) &&
         persist(&t, &m);
    if (ok && cache_snapshot_set(env->cache, &m) != CACHE_OK)
        ok = failed(&t, WORKER_FAIL_OUT_OF_MEMORY,
                    "saved, but not published: out of memory");
    if (ok && m.fallback[0] != '\0')
        log_write(LOG_WARN, "refit: %s", m.fallback);
cleanup:
    cache_snapshot_release(prev);
    free(g.pat);
    free(g.gg);
    if (fail != NULL)
        *fail = ok ? WORKER_FAIL_NONE : t.fail;
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

static bool has_model(const worker *w)
{
    const cache_model *m = cache_snapshot_acquire(w->env.cache);
    cache_snapshot_release(m);
    return m != NULL;
}

/* New data while no model is served wake the worker (w->changed). Called
 * with w->mu held. */
static bool waiting_for_first(const worker *w)
{
    return w->changed && !has_model(w);
}

/* The least gap before the next such fit: NO_MODEL_GAP_S after too little
 * data, NO_MODEL_RETRY_S after a fit that failed on eligible data (the
 * same data would fail again; more data may not). */
static double first_model_gap(const worker *w)
{
    bool failed_eligible = w->status.outcome == WORKER_FAILED &&
                           w->status.fail != WORKER_FAIL_TOO_LITTLE_DATA;
    return failed_eligible ? NO_MODEL_RETRY_S : NO_MODEL_GAP_S;
}

static bool wake_for_first_model(const worker *w)
{
    return waiting_for_first(w) &&
           (double)time(NULL) - w->status.attempted_at >= first_model_gap(w);
}

static bool due(const worker *w, const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return w->requested || w->ingested >= (size_t)w->env.config->refit_after_txns ||
           wake_for_first_model(w) || now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Records the outcome of one refit (w->mu held). */
static void record(worker *w, bool ok, worker_fail fail, const char *reason, double secs,
                   const worker_status *seen)
{
    worker_status *st = &w->status;
    st->running = false;
    st->outcome = ok ? WORKER_SUCCEEDED : WORKER_FAILED;
    st->attempted_at = (double)time(NULL);
    st->seconds = secs;
    st->seconds_total += secs;
    st->fail = ok ? WORKER_FAIL_NONE : fail;
    snprintf(st->reason, sizeof st->reason, "%s", ok ? "" : reason);
    if (seen->looked) {
        st->looked = true;
        st->n_customers = seen->n_customers;
        st->n_repeaters = seen->n_repeaters;
    }
    if (ok) {
        st->n_succeeded++;
        log_write(LOG_INFO, "refit: done in %.3fs", secs);
    } else {
        st->n_failed++;
        st->n_failed_by[fail < WORKER_FAIL_N ? fail : WORKER_FAIL_FIT_ERROR]++;
        log_write(LOG_WARN, "refit failed (%s; %s): %s", worker_fail_label(fail),
                  has_model(w) ? "the previous model keeps serving"
                               : "no model served yet",
                  st->reason);
    }
}

/* Runs one refit with the lock released and records its outcome. */
static void refit_and_record(worker *w)
{
    w->requested = false;
    w->changed = false;
    w->ingested = 0;
    w->status.running = true;
    pthread_mutex_unlock(&w->mu);
    char reason[WORKER_REASON_MAX];
    worker_fail fail = WORKER_FAIL_NONE;
    worker_status seen = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = worker_refit_once(&w->env, reason, &fail, &seen);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&w->mu);
    record(w, ok, fail, reason,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           &seen);
}

/* Milliseconds from now until t (0 when past). */
static long ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(t->tv_sec - now.tv_sec) * 1000 +
                   (t->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > 86400000LL ? 86400000L : (long)ms;
}

/* One turn of the worker (a ticker_fn, woken by requests and new data):
 * refits when due, then returns the delay to the next look: the scheduled
 * refit, or a second while data wait for a first model. */
static long worker_tick(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    if (due(w, &w->deadline)) {
        refit_and_record(w);
        long next = w->env.config->refit_interval_s;
        if (w->status.fail == WORKER_FAIL_DATABASE && next > DB_RETRY_S)
            next = DB_RETRY_S; /* the fit was fine: only storing it failed */
        w->deadline = deadline_after(next);
    }
    long ms = ms_until(&w->deadline);
    if (waiting_for_first(w) && ms > (long)(first_model_gap(w) * 1000))
        ms = (long)(first_model_gap(w) * 1000);
    pthread_mutex_unlock(&w->mu);
    return ms;
}

worker *worker_start(const worker_env *env)
{
    worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->env = *env;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    w->requested = !has_model(w); /* a first look at once */
    w->deadline = deadline_after(env->config->refit_interval_s);
    /* worker_tick always returns its delay: the period is only a default */
    w->ticker = ticker_start(env->config->refit_interval_s * 1000, 0, worker_tick, w);
    if (w->ticker == NULL) {
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
    ticker_stop(w->ticker); /* waits for a refit in progress */
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void worker_request(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->requested = true;
    pthread_mutex_unlock(&w->mu);
    ticker_wake(w->ticker);
}

void worker_note_ingested(worker *w, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&w->mu);
    w->ingested += n;
    w->changed = true;
    bool wake = w->ingested >= (size_t)w->env.config->refit_after_txns || waiting_for_first(w);
    pthread_mutex_unlock(&w->mu);
    if (wake)
        ticker_wake(w->ticker); /* the turn waits out the first-model gap itself */
}

void worker_note_changed(worker *w, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&w->mu);
    w->changed = true;
    bool wake = waiting_for_first(w);
    pthread_mutex_unlock(&w->mu);
    if (wake)
        ticker_wake(w->ticker);
}

bool worker_eligible(worker *w, char *why, size_t len)
{
    pthread_mutex_lock(&w->mu);
    worker_status st = w->status;
    pthread_mutex_unlock(&w->mu);
    const ltvd_config *cfg = w->env.config;
    if (!st.looked) {
        snprintf(why, len, "the data have not been looked at yet");
        return false;
    }
    bool few = st.n_customers < (size_t)cfg->model_min_customers;
    bool few_rep = st.n_repeaters < (size_t)cfg->model_min_repeaters;
    if (!few && !few_rep)
        return true;
    snprintf(why, len,
             "%zu customers (need %ld: model_min_customers), %zu with repeat purchases "
             "(need %ld: model_min_repeaters)",
             st.n_customers, cfg->model_min_customers, st.n_repeaters,
             cfg->model_min_repeaters);
    return false;
}

void worker_status_get(worker *w, worker_status *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->status;
    pthread_mutex_unlock(&w->mu);
}

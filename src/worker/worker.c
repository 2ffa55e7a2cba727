/* The refit worker's fit: takes the tenant's fit lock, gathers the cache's
 * summaries, checks the eligibility rule, fits, accepts (model/accept.h),
 * persists with the settings and publishes; a loop on one thread decides
 * when (worker_loop.c, see worker.h). It knows the service only through its
 * worker_env. */
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
#include "store/fleet.h"
#include "store/snapshot.h"
#include "summary/summary.h"
#include "worker/covariance.h"
#include "worker/refit.h"

/* How long a refit waits for the pooled connection it holds the fit lock
 * on and persists through. */
#define WORKER_POOL_WAIT_MS 10000
/* Months of CLV the scoring check computes at most. */
#define SCORE_CHECK_MONTHS 12

static const char *const fail_labels[WORKER_FAIL_N] = {
    "none",    "not_finite",      "boundary",  "heavy_tail", "not_converged", "hessian",
    "scoring", "too_little_data", "fit_error", "database",   "out_of_memory",
};

const char *worker_fail_label(worker_fail f)
{
    return f < WORKER_FAIL_N ? fail_labels[f] : "unknown";
}

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

/* Persists m on db, the fit lock held, and sets its version and fitted_at. */
static bool persist(attempt *t, cache_model *m, store_db *db, const store_fit_lock *lock)
{
    store_snapshot s = {.as_of = m->as_of,
                        .has_spend = m->has_spend,
                        .settings_as_of_set = m->settings_as_of_day != CACHE_AS_OF_NOW,
                        .settings_as_of_day = m->settings_as_of_day,
                        .spend_n_zero = (int64_t)m->gg_n_zero,
                        .fallback = m->fallback[0] != '\0' ? m->fallback : NULL};
    snprintf(s.period, sizeof s.period, "%s", m->period_days == 1 ? "day" : "week");
    snprintf(s.settings_model, sizeof s.settings_model, "%s", m->settings_model);
    s.covariance_json = worker_covariance_json(m); /* NULL: saved without */
    bool ok = fit_to_store(m->model->name, m->model->param_names, m->model->n_params,
                           &m->fit, m->n_customers, m->n_patterns, &s.purchase) &&
              (!m->has_spend || fit_to_store("gg", gg_param_names, 3, &m->gg_fit,
                                             m->gg_n_customers, 0, &s.spend));
    if (!ok)
        failed(t, WORKER_FAIL_OUT_OF_MEMORY, "out of memory");
    else if (store_snapshot_save_fit(db, t->env->tenant, lock, &s) != 0)
        ok = failed(t, WORKER_FAIL_DATABASE, "snapshot not saved: %.150s",
                    store_db_error(db));
    free_fit(&s.purchase);
    free_fit(&s.spend);
    free(s.covariance_json);
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

/* ------------------------------------------------------------ the fit lock */

/* Takes a pooled connection and the tenant's fit lock on it. False with the
 * reason when either cannot be had: t->fail WORKER_FAIL_NONE (a skip) when
 * another process holds the lock, WORKER_FAIL_DATABASE otherwise. */
static bool lock_fit(attempt *t, store_db **db, store_fit_lock *lock)
{
    *db = store_pool_acquire(t->env->pool, WORKER_POOL_WAIT_MS);
    if (*db == NULL)
        return failed(t, WORKER_FAIL_DATABASE, "no database connection became free");
    if (store_fit_lock_try(*db, t->env->tenant, lock) != 0)
        return failed(t, WORKER_FAIL_DATABASE, "fit lock: %.200s", store_db_error(*db));
    if (!lock->held)
        return failed(t, WORKER_FAIL_NONE,
                      "skipped: another process is fitting this tenant (its snapshot "
                      "is served once saved)");
    return true;
}

/* Whether another process saved a snapshot under m's settings that is newer
 * than the one served when the refit was decided (decided) and not yet
 * skipped for (*seen, updated): then this refit is left to it (a skip),
 * once per such snapshot, so one that this process cannot serve does not
 * stop its refits. */
static bool newer_elsewhere(attempt *t, store_db *db, const cache_model *m,
                            int64_t decided, int64_t *seen)
{
    int64_t newest = 0;
    if (seen == NULL || store_snapshot_newest_id(db, t->env->tenant, m->settings_model,
                                                 m->period_days == 1 ? "day" : "week",
                                                 m->settings_as_of_day != CACHE_AS_OF_NOW,
                                                 m->settings_as_of_day, &newest) != 0)
        return false; /* a failure shows when saving */
    if (newest <= decided || newest == *seen)
        return false;
    *seen = newest;
    failed(t, WORKER_FAIL_NONE,
           "skipped: another process saved snapshot %lld meanwhile (served once loaded)",
           (long long)newest);
    return true;
}

/* ------------------------------------------------------------ one refit */

/* Gathers, fits, accepts, persists and publishes m (the fit lock held on db). */
static bool fit_locked(attempt *t, cache_model *m, gathered *g, store_db *db,
                       const store_fit_lock *lock, worker_status *st)
{
    if (cache_foreach(t->env->cache, gather_one, g) != 0)
        return failed(t, WORKER_FAIL_OUT_OF_MEMORY, "out of memory");
    if (st != NULL) {
        st->looked = true;
        st->n_customers = g->n;
        st->n_repeaters = g->n_repeaters;
    }
    if (!eligible(t, g))
        return false;
    m->n_customers = g->n;
    m->n_patterns = btyd_patterns_collapse(g->pat, g->n);
    size_t n_gg = gg_collapse(g->gg, g->n_gg);
    const cache_model *prev = cache_snapshot_acquire(t->env->cache);
    bool ok = fit_purchase_or_limit(t, m->model, prev, g, m->n_patterns, m) &&
              fit_spend(t, prev, g, n_gg, m) && scores_ok(t, m, g, m->n_patterns, n_gg) &&
              persist(t, m, db, lock);
    cache_snapshot_release(prev);
    if (ok && cache_snapshot_set(t->env->cache, m) != CACHE_OK)
        ok = failed(t, WORKER_FAIL_OUT_OF_MEMORY,
                    "saved, but not published: out of memory");
    if (ok && m->fallback[0] != '\0')
        log_write(LOG_WARN, "refit: %s", m->fallback);
    return ok;
}

bool worker_refit_run(const worker_env *env, char reason[WORKER_REASON_MAX],
                      worker_fail *fail, worker_status *st, int64_t decided,
                      int64_t *seen)
{
    const ltvd_config *cfg = env->config;
    const btyd_model *bm =
        cfg->model == CONFIG_MODEL_PARETO ? &pareto_model : &bgnbd_model;
    attempt t = {.env = env, .reason = reason};
    cache_model m = {.model = bm};
    settings_of(env, &m);
    gathered g = {.as_of_day = env->as_of_day(env->cls), .period_days = m.period_days};
    m.as_of = (double)g.as_of_day * 86400;
    store_db *db = NULL;
    store_fit_lock lock = {0};
    reason[0] = '\0';
    bool ok = lock_fit(&t, &db, &lock) && !newer_elsewhere(&t, db, &m, decided, seen) &&
              fit_locked(&t, &m, &g, db, &lock, st);
    if (db != NULL) {
        if (store_fit_lock_release(db, env->tenant, &lock) != 0)
            log_write(LOG_WARN, "refit: %s", store_db_error(db));
        store_pool_release(env->pool, db);
    }
    free(g.pat);
    free(g.gg);
    if (fail != NULL)
        *fail = ok ? WORKER_FAIL_NONE : t.fail;
    return ok;
}

bool worker_refit_once(const worker_env *env, char reason[WORKER_REASON_MAX],
                       worker_fail *fail, worker_status *st)
{
    return worker_refit_run(env, reason, fail, st, 0, NULL);
}

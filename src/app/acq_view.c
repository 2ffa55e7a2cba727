/* The acquisition and cohort view of a tenant (acq_view.h): one pass
 * over the cache with the score table's rows, in the manner of segments.c,
 * into summary/cohorts.h's aggregates; kept in a per-tenant memo. */
#include "app/acq_view.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "app/list_table.h"
#include "base/clock.h"
#include "cache/scores.h"
#include "log/log.h"

/* Values kept per tenant (a few horizons a dashboard asks for). */
#define VALUES_KEPT 4

typedef struct kept_value {
    uint64_t serial; /* 0: empty */
    clv_options clv;
    acq_value v;
} kept_value;

struct app_acq_memo {
    pthread_mutex_t lock;
    app_acq_view *view; /* the last view kept, one reference; NULL */
    kept_value values[VALUES_KEPT];
    unsigned next; /* the slot the next value replaces */
};

struct app_acq_memo *app_acq_memo_new(void)
{
    struct app_acq_memo *m = calloc(1, sizeof *m);
    if (m != NULL && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void app_acq_memo_free(struct app_acq_memo *m)
{
    if (m == NULL)
        return;
    app_acq_view_release(m->view);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void app_acq_view_release(app_acq_view *v)
{
    if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    cohort_set_free(&v->cohorts);
    for (size_t i = 0; v->names != NULL && i < v->cc.n_channels; i++)
        free(v->names[i]);
    free(v->names);
    cohort_channels_free(&v->cc);
    cache_snapshot_release(v->m);
    free(v);
}

/* ------------------------------------------------------------ the pass */

typedef struct pass {
    app_tenant *tn;
    const cache_model *m;
    app_score_opts o;
    double margin;
    cohort_customer *c;
    size_t n, cap;
    size_t scored;       /* customers scored here */
    int64_t deadline_ms; /* list_budget_ms from the start */
    bool over;           /* the budget ran out: the rest get no prediction */
    size_t n_unpredicted;
} pass;

/* The customer's months with a purchase, as bits from its first month.
 * Until the cache keeps every month (month_bits), the first and the last
 * month are what a summary tells. */
static uint64_t month_bits_of(const cache_summary *s)
{
    int32_t later = cohort_month_of_day(s->last_day) - cohort_month_of_day(s->first_day);
    uint64_t bits = 1;
    if (later > 0 && later < COHORT_MONTH_BITS)
        bits |= UINT64_C(1) << later;
    return bits;
}

static uint32_t channel_of(const cache_summary *s)
{
    (void)s;
    return COHORT_NO_CHANNEL;
}

/* The customer's predicted LTV: the score table's row, else scored here
 * within the budget; NaN when neither. */
static double predicted(pass *k, const cache_summary *s, const cache_score_row *row)
{
    if (row != NULL && row->rc == GSL_SUCCESS && s->last_day <= k->o.as_of_day)
        return k->margin * row->spend * row->discounted;
    if (k->over || (++k->scored % 64 == 0 && base_mono_ms() >= k->deadline_ms)) {
        k->over = true;
        return NAN;
    }
    app_score_row r;
    if (app_score_compute(k->m, s, &k->o, app_tenant_config(k->tn), &r) != GSL_SUCCESS ||
        !r.r.has_spend)
        return NAN;
    return r.r.clv;
}

/* Adds one customer (a cache_scores_fn). */
static int add_one(const char *id, const cache_summary *s, const cache_score_row *row,
                   void *arg)
{
    (void)id;
    pass *k = arg;
    if (s->n_days == 0)
        return 0; /* a record whose first day has not arrived yet */
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 1024;
        cohort_customer *c = realloc(k->c, cap * sizeof *c);
        if (c == NULL)
            return CACHE_ENOMEM;
        k->c = c;
        k->cap = cap;
    }
    double v = predicted(k, s, row);
    k->n_unpredicted += !isfinite(v);
    k->c[k->n++] = (cohort_customer){
        .first_day = s->first_day,
        .n_days = s->n_days,
        .channel = channel_of(s),
        .first_amount = (double)s->first_units / CACHE_AMOUNT_UNITS,
        .repeat_amount = cache_repeat_amount(s),
        .month_bits = month_bits_of(s),
        .predicted_ltv = v,
    };
    return 0;
}

/* Fills v from the cache with the table r (acquired; NULL: scores each). */
static app_list_status compute(app_tenant *tn, app_list_table *r, app_acq_view *v,
                               size_t *scored)
{
    const ltvd_config *cfg = app_tenant_config(tn);
    pass k = {.tn = tn,
              .m = v->m,
              .margin = cfg->margin,
              .cap = app_tenant_customers(tn) + 1024,
              .deadline_ms = base_mono_ms() + cfg->list_budget_ms,
              .o = {.horizon_days = cfg->horizon_days,
                    .discount_rate = cfg->discount_rate,
                    .margin = cfg->margin,
                    .as_of_day = v->as_of_day}};
    /* without a score table, scoring each customer is for the few (as
     * lists): the others wait for the table rather than a pass of
     * list_budget_ms on every request */
    k.over = r == NULL && app_tenant_customers(tn) > (size_t)cfg->list_rescore_max;
    k.c = malloc(k.cap * sizeof *k.c);
    app_list_status st = APP_LIST_NO_MEMORY;
    if (k.c == NULL ||
        cache_scores_scan(r != NULL ? r->t : NULL, tn->cache, add_one, &k) != 0)
        goto cleanup;
    v->n_customers = k.n;
    v->n_unpredicted = k.n_unpredicted;
    if (cohort_build(k.c, k.n, cohort_month_of_day(v->as_of_day), &v->cohorts) != 0 ||
        cohort_channels_build(k.c, k.n, 0, NULL, 0, &v->cc) != 0)
        goto cleanup;
    st = APP_LIST_OK;
cleanup:
    *scored = k.scored;
    free(k.c);
    return st;
}

/* ------------------------------------------------------------ the memo */

static bool current(const app_acq_view *v, const app_acq_view *key)
{
    return v != NULL && v->generation == key->generation && v->serial == key->serial &&
           v->table == key->table && v->settings == key->settings &&
           v->as_of_day == key->as_of_day && v->spend_version == key->spend_version;
}

/* The memo's view when it is current (a new reference), else NULL. */
static app_acq_view *memo_get(struct app_acq_memo *memo, const app_acq_view *key)
{
    app_acq_view *v = NULL;
    pthread_mutex_lock(&memo->lock);
    if (current(memo->view, key)) {
        v = memo->view;
        atomic_fetch_add(&v->refs, 1);
    }
    pthread_mutex_unlock(&memo->lock);
    return v;
}

static void memo_put(struct app_acq_memo *memo, app_acq_view *v)
{
    atomic_fetch_add(&v->refs, 1);
    pthread_mutex_lock(&memo->lock);
    app_acq_view *old = memo->view;
    memo->view = v;
    pthread_mutex_unlock(&memo->lock);
    app_acq_view_release(old);
}

static app_list_status compute_view(app_tenant *tn, app_acq_view *v)
{
    if (!app_list_slot_take(tn->lists))
        return APP_LIST_BUSY;
    app_list_start(tn); /* when the worker did not start it */
    bool warming;
    const cache_model *held = cache_snapshot_ref(v->m);
    app_list_table *r = app_list_table_pick(tn, v->as_of_day, true, &held, &warming);
    /* a table of another (older) snapshot scores with that one: the
     * predictions then come from the snapshot the view names */
    if (r != NULL && held != v->m) {
        app_list_table_release(tn->lists, r);
        r = NULL;
    }
    cache_snapshot_release(held);
    int64_t t0 = base_mono_ms();
    size_t scored = 0;
    app_list_status st = compute(tn, r, v, &scored);
    log_write(
        LOG_INFO,
        "acquisition pass: %zu customers in %lld ms (%s score table, %zu scored here, "
        "%zu without a prediction)",
        v->n_customers, (long long)(base_mono_ms() - t0), r != NULL ? "with the" : "no",
        scored, v->n_unpredicted);
    app_list_table_release(tn->lists, r);
    app_list_slot_give(tn->lists);
    return st;
}

app_list_status app_acq_view_get(app_tenant *tn, app_acq_view **out)
{
    *out = NULL;
    app_acq_view *v = calloc(1, sizeof *v);
    if (v == NULL)
        return APP_LIST_NO_MEMORY;
    atomic_init(&v->refs, 1);
    v->m = cache_snapshot_acquire(tn->cache);
    if (v->m == NULL) {
        app_acq_view_release(v);
        return APP_LIST_NO_MODEL;
    }
    /* the generation first: a batch applied during the pass makes the
     * view older than its key, never newer */
    v->generation = cache_generation(tn->cache);
    v->serial = v->m->serial;
    v->settings = app_tenant_settings(tn);
    v->as_of_day = app_tenant_as_of_day(tn);
    size_t bytes;
    v->table = app_list_table_ready(tn, &bytes);
    app_acq_view *kept = memo_get(tn->acq, v);
    if (kept != NULL) {
        app_acq_view_release(v);
        *out = kept;
        return APP_LIST_OK;
    }
    app_list_status st = compute_view(tn, v);
    if (st != APP_LIST_OK) {
        app_acq_view_release(v);
        return st;
    }
    memo_put(tn->acq, v);
    *out = v;
    return APP_LIST_OK;
}

/* ---------------------------------------------------------- the values */

bool app_acq_model(const cache_model *m, const ltvd_config *cfg, unsigned months,
                   acq_model *a)
{
    memset(a, 0, sizeof *a);
    a->m = m->model;
    memcpy(a->params, m->params, sizeof a->params);
    for (size_t i = 0; i < m->model->n_params; i++)
        a->se[i] = m->fit.std_errors_ok ? m->fit.std_errors[i] : 0;
    a->clv = (clv_options){months, cfg->discount_rate, cfg->margin,
                           clv_month_periods(m->model, m->period_days)};
    if (!m->has_spend)
        return false;
    memcpy(a->gg, m->gg_params, sizeof a->gg);
    for (size_t i = 0; i < 3; i++)
        a->gg_se[i] = m->gg_fit.std_errors_ok ? m->gg_fit.std_errors[i] : 0;
    return true;
}

static bool same_clv(const clv_options *x, const clv_options *y)
{
    return x->months == y->months && x->discount_rate == y->discount_rate &&
           x->margin == y->margin && x->month_periods == y->month_periods;
}

void app_acq_value(app_tenant *tn, const cache_model *m, const acq_model *a,
                   acq_value *out)
{
    struct app_acq_memo *memo = tn->acq;
    pthread_mutex_lock(&memo->lock);
    for (unsigned i = 0; i < VALUES_KEPT; i++) {
        const kept_value *k = &memo->values[i];
        if (k->serial == m->serial && m->serial != 0 && same_clv(&k->clv, &a->clv)) {
            *out = k->v;
            pthread_mutex_unlock(&memo->lock);
            return;
        }
    }
    pthread_mutex_unlock(&memo->lock);
    acq_value_compute(a, out); /* out->ok says whether it could */
    pthread_mutex_lock(&memo->lock);
    kept_value *k = &memo->values[memo->next];
    memo->next = (memo->next + 1) % VALUES_KEPT;
    k->serial = m->serial;
    k->clv = a->clv;
    k->v = *out;
    pthread_mutex_unlock(&memo->lock);
}

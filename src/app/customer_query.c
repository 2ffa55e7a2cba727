/* Customer scores and the list query (see customer_query.h and
 * docs/lists.md).
 *
 * Lifecycle stages, from the summary and the model (README, "Lifecycle
 * stages"): new while there is no repeat purchase and the first one is less
 * than lifecycle_new_days old; else lost when P(alive) is below
 * churn_high_below, sleeping when below churn_medium_below; else developing
 * with fewer than lifecycle_established_repeats repeat purchases, and
 * established from there on.
 *
 * A list page is one pass over the customers keeping the best limit + 1
 * candidates after the cursor: candidates go into a buffer of 8 (limit + 1)
 * and each time it fills, quickselect cuts it back to the best limit + 1,
 * whose worst becomes the bar a new candidate must pass. That is O(1)
 * comparisons per customer in any input order (a binary heap costs
 * O(log limit) per customer when the cache happens to hold them in the
 * reverse of the asked order). Sorted by customer id, the pass walks the
 * table's id index instead and stops after limit + 1.
 *
 * After a refit, until the new snapshot's table is complete, a page comes
 * whole from the previous table and its snapshot (run).
 *
 * Where a customer's numbers come from: its row of the score table when the
 * row is fresh (consider_row); only what the filters and the sort need when
 * the table serves the request but has no fresh row (consider_stale); every
 * score at the request's options when the table does not serve it
 * (consider_direct, bounded by list_rescore_max). */
#define _GNU_SOURCE /* qsort_r */
#include "app/customer_query.h"
#include "app/apply.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/db_wait.h"
#include "app/list_table.h"
#include "cache/score_ahead.h"
#include "cache/score_memo.h"
#include "cache/scores.h"
#include "log/log.h"
#include "model/gg.h"
#include "store/customers.h"

/* Customers recomputed from PostgreSQL per statement (as_of in the past). */
#define LATE_CHUNK 500
/* Customers between two looks at the clock (a customer scored at a long
 * horizon costs milliseconds), and the least time between two looks at the
 * client's socket (a system call). */
#define CHECK_EVERY 64
#define GONE_CHECK_NS 10000000L

/* ---------------------------------------------------------------- scores */

/* The CLV options of o with model m (months of 30 days, at least one). */
clv_options app_clv_options(const cache_model *m, long horizon_days, double discount,
                            double margin)
{
    return (clv_options){(unsigned)fmax(1, lround((double)horizon_days / 30)), discount,
                         margin, clv_month_periods(m->model, m->period_days)};
}

static app_risk risk_of(const ltvd_config *cfg, double p_alive)
{
    return p_alive < cfg->churn_high_below     ? APP_RISK_HIGH
           : p_alive < cfg->churn_medium_below ? APP_RISK_MEDIUM
                                               : APP_RISK_LOW;
}

static app_stage lifecycle(const ltvd_config *cfg, const cache_summary *s, app_risk risk,
                           int64_t as_of_day)
{
    if (s->n_days <= 1 && as_of_day - s->first_day < cfg->lifecycle_new_days)
        return APP_STAGE_NEW;
    if (risk == APP_RISK_HIGH)
        return APP_STAGE_LOST;
    if (risk == APP_RISK_MEDIUM)
        return APP_STAGE_SLEEPING;
    return s->n_days - 1 < (uint64_t)cfg->lifecycle_established_repeats
               ? APP_STAGE_DEVELOPING
               : APP_STAGE_ESTABLISHED;
}

app_score_opts app_score_opts_configured(const ltvd_config *cfg, int64_t as_of_day)
{
    return (app_score_opts){.horizon_days = cfg->horizon_days,
                            .discount_rate = cfg->discount_rate,
                            .margin = cfg->margin,
                            .as_of_day = as_of_day};
}

int app_score_compute(const cache_model *m, const cache_summary *s,
                      const app_score_opts *o, const ltvd_config *cfg, app_score_row *out)
{
    clv_options clv = app_clv_options(m, o->horizon_days, o->discount_rate, o->margin);
    int64_t day =
        !o->as_of_given && s->last_day > o->as_of_day ? s->last_day : o->as_of_day;
    int rc = cache_score_summary(m, s, day, (double)o->horizon_days / m->period_days,
                                 APP_P_PURCHASE_DAYS / m->period_days, &clv, &out->r);
    if (rc != GSL_SUCCESS)
        return rc;
    out->risk = risk_of(cfg, out->r.p_alive);
    out->stage = lifecycle(cfg, &out->r.summary, out->risk, day);
    out->channel = out->campaign = NULL;
    out->has_table_ltv = false;
    return GSL_SUCCESS;
}

/* ---------------------------------------------------------------- order */

/* A customer that may belong to the page. */
typedef struct cand {
    const char *id; /* the cache's copy */
    double key;
    cache_summary s;     /* as of the request's day */
    bool has_row;        /* row holds its scores for the request (page_from_row) */
    bool has_trow;       /* row holds the table's scores (its LTV: app_score_row) */
    cache_score_row row; /* a copy: the table's rows move */
} cand;

static int compare(const app_list_query *q, double ka, const char *ia, double kb,
                   const char *ib)
{
    if (q->key != APP_KEY_CUSTOMER_ID && ka != kb)
        return (ka < kb) != q->desc ? -1 : 1;
    int c = strcmp(ia, ib);
    c = (c > 0) - (c < 0);
    return q->key == APP_KEY_CUSTOMER_ID && q->desc ? -c : c;
}

static int cand_cmp(const void *a, const void *b, void *q)
{
    const cand *x = a, *y = b;
    return compare(q, x->key, x->id, y->key, y->id);
}

/* ---------------------------------------------------------------- the walk */

typedef struct walk {
    app_tenant *tn;
    const cache_model *m;
    const app_list_query *q;
    bool use_table;
    bool rows_serve; /* stored rows hold the request's own scores */
    cand *buf;       /* the candidates, cap = 8 keep */
    size_t n, cap, keep;
    double table_margin; /* the table's LTV margin (its spec's) */
    bool has_bar;
    cand bar; /* the worst kept at the last cut: a candidate must beat it */
    store_db *db;
    const char *late[LATE_CHUNK];
    size_t n_late;
    size_t n_failed, seen;
    size_t offers, ranked; /* offer calls; of them, ranked customers' */
    int failure;
    struct timespec deadline;
    struct timespec gone_checked; /* when the client was last looked at */
    app_list_status stop;         /* APP_LIST_OK while going on */
} walk;

static bool passes(const app_list_query *q, app_risk risk, app_stage stage)
{
    return (q->risk < 0 || (int)risk == q->risk) &&
           (q->stage < 0 || (int)stage == q->stage) &&
           (q->at_risk < 0 || (risk == APP_RISK_HIGH) == (q->at_risk == 1));
}

int app_list_cell(const ltvd_config *cfg, const cache_summary *s, double p_alive,
                  int64_t day)
{
    app_risk risk = risk_of(cfg, p_alive);
    return (int)risk * APP_STAGES + (int)lifecycle(cfg, s, risk, day);
}

/* The rank cells whose customers pass q's filters. */
static uint32_t cells_of(const app_list_query *q)
{
    uint32_t mask = 0;
    for (int risk = APP_RISK_LOW; risk <= APP_RISK_HIGH; risk++)
        for (int stage = 0; stage < APP_STAGES; stage++)
            if (passes(q, (app_risk)risk, (app_stage)stage))
                mask |= 1u << (risk * APP_STAGES + stage);
    return mask;
}

static void failed(walk *w, int rc)
{
    if (w->n_failed++ == 0)
        w->failure = rc;
}

static void cand_swap(cand *a, cand *b)
{
    cand t = *a;
    *a = *b;
    *b = t;
}

/* Moves the best k of v[0..n) to the front, in no order (quickselect,
 * O(n) comparisons on average; median of three against sorted inputs). */
static void select_best(cand *v, size_t n, size_t k, const app_list_query *q)
{
    size_t lo = 0, hi = n; /* the k-th best lies in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (cand_cmp(&v[mid], &v[lo], (void *)q) < 0)
            cand_swap(&v[mid], &v[lo]);
        if (cand_cmp(&v[hi - 1], &v[lo], (void *)q) < 0)
            cand_swap(&v[hi - 1], &v[lo]);
        if (cand_cmp(&v[hi - 1], &v[mid], (void *)q) < 0)
            cand_swap(&v[hi - 1], &v[mid]);
        cand_swap(&v[mid], &v[hi - 1]); /* the pivot, the median, last */
        size_t store = lo;
        for (size_t i = lo; i < hi - 1; i++)
            if (cand_cmp(&v[i], &v[hi - 1], (void *)q) < 0)
                cand_swap(&v[i], &v[store++]);
        cand_swap(&v[store], &v[hi - 1]);
        if (store == k - 1 || store == k)
            return; /* v[0..store) are all better than v[store] */
        if (store < k)
            lo = store + 1;
        else
            hi = store;
    }
}

/* Keeps the best `keep` candidates; their worst becomes the bar. */
static void cut(walk *w)
{
    if (w->n <= w->keep)
        return;
    select_best(w->buf, w->n, w->keep, w->q);
    w->n = w->keep;
    size_t worst = 0;
    for (size_t i = 1; i < w->n; i++)
        if (cand_cmp(&w->buf[i], &w->buf[worst], (void *)w->q) > 0)
            worst = i;
    w->bar = w->buf[worst];
    w->has_bar = true;
}

/* Offers a customer that passed the filters with its key. */
static void offer(walk *w, const char *id, double key, const cache_summary *s,
                  const cache_score_row *row)
{
    const app_list_query *q = w->q;
    w->offers++;
    if (q->has_cursor && compare(q, key, id, q->cursor_key, q->cursor_id) <= 0)
        return;
    if (w->has_bar && compare(q, key, id, w->bar.key, w->bar.id) >= 0)
        return;
    cand *c = &w->buf[w->n++];
    *c = (cand){.id = id,
                .key = key,
                .s = *s,
                .has_row = w->rows_serve && row != NULL,
                .has_trow = w->use_table && row != NULL && row->rc == GSL_SUCCESS};
    if (c->has_trow)
        c->row = *row;
    if (w->n == w->cap)
        cut(w);
}

static double key_of(app_list_key k, const cache_score_result *r)
{
    switch (k) {
    case APP_KEY_P_ALIVE:
        return r->p_alive;
    case APP_KEY_EXPECTED:
        return r->expected;
    case APP_KEY_LTV:
        return r->has_spend ? r->clv : 0;
    case APP_KEY_SPEND:
        return r->has_spend ? r->expected_spend : 0;
    case APP_KEY_FREQUENCY:
        return r->x;
    case APP_KEY_RECENCY:
        return r->t_x;
    case APP_KEY_LAST_PURCHASE:
        return r->summary.last_day;
    default:
        return 0;
    }
}

/* Scores one customer with the request's options and offers it. A customer
 * whose scores cannot be computed is left out (and counted): one such
 * customer must not take every list down. */
static void consider_direct(walk *w, const char *id, const cache_summary *s)
{
    app_score_row row;
    int rc = app_score_compute(w->m, s, &w->q->o, app_tenant_config(w->tn), &row);
    if (rc != GSL_SUCCESS) {
        failed(w, rc);
        return;
    }
    if (passes(w->q, row.risk, row.stage))
        offer(w, id, key_of(w->q->key, &row.r), s, NULL);
}

/* The key of a stored row, with the arithmetic of cache_score_summary (the
 * table serves only keys its options determine). */
static double row_key(const walk *w, const cache_summary *s, const cache_score_row *row)
{
    const cache_model *m = w->m;
    switch (w->q->key) {
    case APP_KEY_P_ALIVE:
        return row->p_alive;
    case APP_KEY_EXPECTED:
        return row->expected;
    case APP_KEY_LTV:
        return m->has_spend ? w->q->o.margin * row->spend * row->discounted : 0;
    case APP_KEY_SPEND:
        return m->has_spend ? row->spend : 0;
    case APP_KEY_FREQUENCY:
        return (double)s->n_days - 1;
    case APP_KEY_RECENCY:
        return (double)((int64_t)s->last_day - s->first_day) / m->period_days;
    case APP_KEY_LAST_PURCHASE:
        return s->last_day;
    default:
        return 0;
    }
}

static void consider_row(walk *w, const char *id, const cache_summary *s,
                         const cache_score_row *row)
{
    app_risk risk = risk_of(app_tenant_config(w->tn), row->p_alive);
    if (!passes(w->q, risk,
                lifecycle(app_tenant_config(w->tn), s, risk, w->q->o.as_of_day)))
        return;
    double key = row_key(w, s, row);
    if (!isfinite(key)) {
        failed(w, GSL_ERANGE);
        return;
    }
    offer(w, id, key, s, row);
}

/* A customer the table has no fresh row for (new, or changed since the
 * last refresh): only what the filters and the key need, computed as
 * cache_score_summary does, instead of every score at the request's
 * options. Should the whole scoring fail for a customer that makes the
 * page, fill_page leaves it out. */
static void consider_stale(walk *w, const char *id, const cache_summary *s)
{
    const cache_model *m = w->m;
    const btyd_model *b = m->model;
    const app_list_query *q = w->q;
    double x = (double)s->n_days - 1, p = 0, key = 0;
    double t_x = (double)((int64_t)s->last_day - s->first_day) / m->period_days;
    double T = (double)(q->o.as_of_day - s->first_day) / m->period_days;
    int rc = GSL_SUCCESS;
    if (q->risk >= 0 || q->stage >= 0 || q->at_risk >= 0 || q->key == APP_KEY_P_ALIVE) {
        rc = b->p_alive(m->params, x, t_x, T, &p);
        if (rc == GSL_SUCCESS && !isfinite(p))
            rc = GSL_ERANGE;
        app_risk risk = risk_of(app_tenant_config(w->tn), p);
        if (rc == GSL_SUCCESS &&
            !passes(q, risk,
                    lifecycle(app_tenant_config(w->tn), s, risk, q->o.as_of_day)))
            return;
    }
    double spend = 0, d = 0;
    double mean = x > 0 ? cache_repeat_amount(s) / x : 0;
    clv_options clv =
        app_clv_options(m, q->o.horizon_days, q->o.discount_rate, q->o.margin);
    if (rc == GSL_SUCCESS && q->key == APP_KEY_EXPECTED)
        rc = b->expected(m->params, x, t_x, T, (double)q->o.horizon_days / m->period_days,
                         &key);
    if (rc == GSL_SUCCESS && m->has_spend &&
        (q->key == APP_KEY_SPEND || q->key == APP_KEY_LTV))
        rc = gg_expected_spend(m->gg_params, x, mean, &spend);
    if (rc == GSL_SUCCESS && m->has_spend && q->key == APP_KEY_LTV)
        rc = clv_discounted_purchases(b, m->params, x, t_x, T, &clv, &d);
    if (q->key == APP_KEY_P_ALIVE)
        key = p;
    else if (q->key == APP_KEY_SPEND)
        key = spend;
    else if (q->key == APP_KEY_LTV)
        key = q->o.margin * spend * d;
    else if (q->key != APP_KEY_EXPECTED)
        key = row_key(w, s, &(cache_score_row){0});
    if (rc == GSL_SUCCESS && !isfinite(key))
        rc = GSL_ERANGE;
    if (rc != GSL_SUCCESS)
        failed(w, rc);
    else
        offer(w, id, key, s, NULL);
}

static int consider_stored(const store_customer *c, void *arg)
{
    walk *w = arg;
    cache_summary s;
    const char *id = cache_id_ref(w->tn->cache, c->customer_id);
    if (id != NULL && app_summary_from_store(c, &s))
        consider_direct(w, id, &s);
    return 0;
}

/* Scores the customers waiting for their summary as of the day. */
static void flush_late(walk *w)
{
    if (w->n_late == 0)
        return;
    app *a = w->tn->app;
    char detail[APP_DB_DETAIL_MAX];
    /* a slot of db_request_threads and the request deadline, as every
     * request that waits on PostgreSQL (app/db_wait.h) */
    if (w->db == NULL && (w->db = app_db_acquire(a, detail)) == NULL)
        w->stop = APP_LIST_DB_FAILED;
    else if (store_customers_as_of(w->db, w->tn->id, w->late, w->n_late,
                                   w->q->o.as_of_day, consider_stored, w) < 0)
        w->stop = APP_LIST_DB_FAILED;
    w->n_late = 0;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static struct timespec plus_ns(struct timespec t, long ns)
{
    t.tv_sec += ns / 1000000000L;
    t.tv_nsec += ns % 1000000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Stops the walk when the budget ran out or the client left. */
static bool over(walk *w)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (w->stop == APP_LIST_OK && !before(&now, &w->deadline))
        w->stop = APP_LIST_BUDGET;
    struct timespec next = plus_ns(w->gone_checked, GONE_CHECK_NS);
    if (w->stop == APP_LIST_OK && w->q->gone != NULL && !before(&now, &next)) {
        w->gone_checked = now;
        if (w->q->gone(w->q->gone_arg))
            w->stop = APP_LIST_GONE;
    }
    return w->stop != APP_LIST_OK;
}

static int visit(const char *id, const cache_summary *s, const cache_score_row *row,
                 void *arg)
{
    walk *w = arg;
    if (w->stop != APP_LIST_OK || (++w->seen % CHECK_EVERY == 0 && over(w)))
        return 1;
    if (s->last_day > w->q->o.as_of_day && !w->q->o.as_of_given) {
        consider_direct(w, id, s); /* as of its last day: no database */
        return over(w);
    }
    if (s->first_day > w->q->o.as_of_day)
        return 0;
    if (s->last_day > w->q->o.as_of_day) {
        w->late[w->n_late++] = id;
        if (w->n_late == LATE_CHUNK)
            flush_late(w);
        return w->stop != APP_LIST_OK;
    }
    if (w->use_table && row != NULL && row->rc == GSL_SUCCESS) {
        consider_row(w, id, s, row);
        return 0;
    }
    if (w->use_table && row == NULL)
        consider_stale(w, id, s);
    else
        consider_direct(w, id, s);
    return over(w); /* scoring costs microseconds or more: look at the clock */
}

/* visit in id order: the first `keep` customers that pass are the page
 * (of the indexed customers; those not indexed yet are offered after). */
static int visit_ordered(const char *id, const cache_summary *s,
                         const cache_score_row *row, void *arg)
{
    walk *w = arg;
    if (visit(id, s, row, arg) != 0)
        return 1;
    if (w->n_late > 0) /* whether it passes decides when to stop */
        flush_late(w);
    return w->stop != APP_LIST_OK || w->n >= w->keep;
}

/* visit in rank order: once `keep` ranked customers were offered (after
 * the cursor, in order), no later one can make the page. */
static int visit_ranked(const char *id, const cache_summary *s,
                        const cache_score_row *row, void *arg)
{
    walk *w = arg;
    size_t before = w->offers;
    if (visit(id, s, row, arg) != 0)
        return 1;
    w->ranked += w->offers - before;
    return w->stop != APP_LIST_OK || w->ranked >= w->keep;
}

/* The rank that orders q's key, or -1 (the LTV's only at the table's
 * margin: the rank compares margin * spend * discounted). */
static int rank_of(const app_list_query *q, const cache_scores_spec *sp)
{
    switch (q->key) {
    case APP_KEY_P_ALIVE:
        return CACHE_RANK_P_ALIVE;
    case APP_KEY_EXPECTED:
        return CACHE_RANK_EXPECTED;
    case APP_KEY_LTV:
        return q->o.margin == sp->clv.margin ? CACHE_RANK_LTV : -1;
    case APP_KEY_SPEND:
        return CACHE_RANK_SPEND;
    case APP_KEY_FREQUENCY:
        return CACHE_RANK_FREQUENCY;
    case APP_KEY_RECENCY:
        return CACHE_RANK_RECENCY;
    case APP_KEY_LAST_PURCHASE:
        return CACHE_RANK_LAST_PURCHASE;
    default:
        return -1;
    }
}

/* The customers: from the cursor in the rank of the sort key, or in id
 * order through the table's index when the sort is by id; else (no rank,
 * or the journal lost track) a pass over every customer. */
static int walk_all(app_tenant *tn, cache_scores *t, walk *w)
{
    const app_list_query *q = w->q;
    int k = t != NULL ? rank_of(q, cache_scores_spec_of(t)) : -1;
    if (k >= 0) {
        /* the cells hold only customers that pass the filters: the walk
         * reads about limit + 1 ranked customers */
        int rc = cache_scores_walk_rank(t, tn->cache, (cache_rank_key)k, cells_of(q),
                                        q->desc, q->has_cursor ? &q->cursor_key : NULL,
                                        q->cursor_id, visit_ranked, visit, w);
        if (rc != -1) {
            app_list_count_walk(tn->lists, APP_LIST_WALK_RANK);
            return rc;
        }
    }
    if (t != NULL && q->key == APP_KEY_CUSTOMER_ID) {
        int rc = cache_scores_walk_ids(t, tn->cache, q->desc,
                                       q->has_cursor ? q->cursor_id : NULL, visit_ordered,
                                       visit, w);
        if (rc != -1) {
            app_list_count_walk(tn->lists, APP_LIST_WALK_IDS);
            return rc;
        }
    }
    app_list_count_walk(tn->lists,
                        t != NULL ? APP_LIST_WALK_PASS : APP_LIST_WALK_RESCORE);
    return cache_scores_scan(t, tn->cache, visit, w);
}

/* ---------------------------------------------------------------- the page */

/* A page item from a row of s's scores (the table's, or the memo's at the
 * request's options), equal to what app_score_compute gives when the row's
 * options are the request's (but the margin, applied here as clv_value
 * does). */
static int page_from_row(const walk *w, const cache_summary *s,
                         const cache_score_row *row, app_score_row *out)
{
    const cache_model *m = w->m;
    cache_score_result r = {
        .summary = *s, .has_spend = m->has_spend, .model_version = m->version};
    r.x = (double)s->n_days - 1;
    r.t_x = (double)((int64_t)s->last_day - s->first_day) / m->period_days;
    r.T = (double)(w->q->o.as_of_day - s->first_day) / m->period_days;
    r.m = r.x > 0 ? cache_repeat_amount(s) / r.x : 0;
    r.p_alive = row->p_alive;
    r.expected = row->expected;
    r.p_purchase = row->p_purchase;
    if (m->has_spend) {
        r.expected_spend = row->spend;
        r.clv = w->q->o.margin * row->spend * row->discounted;
        if (!isfinite(r.clv))
            return GSL_ERANGE;
    }
    out->r = r;
    out->risk = risk_of(app_tenant_config(w->tn), r.p_alive);
    out->stage = lifecycle(app_tenant_config(w->tn), s, out->risk, w->q->o.as_of_day);
    return GSL_SUCCESS;
}

/* Whether c is scored through the memo (page_scored). */
static bool for_memo(const walk *w, const cand *c)
{
    return !c->has_row && c->s.last_day <= w->q->o.as_of_day;
}

/* A page item the table has no row for at the request's options (their
 * spec sp): from the process's memo of histories (score_memo.h) when the
 * customer is scored as of the request's day, else app_score_compute. */
static int page_scored(const walk *w, const cache_scores_spec *sp, const cand *c,
                       app_score_row *out)
{
    const app_score_opts *o = &w->q->o;
    cache_score_row row;
    if (for_memo(w, c) && cache_score_memo_row(w->m, sp, &c->s, &row) &&
        row.rc == GSL_SUCCESS)
        return page_from_row(w, &c->s, &row, out);
    return app_score_compute(w->m, &c->s, o, app_tenant_config(w->tn), out);
}

/* Items to score before a helper thread pays for itself (~6 us each). */
#define AHEAD_MIN 64

/* When the page has at least AHEAD_MIN items for the memo, a helper scores
 * the second half of them (score_ahead.h) and *split is the index of the
 * first: the request's thread helps there, then takes them from the memo.
 * NULL (and *split w->n) without a helper. */
static cache_score_ahead *start_ahead(const walk *w, const cache_scores_spec *sp,
                                      size_t *split)
{
    *split = w->n;
    if (!app_tenant_config(w->tn)->list_score_helper)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += for_memo(w, &w->buf[i]);
    if (n < AHEAD_MIN)
        return NULL;
    cache_score_ahead *a = NULL;
    const cache_summary **s = malloc((n - n / 2) * sizeof *s);
    if (s == NULL)
        goto cleanup;
    size_t k = 0, first = w->n;
    for (size_t i = 0, seen = 0; i < w->n; i++) {
        if (!for_memo(w, &w->buf[i]) || seen++ < n / 2)
            continue;
        if (k == 0)
            first = i;
        s[k++] = &w->buf[i].s;
    }
    a = cache_score_ahead_start(w->m, sp, s, k);
    if (a != NULL)
        *split = first;
cleanup:
    free(s);
    return a;
}

/* At the helper's half: scores with it what it has not taken yet, then
 * ends it. False when the page's budget ran out (or its client left)
 * meanwhile. */
static bool join_ahead(walk *w, cache_score_ahead *a)
{
    bool ok = true;
    for (size_t k = 0; ok && cache_score_ahead_help(a); k++)
        ok = !(k % 16 == 15 && over(w));
    cache_score_ahead_end(a);
    return ok;
}

/* Scores the kept candidates with the request's options into the page. */
static app_list_status fill_page(walk *w, app_list_page *out)
{
    cut(w);
    qsort_r(w->buf, w->n, sizeof *w->buf, cand_cmp, (void *)w->q);
    out->more = w->n > w->q->limit; /* decided before any is left out */
    out->items = calloc(w->n + 1, sizeof *out->items);
    if (out->items == NULL)
        return APP_LIST_NO_MEMORY;
    cache_scores_spec sp; /* the request's options, for the items without a row */
    app_list_spec_opts(w->m, &w->q->o, &sp);
    size_t split;
    cache_score_ahead *ahead = start_ahead(w, &sp, &split);
    for (size_t i = 0; i < w->n; i++) {
        if (i == split) {
            bool ok = join_ahead(w, ahead);
            ahead = NULL;
            if (!ok)
                return w->stop;
        }
        if (i % 16 == 15 && over(w)) {
            cache_score_ahead_end(ahead);
            return w->stop;
        }
        app_list_item *it = &out->items[out->n];
        const cand *c = &w->buf[i];
        int rc = c->has_row ? page_from_row(w, &c->s, &c->row, &it->row)
                            : page_scored(w, &sp, c, &it->row);
        if (rc != GSL_SUCCESS) { /* scored by the table's options only */
            failed(w, rc);
            continue;
        }
        if (c->has_trow) {
            it->row.table_ltv = w->table_margin * c->row.spend * c->row.discounted;
            it->row.has_table_ltv = w->m->has_spend && isfinite(it->row.table_ltv);
        }
        it->id = w->buf[i].id;
        it->key = w->buf[i].key;
        out->n++;
    }
    return APP_LIST_OK;
}

/* The walk itself, with a slot and the snapshot held. */
static app_list_status run(app_tenant *tn, const app_list_query *q, walk *w,
                           app_list_page *out)
{
    bool keys = (q->key != APP_KEY_EXPECTED && q->key != APP_KEY_LTV) ||
                (q->o.horizon_days == app_tenant_config(tn)->horizon_days &&
                 q->o.discount_rate == app_tenant_config(tn)->discount_rate);
    bool warming = false;
    app_list_table *r = app_list_table_pick(tn, q->o.as_of_day, keys, &w->m, &warming);
    out->m = w->m; /* the previous snapshot's while the new table is computed */
    w->use_table = r != NULL;
    if (w->use_table) {
        const cache_scores_spec *sp = cache_scores_spec_of(r->t);
        w->table_margin = sp->clv.margin;
        w->rows_serve = q->o.horizon_days == sp->horizon_days &&
                        q->o.discount_rate == sp->discount_rate;
    }
    out->n_customers = app_tenant_customers(tn);
    app_list_status st = APP_LIST_OK;
    if (!w->use_table &&
        out->n_customers > (size_t)app_tenant_config(tn)->list_rescore_max)
        st = warming ? APP_LIST_WARMING : APP_LIST_TOO_MANY;
    out->rescored = !w->use_table;
    if (st == APP_LIST_OK) {
        int rc = walk_all(tn, w->use_table ? r->t : NULL, w);
        if (rc == CACHE_ENOMEM)
            w->stop = APP_LIST_NO_MEMORY;
        if (w->stop == APP_LIST_OK)
            flush_late(w);
        if (w->stop == APP_LIST_OK)
            over(w);
        st = w->stop != APP_LIST_OK ? w->stop : fill_page(w, out);
    }
    app_list_table_release(tn->lists, r);
    return st;
}

app_list_status app_list_run(app_tenant *tn, const app_list_query *q, app_list_page *out)
{
    memset(out, 0, sizeof *out);
    if (!app_list_slot_take(tn->lists))
        return APP_LIST_BUSY;
    app_list_start(tn); /* when the worker did not start it */
    app_list_status st = APP_LIST_NO_MODEL;
    walk w = {.tn = tn, .q = q, .keep = q->limit + 1, .cap = 8 * (q->limit + 1)};
    clock_gettime(CLOCK_MONOTONIC, &w.gone_checked);
    w.deadline =
        plus_ns(w.gone_checked, app_tenant_config(tn)->list_budget_ms * 1000000L);
    out->m = w.m = cache_snapshot_acquire(tn->cache);
    if (w.m != NULL) {
        w.buf = malloc(w.cap * sizeof *w.buf);
        st = w.buf == NULL ? APP_LIST_NO_MEMORY : run(tn, q, &w, out);
    }
    out->n_failed = w.n_failed;
    out->failure = w.failure;
    app_db_release(tn->app, w.db);
    free(w.buf);
    app_list_slot_give(tn->lists);
    return st;
}

void app_list_page_free(app_list_page *p)
{
    free(p->items);
    cache_snapshot_release(p->m);
    memset(p, 0, sizeof *p);
}

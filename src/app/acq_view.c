/* The acquisition and cohort view of a tenant (acq_view.h): one pass
 * over the cache with the score table's rows, in the manner of segments.c,
 * into summary/cohorts.h's aggregates; kept in a per-tenant memo. */
#include "app/acq_view.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* One row of the spend copy. */
typedef struct spend_row {
    char channel[CACHE_ATTR_MAX + 1];
    int32_t month;
    double spend;
    int64_t leads; /* -1: not given */
} spend_row;

struct app_acq_memo {
    pthread_mutex_t lock;
    app_acq_view *view; /* the last view kept, one reference; NULL */
    spend_row *spend;   /* the spend copy */
    size_t n_spend, cap_spend;
    /* its rows by (channel, month): open addressing, row index + 1 (0:
     * empty), at most half full; NULL (after running out of memory): the
     * look-up is linear */
    uint32_t *index;
    size_t index_cap;
    uint64_t spend_version; /* bumped by every change of the copy */
    atomic_ulong passes;    /* views computed (app_acq_passes) */
    /* single flight: while one request computes the view of `pending`'s
     * key, others of that key wait on `done` for it (bounded) */
    bool computing;
    app_acq_view pending; /* only its key fields */
    pthread_cond_t done;
    kept_value values[VALUES_KEPT];
    unsigned next;             /* the slot the next value replaces */
    struct app_acq_chan *chan; /* the per-channel model (acq_chan.h) */
};

struct app_acq_memo *app_acq_memo_new(void)
{
    struct app_acq_memo *m = calloc(1, sizeof *m);
    if (m != NULL && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    if (m != NULL && pthread_cond_init(&m->done, NULL) != 0) {
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
    }
    if (m != NULL && (m->chan = app_acq_chan_new()) == NULL) {
        app_acq_memo_free(m);
        return NULL;
    }
    return m;
}

void app_acq_memo_free(struct app_acq_memo *m)
{
    if (m == NULL)
        return;
    app_acq_chan_free(m->chan); /* joins its fit, which reads the cache */
    app_acq_view_release(m->view);
    free(m->spend);
    free(m->index);
    pthread_cond_destroy(&m->done);
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
    cohort_acc *acc;
    size_t n;
    size_t n_dict;       /* the dictionary's names the view's channels have */
    size_t scored;       /* customers scored here */
    int64_t deadline_ms; /* list_budget_ms from the start */
    bool over;           /* the budget ran out: the rest get no prediction */
    size_t n_unpredicted;
} pass;

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

/* The view's channel of a cache attribute index: index i + 1 of the
 * dictionary read before the pass (n_dict names) is channel i; none, an
 * overflow, or an index past the dictionary read (set since) is
 * COHORT_NO_CHANNEL. */
static uint32_t view_channel(size_t n_dict, uint32_t ch)
{
    return ch != CACHE_ATTR_NONE && ch != CACHE_ATTR_OVERFLOW && ch <= n_dict
               ? ch - 1
               : COHORT_NO_CHANNEL;
}

/* Adds one customer (a cache_scores_fn). */
static int add_one(const char *id, const cache_summary *s, cache_attrs a,
                   const cache_score_row *row, void *arg)
{
    (void)id;
    pass *k = arg;
    if (s->n_days == 0)
        return 0; /* a record whose first day has not arrived yet */
    double v = predicted(k, s, row);
    k->n_unpredicted += !isfinite(v);
    k->n++;
    const cohort_customer c = {
        .first_day = s->first_day,
        .n_days = s->n_days,
        .channel = view_channel(k->n_dict, a.channel),
        .first_amount = (double)s->first_units / CACHE_AMOUNT_UNITS,
        .repeat_amount = cache_repeat_amount(s),
        .month_bits = s->month_bits,
        .predicted_ltv = v,
    };
    return cohort_acc_add(k->acc, &c) == 0 ? 0 : CACHE_ENOMEM;
}

/* --------------------------------------------------------- the channels */

/* The channels of a view: the cache's dictionary (index i + 1 there is
 * channel i here), then the channels of the spend copy the dictionary does
 * not have; and the spend copy as cohort_spend rows. */
typedef struct channels {
    char **names; /* n, owned */
    size_t n;
    size_t n_dict; /* the first n_dict are the dictionary's 1..n_dict */
    cohort_spend *spend;
    size_t n_spend;
} channels;

static void channels_free(channels *ch)
{
    for (size_t i = 0; ch->names != NULL && i < ch->n; i++)
        free(ch->names[i]);
    free(ch->names);
    free(ch->spend);
    memset(ch, 0, sizeof *ch);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* A hash table of the names: slot -> index + 1. */
typedef struct name_table {
    size_t *slot;
    size_t mask;
} name_table;

static long name_find(const name_table *t, const channels *ch, const char *name)
{
    for (size_t h = name_hash(name) & t->mask; t->slot[h] != 0; h = (h + 1) & t->mask)
        if (strcmp(ch->names[t->slot[h] - 1], name) == 0)
            return (long)(t->slot[h] - 1);
    return -1;
}

/* Adds name as channel ch->n (room for it is there). -1 out of memory. */
static int name_add(name_table *t, channels *ch, const char *name)
{
    if ((ch->names[ch->n] = strdup(name)) == NULL)
        return -1;
    size_t h = name_hash(name) & t->mask;
    while (t->slot[h] != 0)
        h = (h + 1) & t->mask;
    t->slot[h] = ++ch->n;
    return 0;
}

/* The spend copy's rows (under the memo's lock) into ch, with their
 * channels. -1 when out of memory. */
static int add_spend(struct app_acq_memo *memo, name_table *t, channels *ch)
{
    for (size_t i = 0; i < memo->n_spend; i++) {
        const spend_row *r = &memo->spend[i];
        long k = name_find(t, ch, r->channel);
        if (k < 0 && name_add(t, ch, r->channel) != 0)
            return -1;
        ch->spend[ch->n_spend++] =
            (cohort_spend){(uint32_t)(k >= 0 ? k : (long)ch->n - 1), r->month, r->spend,
                           r->leads >= 0, r->leads >= 0 ? (double)r->leads : 0};
    }
    return 0;
}

/* Fills ch from tn's cache dictionary and spend copy; *version the copy's. */
static int channels_make(app_tenant *tn, channels *ch, uint64_t *version)
{
    size_t n_alloc = cache_channel_names(tn->cache, NULL, 0);
    const char **dict = malloc(n_alloc * sizeof *dict);
    struct app_acq_memo *memo = tn->acq;
    name_table t = {0};
    int rc = -1;
    pthread_mutex_lock(&memo->lock);
    size_t most = n_alloc + memo->n_spend, cap = 16;
    while (cap < 2 * most)
        cap *= 2;
    t.mask = cap - 1;
    t.slot = calloc(cap, sizeof *t.slot);
    ch->names = malloc(most * sizeof *ch->names + 1);
    ch->spend = malloc(memo->n_spend * sizeof *ch->spend + 1);
    if (dict == NULL || t.slot == NULL || ch->names == NULL || ch->spend == NULL)
        goto cleanup;
    size_t got = cache_channel_names(tn->cache, dict, n_alloc); /* only grows */
    size_t use = got < n_alloc ? got : n_alloc;
    for (size_t i = 1; i < use; i++) /* [0] is "none" */
        if (name_add(&t, ch, dict[i] != NULL ? dict[i] : "") != 0)
            goto cleanup;
    ch->n_dict = ch->n;
    rc = add_spend(memo, &t, ch);
    *version = memo->spend_version;
cleanup:
    pthread_mutex_unlock(&memo->lock);
    free(dict);
    free(t.slot);
    return rc;
}

/* Fills v from the cache with the table r (acquired; NULL: scores each):
 * the channels first (the dictionary's names the pass maps to), then one
 * pass adding each customer to the aggregates as it is read. */
static app_list_status compute(app_tenant *tn, app_list_table *r, app_acq_view *v,
                               size_t *scored)
{
    const ltvd_config *cfg = app_tenant_config(tn);
    pass k = {.tn = tn,
              .m = v->m,
              .margin = cfg->margin,
              .deadline_ms = base_mono_ms() + cfg->list_budget_ms,
              .o = app_score_opts_configured(cfg, v->as_of_day)};
    /* without a score table, scoring each customer is for the few (as
     * lists): the others wait for the table rather than a pass of
     * list_budget_ms on every request */
    k.over = r == NULL && app_tenant_customers(tn) > (size_t)cfg->list_rescore_max;
    channels ch = {0};
    app_list_status st = APP_LIST_NO_MEMORY;
    if (channels_make(tn, &ch, &v->spend_version) != 0)
        goto cleanup;
    k.n_dict = ch.n_dict;
    k.acc = cohort_acc_new(ch.n, cohort_month_of_day(v->as_of_day));
    if (k.acc == NULL ||
        cache_scores_scan_attrs(r != NULL ? r->t : NULL, tn->cache, add_one, &k) != 0 ||
        cohort_acc_finish(k.acc, ch.spend, ch.n_spend, &v->cohorts, &v->cc) != 0)
        goto cleanup;
    v->n_customers = k.n;
    v->n_unpredicted = k.n_unpredicted;
    v->names = ch.names; /* taken over */
    v->n_dict = ch.n_dict;
    ch.names = NULL;
    st = APP_LIST_OK;
cleanup:
    *scored = k.scored;
    channels_free(&ch);
    cohort_acc_free(k.acc);
    return st;
}

/* ------------------------------------------------------------ the memo */

static bool current(const app_acq_view *v, const app_acq_view *key)
{
    return v != NULL && v->generation == key->generation && v->serial == key->serial &&
           v->table == key->table && v->settings == key->settings &&
           v->as_of_day == key->as_of_day && v->spend_version == key->spend_version;
}

static void copy_key(app_acq_view *dst, const app_acq_view *key)
{
    dst->generation = key->generation;
    dst->serial = key->serial;
    dst->table = key->table;
    dst->settings = key->settings;
    dst->as_of_day = key->as_of_day;
    dst->spend_version = key->spend_version;
}

/* The memo's view when it is current (a new reference), else NULL; while
 * another request computes the view of this key, waits for it (until
 * wait_ms from now). *mine: this request is to compute it (others of its
 * key will wait for memo_put). */
static app_acq_view *memo_get(struct app_acq_memo *memo, const app_acq_view *key,
                              long wait_ms, bool *mine)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    app_acq_view *v = NULL;
    *mine = false;
    pthread_mutex_lock(&memo->lock);
    for (;;) {
        if (current(memo->view, key)) {
            v = memo->view;
            atomic_fetch_add(&v->refs, 1);
            break;
        }
        if (!memo->computing) {
            memo->computing = *mine = true;
            copy_key(&memo->pending, key);
            break;
        }
        if (!current(&memo->pending, key) ||
            pthread_cond_timedwait(&memo->done, &memo->lock, &until) != 0)
            break; /* another key's pass, or too long: a pass of its own */
    }
    pthread_mutex_unlock(&memo->lock);
    return v;
}

/* Keeps v (NULL: the pass failed) and, after this request's own pass
 * (mine), wakes the requests that waited for it. */
static void memo_put(struct app_acq_memo *memo, app_acq_view *v, bool mine)
{
    if (v != NULL)
        atomic_fetch_add(&v->refs, 1);
    pthread_mutex_lock(&memo->lock);
    app_acq_view *old = v != NULL ? memo->view : NULL;
    if (v != NULL)
        memo->view = v;
    if (mine) {
        memo->computing = false;
        pthread_cond_broadcast(&memo->done);
    }
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
     * predictions must come from the snapshot the view names (the same
     * version published again, e.g. by the follower, has the same
     * parameters). While the new snapshot's table is computed, a tenant
     * too large to score each customer takes the view whole from the
     * previous table, naming the previous snapshot (as a list page does
     * meanwhile), rather than a view without predictions; the key stays
     * the request's, and the new table's readiness changes it. */
    if (r != NULL && held != v->m && (held == NULL || held->version != v->m->version)) {
        if (held != NULL &&
            app_tenant_customers(tn) > (size_t)app_tenant_config(tn)->list_rescore_max) {
            cache_snapshot_release(v->m);
            v->m = cache_snapshot_ref(held);
        } else {
            app_list_table_release(tn->lists, r);
            r = NULL;
        }
    }
    cache_snapshot_release(held);
    int64_t t0 = base_mono_ms();
    size_t scored = 0;
    atomic_fetch_add(&tn->acq->passes, 1);
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
    pthread_mutex_lock(&tn->acq->lock);
    v->spend_version = tn->acq->spend_version; /* the key (compute reads it again) */
    pthread_mutex_unlock(&tn->acq->lock);
    bool mine;
    app_acq_view *kept =
        memo_get(tn->acq, v, app_tenant_config(tn)->list_budget_ms + 1000, &mine);
    if (kept != NULL) {
        app_acq_view_release(v);
        *out = kept;
        return APP_LIST_OK;
    }
    app_list_status st = compute_view(tn, v);
    if (st != APP_LIST_OK) {
        memo_put(tn->acq, NULL, mine);
        app_acq_view_release(v);
        return st;
    }
    memo_put(tn->acq, v, mine);
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

/* ------------------------------------------------------------ the spend */

static size_t spend_hash(const char *channel, int32_t month)
{
    uint64_t h = 1469598103934665603ull ^ (uint32_t)month;
    for (const unsigned char *p = (const unsigned char *)channel; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static void index_put(struct app_acq_memo *m, size_t row)
{
    size_t mask = m->index_cap - 1;
    size_t h = spend_hash(m->spend[row].channel, m->spend[row].month) & mask;
    while (m->index[h] != 0)
        h = (h + 1) & mask;
    m->index[h] = (uint32_t)(row + 1);
}

/* Makes room in the index for one more row (rebuilt at twice the size when
 * it would be more than half full); without memory the index is dropped and
 * look-ups are linear. */
static void index_reserve(struct app_acq_memo *m)
{
    if (m->index != NULL && 2 * (m->n_spend + 1) <= m->index_cap)
        return;
    if (m->index == NULL && m->index_cap != 0)
        return; /* dropped: stays linear until the next load */
    size_t cap = m->index_cap ? 2 * m->index_cap : 128;
    uint32_t *v = calloc(cap, sizeof *v);
    free(m->index);
    m->index = v;
    m->index_cap = cap;
    for (size_t i = 0; v != NULL && i < m->n_spend; i++)
        index_put(m, i);
}

/* The row of (channel, month) in the copy, or NULL: a PUT of 1000 rows
 * looks each up (linear in a copy of 90,000 rows, such a PUT took 0.34 s
 * under the memo's lock). */
static spend_row *spend_find(struct app_acq_memo *m, const char *channel, int32_t month)
{
    if (m->index == NULL) {
        for (size_t i = 0; i < m->n_spend; i++)
            if (m->spend[i].month == month && strcmp(m->spend[i].channel, channel) == 0)
                return &m->spend[i];
        return NULL;
    }
    size_t mask = m->index_cap - 1;
    for (size_t h = spend_hash(channel, month) & mask; m->index[h] != 0;
         h = (h + 1) & mask) {
        spend_row *r = &m->spend[m->index[h] - 1];
        if (r->month == month && strcmp(r->channel, channel) == 0)
            return r;
    }
    return NULL;
}

/* Sets row s in the copy; is_new: s is known not to be there (a load into
 * an empty copy, whose rows are distinct), so it is not looked for. */
static bool spend_set(struct app_acq_memo *m, const store_spend *s, bool is_new)
{
    if (strlen(s->channel) > CACHE_ATTR_MAX)
        return false;
    spend_row *r = is_new ? NULL : spend_find(m, s->channel, (int32_t)s->month);
    if (r == NULL) {
        if (m->n_spend == APP_ACQ_SPEND_MAX)
            return false;
        if (m->n_spend == m->cap_spend) {
            size_t cap = m->cap_spend ? 2 * m->cap_spend : 64;
            spend_row *v = realloc(m->spend, cap * sizeof *v);
            if (v == NULL)
                return false;
            m->spend = v;
            m->cap_spend = cap;
        }
        index_reserve(m);
        r = &m->spend[m->n_spend++];
        snprintf(r->channel, sizeof r->channel, "%s", s->channel);
        r->month = (int32_t)s->month;
        if (m->index != NULL)
            index_put(m, m->n_spend - 1);
    }
    r->spend = strtod(s->spend, NULL);
    r->leads = s->leads;
    return true;
}

static bool merge(app_tenant *t, const store_spend *s, size_t n, bool is_new)
{
    struct app_acq_memo *m = t->acq;
    bool ok = true;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n && ok; i++)
        ok = spend_set(m, &s[i], is_new);
    m->spend_version++;
    pthread_mutex_unlock(&m->lock);
    if (!ok)
        log_write(
            LOG_WARN,
            "tenant %s: the acquisition spend copy is incomplete (out of memory, or "
            "past %d rows): GET /v1/acquisition lacks some spend until a restart",
            t->id, APP_ACQ_SPEND_MAX);
    return ok;
}

bool app_acq_spend_merge(app_tenant *t, const store_spend *s, size_t n)
{
    return merge(t, s, n, false);
}

static int spend_load_one(const store_spend *s, void *arg)
{
    return merge(arg, s, 1, true) ? 0 : 1;
}

int app_acq_spend_load(app_tenant *t, store_db *db)
{
    struct app_acq_memo *memo = t->acq; /* a load replaces the copy */
    pthread_mutex_lock(&memo->lock);
    memo->n_spend = 0;
    free(memo->index); /* rebuilt as the rows come */
    memo->index = NULL;
    memo->index_cap = 0;
    memo->spend_version++;
    pthread_mutex_unlock(&memo->lock);
    /* from ("", 1970-01): before every row, channels being never empty (an
     * after_channel of NULL sends the month 0, which PostgreSQL refuses) */
    char after[CACHE_ATTR_MAX + 1] = "";
    int64_t after_month = 1970 * 12;
    for (size_t total = 0; total < APP_ACQ_SPEND_MAX;) {
        long got =
            store_spend_page(db, t->id, after, after_month, 1000, spend_load_one, t);
        if (got < 0)
            return -1;
        if (got == 0)
            return 0;
        total += (size_t)got;
        struct app_acq_memo *m = t->acq; /* the last row loaded: the page's end */
        pthread_mutex_lock(&m->lock);
        snprintf(after, sizeof after, "%s", m->spend[m->n_spend - 1].channel);
        after_month = m->spend[m->n_spend - 1].month;
        pthread_mutex_unlock(&m->lock);
        if (got < 1000)
            return 0;
    }
    log_write(LOG_WARN,
              "tenant %s: the acquisition spend copy holds its limit of %d rows: "
              "GET /v1/acquisition lacks any later one",
              t->id, APP_ACQ_SPEND_MAX);
    return 0;
}

struct app_acq_chan *app_acq_chan_of(app_tenant *t)
{
    return t->acq->chan;
}

unsigned long app_acq_passes(app_tenant *t)
{
    return atomic_load(&t->acq->passes);
}

/* The list state of the service (app/list_table.h): the slots that bound
 * how many lists run at once, and the thread that keeps the score table
 * (cache/scores.h) of the served snapshot and day: it builds a new table
 * when the snapshot or the day changes (the old one stays published until
 * the new one is complete: lists are answered from it, with its own
 * snapshot, meanwhile), and otherwise rescores, every list_refresh_ms, the
 * customers ingest changed, and merges them into the ranks. */
#include "app/list_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/apply.h"
#include "app/customer_query.h"
#include "base/slots.h"
#include "base/ticker.h"
#include "log/log.h"

/* What every tenant's lists share: the slots, and the walk counts. */
/* The keeper's delay while its tenant serves no model. */
#define KEEP_IDLE_MS 1000

struct app_list_shared {
    atomic_long running; /* lists in flight, of every tenant */
    int slots;
    atomic_ullong walks[APP_LIST_WALK_COUNT];
    ticker_group *keepers; /* the thread of every tenant's keeper */
};

struct app_list_state {
    const ltvd_config *cfg; /* the service's: list_refresh_ms */
    struct app_list_shared *sh;
    pthread_mutex_t lock; /* cur, refs, ticker */
    app_list_table *cur;
    ticker *ticker;    /* the keeper: keep_tick every list_refresh_ms */
    atomic_bool stop;  /* a refresh in progress ends early once set */
    uint64_t kept_gen; /* the keeper's: the cache generation of its last turn */
    long delay_ms;     /* and the delay it chose */
};

struct app_list_shared *app_list_shared_new(const ltvd_config *cfg)
{
    struct app_list_shared *sh = calloc(1, sizeof *sh);
    if (sh == NULL)
        return NULL;
    atomic_init(&sh->running, 0);
    sh->slots = app_list_slots(cfg);
    if ((sh->keepers = ticker_group_start()) == NULL) {
        free(sh);
        return NULL;
    }
    return sh;
}

void app_list_shared_free(struct app_list_shared *sh)
{
    if (sh == NULL)
        return;
    ticker_group_stop(sh->keepers);
    free(sh);
}

int app_list_slots(const ltvd_config *cfg)
{
    long threads = config_offload_threads(cfg); /* lists run there */
    long n = threads * cfg->list_thread_share / 100;
    if (n > threads - 1) /* one stays for ingest and as_of reads */
        n = threads - 1;
    return n < 1 ? 1 : (int)n;
}

struct app_list_state *app_list_state_new(const ltvd_config *cfg,
                                          struct app_list_shared *sh)
{
    struct app_list_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->cfg = cfg;
    s->sh = sh;
    atomic_init(&s->stop, false);
    return s;
}

app_list_table *app_list_table_acquire(struct app_list_state *s)
{
    pthread_mutex_lock(&s->lock);
    app_list_table *r = s->cur;
    if (r != NULL)
        r->refs++;
    pthread_mutex_unlock(&s->lock);
    return r;
}

void app_list_table_release(struct app_list_state *s, app_list_table *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last) {
        cache_scores_free(r->t);
        cache_snapshot_release(r->m);
        free(r);
    }
}

/* Makes t, scored with m, the current table (the old one goes with its
 * last reader). */
static void publish(struct app_list_state *s, cache_scores *t, const cache_model *m)
{
    app_list_table *r = malloc(sizeof *r);
    if (r == NULL) {
        cache_scores_free(t);
        return;
    }
    *r = (app_list_table){t, cache_snapshot_ref(m), 1};
    pthread_mutex_lock(&s->lock);
    app_list_table *old = s->cur;
    s->cur = r;
    pthread_mutex_unlock(&s->lock);
    app_list_table_release(s, old);
}

/* ---------------------------------------------------------------- keeper */

void app_list_spec_opts(const cache_model *m, const app_score_opts *o,
                        cache_scores_spec *sp)
{
    *sp = (cache_scores_spec){
        .model_version = m->serial,
        .as_of_day = o->as_of_day,
        .horizon_days = o->horizon_days,
        .discount_rate = o->discount_rate,
        .horizon = (double)o->horizon_days / m->period_days,
        .p_horizon = APP_P_PURCHASE_DAYS / m->period_days,
        .clv = app_clv_options(m, o->horizon_days, o->discount_rate, o->margin)};
}

void app_list_spec(const cache_model *m, int64_t day, const ltvd_config *cfg,
                   cache_scores_spec *sp)
{
    app_score_opts o = app_score_opts_configured(cfg, day);
    app_list_spec_opts(m, &o, sp);
    /* FNV-1a over the settings the cells use (a tenant's may change) */
    double d[2] = {cfg->churn_medium_below, cfg->churn_high_below};
    long l[2] = {cfg->lifecycle_new_days, cfg->lifecycle_established_repeats};
    unsigned char bytes[sizeof d + sizeof l];
    memcpy(bytes, d, sizeof d);
    memcpy(bytes + sizeof d, l, sizeof l);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof bytes; i++)
        h = (h ^ bytes[i]) * 1099511628211ULL;
    sp->cells = h;
}

bool app_list_spec_same(const cache_scores_spec *a, const cache_scores_spec *b)
{
    return a->model_version == b->model_version && a->as_of_day == b->as_of_day &&
           a->horizon_days == b->horizon_days && a->discount_rate == b->discount_rate &&
           a->cells == b->cells;
}

/* The rank cell of a row (a cache_rank_cell_fn; arg: the keeper's
 * cell_ctx). */
typedef struct cell_ctx {
    const ltvd_config *cfg;
    int64_t day;
} cell_ctx;

static int cell_of_row(const cache_score_row *row, void *arg)
{
    const cell_ctx *x = arg;
    return app_list_cell(x->cfg, &row->s, row->p_alive, x->day);
}

/* Refreshes table t of snapshot m (rows, id index, ranks). A rank that
 * cannot be built (out of memory) leaves the table without one: lists
 * then pass over its rows. Returns 0, 1 (stopped) or CACHE_ENOMEM for the
 * rows. */
static int refresh(app_tenant *tn, cache_scores *t, const cache_model *m, cell_ctx *cells,
                   size_t *n_scored)
{
    int rc = cache_scores_refresh(t, tn->cache, m, &tn->lists->stop, n_scored);
    if (rc == 0)
        rc = cache_scores_index_ids(t, tn->cache);
    if (rc == 0 && cache_scores_rank(t, cell_of_row, cells) != CACHE_OK)
        log_write(LOG_WARN, "list scores: out of memory for the ranks");
    if (rc == CACHE_ENOMEM)
        log_write(LOG_WARN, "list scores: out of memory");
    return rc;
}

/* Builds and publishes the table of snapshot m and spec sp. */
static void build(app_tenant *tn, const cache_model *m, const cache_scores_spec *sp,
                  cell_ctx *cells)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cache_scores *t = cache_scores_new(sp);
    size_t n = 0;
    int rc = t == NULL ? CACHE_ENOMEM : refresh(tn, t, m, cells, &n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0) {
        cache_scores_free(t);
        return;
    }
    log_write(LOG_INFO, "list scores: %zu customers scored in %.3f s (model %llu)", n,
              (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9,
              (unsigned long long)m->version);
    publish(tn->lists, t, m);
}

/* One round: refresh the current table, or build the one of a new
 * snapshot or day (the old one stays published meanwhile). */
static bool keep_once(app_tenant *tn)
{
    struct app_list_state *s = tn->lists;
    const cache_model *m = cache_snapshot_acquire(tn->cache);
    if (m == NULL)
        return false;
    const ltvd_config *cfg = app_tenant_config(tn); /* one version for the round */
    cache_scores_spec sp;
    app_list_spec(m, app_tenant_as_of_day(tn), cfg, &sp);
    cell_ctx cells = {cfg, sp.as_of_day};
    app_list_table *r = app_list_table_acquire(s);
    bool same = r != NULL && app_list_spec_same(cache_scores_spec_of(r->t), &sp);
    if (same)
        refresh(tn, r->t, m, &cells, NULL);
    app_list_table_release(s, r);
    if (!same)
        build(tn, m, &sp, &cells);
    cache_snapshot_release(m);
    return true;
}

/* The keeper's turn (a ticker_fn): every list_refresh_ms while the
 * tenant's customers change; while they do not, the delay doubles up to
 * KEEP_IDLE_MS (pages never lag: they offer the customers changed since
 * the ranks apart), and it is KEEP_IDLE_MS while the tenant has no model.
 * A thousand idle tenants cost little. */
static long keep_tick(void *arg)
{
    app_tenant *tn = arg;
    struct app_list_state *s = tn->lists;
    uint64_t gen = cache_generation(tn->cache);
    if (!keep_once(tn))
        return KEEP_IDLE_MS;
    long base = s->cfg->list_refresh_ms;
    s->delay_ms = gen != s->kept_gen || s->delay_ms < base ? base
                  : 2 * s->delay_ms > KEEP_IDLE_MS         ? KEEP_IDLE_MS
                                                           : 2 * s->delay_ms;
    s->kept_gen = gen;
    return s->delay_ms;
}

bool app_list_start(app_tenant *tn)
{
    struct app_list_state *s = tn->lists;
    pthread_mutex_lock(&s->lock);
    if (s->ticker == NULL)
        s->ticker =
            ticker_start_in(s->sh->keepers, s->cfg->list_refresh_ms, 0, keep_tick, tn);
    bool ok = s->ticker != NULL;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

void app_list_stop(struct app_list_state *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true); /* ends a long refresh early */
    ticker_stop(s->ticker);
    app_list_table_release(s, s->cur);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int app_list_running(app_tenant *tn)
{
    return (int)atomic_load(&tn->lists->sh->running);
}

bool app_list_table_ready(app_tenant *tn, size_t *bytes)
{
    const cache_model *m = cache_snapshot_acquire(tn->cache);
    app_list_table *r = app_list_table_acquire(tn->lists);
    bool ok = false;
    *bytes = 0;
    if (m != NULL && r != NULL) {
        cache_scores_spec sp;
        app_list_spec(m, app_tenant_as_of_day(tn), app_tenant_config(tn), &sp);
        ok = app_list_spec_same(cache_scores_spec_of(r->t), &sp) &&
             cache_scores_complete(r->t) && cache_scores_ranked(r->t);
        *bytes = cache_scores_memory(r->t);
    }
    app_list_table_release(tn->lists, r);
    cache_snapshot_release(m);
    return ok;
}

void app_list_count_walk(struct app_list_state *s, app_list_walk how)
{
    atomic_fetch_add(&s->sh->walks[how], 1);
}

unsigned long long app_list_walks(struct app_list_shared *sh, app_list_walk how)
{
    return atomic_load(&sh->walks[how]);
}

app_list_table *app_list_table_pick(app_tenant *tn, int64_t day, bool keys,
                                    const cache_model **m, bool *warming)
{
    *warming = false;
    if (!keys || day != app_tenant_as_of_day(tn))
        return NULL;
    app_list_table *r = app_list_table_acquire(tn->lists);
    cache_scores_spec sp;
    app_list_spec(*m, day, app_tenant_config(tn), &sp);
    if (r != NULL && app_list_spec_same(cache_scores_spec_of(r->t), &sp) &&
        cache_scores_complete(r->t))
        return r;
    if (r != NULL && r->m != NULL && cache_scores_complete(r->t)) {
        /* a new snapshot's table is being computed: the previous one
         * answers whole, with its own snapshot */
        app_list_spec(r->m, day, app_tenant_config(tn), &sp);
        if (app_list_spec_same(cache_scores_spec_of(r->t), &sp)) {
            cache_snapshot_release(*m);
            *m = cache_snapshot_ref(r->m);
            return r;
        }
    }
    app_list_table_release(tn->lists, r);
    *warming = true;
    return NULL;
}

app_list_status app_list_aggregate(app_tenant *tn, int64_t day, const cache_model **m,
                                   app_list_pass_fn pass, void *arg)
{
    *m = NULL;
    if (!app_list_slot_take(tn->lists))
        return APP_LIST_BUSY;
    app_list_start(tn); /* when the worker did not start it */
    app_list_status st = APP_LIST_NO_MODEL;
    *m = cache_snapshot_acquire(tn->cache);
    if (*m != NULL) {
        bool warming;
        app_list_table *r = app_list_table_pick(tn, day, true, m, &warming);
        if (r != NULL)
            st = pass(tn, r, arg);
        else if (app_tenant_customers(tn) <=
                 (size_t)app_tenant_config(tn)->list_rescore_max)
            st = pass(tn, NULL, arg); /* few enough to score each */
        else
            st = APP_LIST_WARMING;
        app_list_table_release(tn->lists, r);
    }
    app_list_slot_give(tn->lists);
    return st;
}

/* ---------------------------------------------------------------- slots */

bool app_list_slot_take(struct app_list_state *s)
{
    return base_slot_take(&s->sh->running, s->sh->slots);
}

void app_list_slot_give(struct app_list_state *s)
{
    base_slot_give(&s->sh->running);
}

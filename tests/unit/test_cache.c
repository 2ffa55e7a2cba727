/* The in-memory cache: the customer table (lookups, overwrites, 1M customers
 * and their memory, batches atomic under concurrent readers), the model
 * snapshot's lifetime under concurrent readers, and scoring from the cache
 * against the model functions called directly. */
#define _GNU_SOURCE /* mallinfo2 */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "model/gg.h"

static const double bgnbd_cdnow[4] = {0.243, 4.414, 0.793, 2.426};
static const double gg_cdnow[3] = {6.25, 3.74, 15.44};

static void setup(void)
{
    gsl_set_error_handler_off();
}

static cache_summary sum(int32_t first, int32_t last, uint32_t n, double amount)
{
    return (cache_summary){first, last, n, llround(amount * CACHE_AMOUNT_UNITS), 0, 0};
}

/* ------------------------------------------------------------ the table */

START_TEST(test_upsert_get_overwrite)
{
    cache *c = cache_new(0);
    ck_assert_ptr_nonnull(c);
    cache_summary s = sum(19000, 19010, 3, 42.5), got;
    ck_assert_int_eq(cache_get(c, "a", &got), CACHE_NOT_FOUND);
    ck_assert_int_eq(cache_upsert(c, "a", &s), CACHE_OK);
    ck_assert_int_eq(cache_upsert(c, "ab", &(cache_summary){1, 1, 1, 0, 0, 0}), CACHE_OK);
    ck_assert_int_eq(cache_get(c, "a", &got), CACHE_OK);
    ck_assert_int_eq(got.first_day, 19000);
    ck_assert_int_eq(got.last_day, 19010);
    ck_assert_uint_eq(got.n_days, 3);
    ck_assert(cache_repeat_amount(&got) == 42.5);
    ck_assert_uint_eq(cache_count(c), 2);

    s = sum(19000, 19020, 4, 50);
    ck_assert_int_eq(cache_upsert(c, "a", &s), CACHE_OK); /* overwrite */
    ck_assert_uint_eq(cache_count(c), 2);
    ck_assert_int_eq(cache_get(c, "a", &got), CACHE_OK);
    ck_assert_int_eq(got.last_day, 19020);
    ck_assert_uint_eq(got.n_days, 4);
    ck_assert(cache_repeat_amount(&got) == 50);
    ck_assert_int_eq(cache_get(c, "ab", &got), CACHE_OK);
    ck_assert_int_eq(got.first_day, 1);
    ck_assert_int_eq(cache_get(c, "b", &got), CACHE_NOT_FOUND);
    cache_free(c);
}
END_TEST

START_TEST(test_invalid_input_changes_nothing)
{
    cache *c = cache_new(0);
    char id[CACHE_ID_MAX + 2];
    memset(id, 'x', sizeof id);
    id[CACHE_ID_MAX] = '\0'; /* 256 bytes: the longest allowed */
    cache_summary ok = sum(10, 20, 2, 5), got;
    ck_assert_int_eq(cache_upsert(c, id, &ok), CACHE_OK);
    ck_assert_int_eq(cache_get(c, id, &got), CACHE_OK);
    id[CACHE_ID_MAX] = 'x';
    id[CACHE_ID_MAX + 1] = '\0'; /* 257 */
    ck_assert_int_eq(cache_upsert(c, id, &ok), CACHE_EINVAL);
    ck_assert_int_eq(cache_get(c, id, &got), CACHE_NOT_FOUND);
    ck_assert_int_eq(cache_upsert(c, "", &ok), CACHE_EINVAL);
    ck_assert_int_eq(cache_upsert(c, "y", &(cache_summary){20, 10, 1, 0, 0, 0}),
                     CACHE_EINVAL);
    ck_assert_int_eq(cache_upsert(c, "y", &(cache_summary){10, 11, 3, 0, 0, 0}),
                     CACHE_EINVAL);
    ck_assert_int_eq(cache_upsert(c, "y", &(cache_summary){10, 20, 2, -1, 0, 0}),
                     CACHE_EINVAL);
    ck_assert_int_eq(cache_upsert(c, "y", &(cache_summary){10, 20, 2, 0, -1, 0}),
                     CACHE_EINVAL);
    /* one bad entry refuses the whole batch */
    cache_entry batch[2] = {{.id = "z", .s = ok},
                            {.id = "w", .s = {10, 20, 2, INT64_MIN, 0, 0}}};
    ck_assert_int_eq(cache_upsert_many(c, batch, 2), CACHE_EINVAL);
    ck_assert_int_eq(cache_get(c, "z", &got), CACHE_NOT_FOUND);
    ck_assert_uint_eq(cache_count(c), 1);
    /* a repeated id in one batch: the last entry wins */
    cache_entry rep[2] = {{.id = "z", .s = ok},
                          {.id = "z", .s = {10, 30, 3, 70000, 0, 0}}};
    ck_assert_int_eq(cache_upsert_many(c, rep, 2), CACHE_OK);
    ck_assert_int_eq(cache_get(c, "z", &got), CACHE_OK);
    ck_assert_int_eq(got.last_day, 30);
    ck_assert_uint_eq(cache_count(c), 2);
    cache_free(c);
}
END_TEST

#define MILLION 1000000u

/* The hot loops count mismatches instead of asserting: every ck_assert
 * marks a point through a pipe to the parent, a system call each. */
static int count_cb(const char *id, const cache_summary *s, void *arg)
{
    unsigned k;
    unsigned char *seen = arg;
    if (sscanf(id, "customer-%7u", &k) != 1 || k >= MILLION || seen[k] ||
        s->first_day != (int32_t)(k % 5000))
        seen[MILLION] = 1;
    else
        seen[k] = 1;
    return 0;
}

START_TEST(test_million_customers)
{
    struct mallinfo2 before = mallinfo2();
    cache *c = cache_new(0); /* no size hint: growth is part of the cost */
    enum { BATCH = 1000 };
    static char ids[BATCH][32];
    cache_entry e[BATCH];
    for (unsigned b = 0; b < MILLION / BATCH; b++) {
        for (unsigned i = 0; i < BATCH; i++) {
            unsigned k = b * BATCH + i;
            snprintf(ids[i], sizeof ids[i], "customer-%07u", k);
            e[i] =
                (cache_entry){.id = ids[i],
                              .s = sum((int32_t)(k % 5000), (int32_t)(k % 5000 + k % 7),
                                       1 + k % 7 / 2, k % 100)};
        }
        ck_assert_int_eq(cache_upsert_many(c, e, BATCH), CACHE_OK);
    }
    struct mallinfo2 after = mallinfo2();
    ck_assert_uint_eq(cache_count(c), MILLION);
    char id[32];
    cache_summary got;
    unsigned bad = 0;
    for (unsigned k = 0; k < MILLION; k++) {
        snprintf(id, sizeof id, "customer-%07u", k);
        bad += cache_get(c, id, &got) != CACHE_OK ||
               got.last_day != (int32_t)(k % 5000 + k % 7) ||
               cache_repeat_amount(&got) != k % 100;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_int_eq(cache_get(c, "customer-1000000", &got), CACHE_NOT_FOUND);

    double own = (double)cache_memory(c) / MILLION;
    double heap =
        (double)((after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd)) /
        MILLION;
    printf("cache: 1M customers (16-byte ids): %.1f bytes/customer by the table's own "
           "count, "
           "%.1f by mallinfo2 (%s)\n",
           own, heap, heap < own / 2 ? "allocator replaced, e.g. ASan" : "glibc malloc");
    ck_assert_msg(own <= 100, "%.1f bytes per customer", own);

    unsigned char *seen = calloc(MILLION + 1, 1); /* seen[MILLION]: a bad one */
    ck_assert_int_eq(cache_foreach(c, count_cb, seen), 0);
    for (unsigned k = 0; k <= MILLION; k++)
        bad += seen[k] != (k < MILLION);
    ck_assert_uint_eq(bad, 0);
    free(seen);
    cache_free(c);
}
END_TEST

/* ---------------------------------------- batches under concurrent readers */

#define KEYS 200
#define BATCHES 1000
#define READERS 4

typedef struct race {
    cache *c;
    char ids[KEYS][16];
    atomic_int done;
    atomic_long reads;
    atomic_long versions; /* distinct batches the readers saw */
    atomic_long walks;    /* cache_foreach passes completed */
} race;

/* Batch v gives every key first 1000, last 1000 + v, n_days v + 1, amount v. */
static bool record_ok(const cache_summary *s, long *v)
{
    *v = (long)cache_repeat_amount(s);
    return s->first_day == 1000 && s->last_day == 1000 + *v &&
           s->n_days == (uint32_t)*v + 1 && cache_repeat_amount(s) == (double)*v;
}

static void *batch_reader(void *arg)
{
    race *r = arg;
    const char *ids[KEYS];
    cache_summary out[KEYS];
    bool found[KEYS];
    for (int i = 0; i < KEYS; i++)
        ids[i] = r->ids[i];
    long last = -1;
    while (!atomic_load(&r->done)) {
        size_t n = cache_get_many(r->c, ids, KEYS, out, found);
        ck_assert(n == 0 || n == KEYS); /* the first batch inserts them all */
        if (n == 0)
            continue;
        long v0, v;
        ck_assert(record_ok(&out[0], &v0));
        for (int i = 1; i < KEYS; i++) {
            if (!record_ok(&out[i], &v))
                ck_abort_msg("half-updated record");
            if (v != v0)
                ck_abort_msg("half a batch: key 0 at %ld, key %d at %ld", v0, i, v);
        }
        ck_assert(v0 >= last); /* never back in time */
        if (v0 != last)
            atomic_fetch_add(&r->versions, 1);
        last = v0;
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static int check_record(const char *id, const cache_summary *s, void *arg)
{
    (void)id;
    (void)arg;
    long v;
    if (!record_ok(s, &v))
        ck_abort_msg("half-updated record in foreach");
    return 0;
}

static void *walk_reader(void *arg)
{
    race *r = arg;
    while (!atomic_load(&r->done)) {
        ck_assert_int_eq(cache_foreach(r->c, check_record, NULL), 0);
        atomic_fetch_add(&r->walks, 1);
    }
    return NULL;
}

START_TEST(test_batches_atomic_under_readers)
{
    static race r;
    memset(&r, 0, sizeof r);
    r.c = cache_new(0);
    for (int i = 0; i < KEYS; i++)
        snprintf(r.ids[i], sizeof r.ids[i], "key-%d", i);
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&th[i], NULL, i == READERS - 1 ? walk_reader : batch_reader, &r);

    enum { NEW = 20 }; /* new customers per batch: the arrays grow meanwhile */
    static char fresh[NEW][48];
    cache_entry e[KEYS + NEW];
    for (long v = 0; v < BATCHES; v++) {
        cache_summary s = sum(1000, 1000 + (int32_t)v, (uint32_t)v + 1, (double)v);
        for (int i = 0; i < KEYS; i++)
            e[i] = (cache_entry){.id = r.ids[i], .s = s};
        for (int j = 0; j < NEW; j++) {
            snprintf(fresh[j], sizeof fresh[j], "new-%ld-%d", v, j);
            e[KEYS + j] = (cache_entry){.id = fresh[j], .s = s};
        }
        ck_assert_int_eq(cache_upsert_many(r.c, e, KEYS + NEW), CACHE_OK);
        if (v % 4 == 0)
            sched_yield(); /* let the readers in between batches too */
    }
    atomic_store(&r.done, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(cache_count(r.c), KEYS + (size_t)BATCHES * NEW);
    printf("cache: %d batches against %d readers: %ld consistent reads, %ld distinct "
           "batches seen, %ld full walks\n",
           BATCHES, READERS, atomic_load(&r.reads), atomic_load(&r.versions),
           atomic_load(&r.walks));
    ck_assert_int_gt(atomic_load(&r.versions), 1);
    cache_free(r.c);
}
END_TEST

/* --------------------------------------------------------- the snapshot */

static cache_model model_v(uint64_t v)
{
    cache_model m = {.model = &bgnbd_model,
                     .has_spend = true,
                     .period_days = 1,
                     .version = v,
                     .fitted_at = 1.7e9 + (double)v};
    memcpy(m.params, bgnbd_cdnow, sizeof bgnbd_cdnow);
    memcpy(m.gg_params, gg_cdnow, sizeof gg_cdnow);
    m.fit.log_likelihood = -(double)v; /* ties the fields to the version */
    m.n_customers = (size_t)v * 3;
    return m;
}

typedef struct swap {
    cache *c;
    atomic_int done;
    atomic_long held;
} swap;

static void *snap_reader(void *arg)
{
    swap *w = arg;
    uint64_t last = 0;
    while (!atomic_load(&w->done)) {
        const cache_model *m = cache_snapshot_acquire(w->c);
        if (m == NULL)
            continue;
        for (int k = 0; k < 50; k++) /* hold it across possible swaps */
            if (m->fit.log_likelihood != -(double)m->version ||
                m->n_customers != m->version * 3 || m->params[0] != bgnbd_cdnow[0])
                ck_abort_msg("snapshot changed while held");
        ck_assert_uint_ge(m->version, last);
        last = m->version;
        cache_snapshot_release(m);
        atomic_fetch_add(&w->held, 1);
    }
    return NULL;
}

START_TEST(test_snapshot_swap_under_readers)
{
    static swap w;
    memset(&w, 0, sizeof w);
    w.c = cache_new(0);
    ck_assert_ptr_null(cache_snapshot_acquire(w.c));
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&th[i], NULL, snap_reader, &w);
    for (uint64_t v = 1; v <= 5000; v++) {
        cache_model m = model_v(v);
        ck_assert_int_eq(cache_snapshot_set(w.c, &m), CACHE_OK);
    }
    /* on a loaded machine the readers may not have run yet: let them */
    for (int i = 0; i < 10000 && atomic_load(&w.held) == 0; i++)
        usleep(1000);
    atomic_store(&w.done, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_gt(atomic_load(&w.held), 0);

    /* a reference outlives a swap and the cache itself */
    const cache_model *old = cache_snapshot_acquire(w.c);
    ck_assert_uint_eq(old->version, 5000);
    cache_model m = model_v(5001);
    ck_assert_int_eq(cache_snapshot_set(w.c, &m), CACHE_OK);
    const cache_model *cur = cache_snapshot_acquire(w.c);
    ck_assert_uint_eq(cur->version, 5001);
    cache_snapshot_release(cur);
    cache_free(w.c);
    ck_assert_uint_eq(old->version, 5000);
    ck_assert(old->fit.log_likelihood == -5000.0);
    cache_snapshot_release(old);

    cache *c = cache_new(0);
    m.period_days = 0;
    ck_assert_int_eq(cache_snapshot_set(c, &m), CACHE_EINVAL);
    m = model_v(1);
    m.model = NULL;
    ck_assert_int_eq(cache_snapshot_set(c, &m), CACHE_EINVAL);
    ck_assert_ptr_null(cache_snapshot_acquire(c));
    cache_free(c);
}
END_TEST

/* ------------------------------------------------------------ scoring */

static void assert_close(double got, double want, const char *what)
{
    ck_assert_msg(got == want || fabs(got - want) <= 1e-13 * fabs(want),
                  "%s: %.17g vs %.17g", what, got, want);
}

/* The numbers computed by hand from the model functions. */
static void check_direct(const cache_model *m, const cache_summary *s, int64_t as_of,
                         double horizon, const clv_options *o,
                         const cache_score_result *r)
{
    double x = s->n_days - 1.0, t_x = (s->last_day - s->first_day) / m->period_days;
    double T = (double)(as_of - s->first_day) / m->period_days;
    double mm = x > 0 ? cache_repeat_amount(s) / x : 0;
    double pa, ex, pp, sp, clv;
    ck_assert_int_eq(m->model->p_alive(m->params, x, t_x, T, &pa), GSL_SUCCESS);
    ck_assert_int_eq(m->model->expected(m->params, x, t_x, T, horizon, &ex), GSL_SUCCESS);
    ck_assert_int_eq(btyd_p_any(m->model, m->params, x, t_x, T, horizon, &pp),
                     GSL_SUCCESS);
    ck_assert_int_eq(gg_expected_spend(m->gg_params, x, mm, &sp), GSL_SUCCESS);
    ck_assert_int_eq(clv_value(m->model, m->params, x, t_x, T, sp, o, &clv), GSL_SUCCESS);
    assert_close(r->x, x, "x");
    assert_close(r->t_x, t_x, "t_x");
    assert_close(r->T, T, "T");
    assert_close(r->m, mm, "m");
    assert_close(r->p_alive, pa, "p_alive");
    assert_close(r->expected, ex, "expected");
    assert_close(r->p_purchase, pp, "p_purchase");
    assert_close(r->expected_spend, sp, "expected_spend");
    assert_close(r->clv, clv, "clv");
    ck_assert_uint_eq(r->model_version, m->version);
}

START_TEST(test_score_matches_model_functions)
{
    cache *c = cache_new(0);
    const cache_summary cust[] = {
        sum(20000, 20000, 1, 0),     /* one purchase: x = 0 */
        sum(20000, 20100, 5, 120),   /* x = 4 */
        sum(19800, 19850, 2, 33.25), /* long inactive */
        sum(20100, 20260, 30, 900),  /* frequent, recent */
    };
    const char *ids[] = {"one", "four", "idle", "busy"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(cache_upsert(c, ids[i], &cust[i]), CACHE_OK);
    cache_score_result r;
    ck_assert_int_eq(cache_score(c, "one", 20300, 30, NULL, &r), CACHE_SCORE_NO_MODEL);

    for (int p = 0; p < 2; p++) {
        cache_model m = model_v(7 + (uint64_t)p);
        m.period_days = p == 0 ? 1 : 7;
        ck_assert_int_eq(cache_snapshot_set(c, &m), CACHE_OK);
        clv_options o = {12, 0.01, 1, clv_month_periods(&bgnbd_model, m.period_days)};
        for (int i = 0; i < 4; i++) {
            ck_assert_int_eq(cache_score(c, ids[i], 20300, 30 / m.period_days, &o, &r),
                             GSL_SUCCESS);
            check_direct(&m, &cust[i], 20300, 30 / m.period_days, &o, &r);
            ck_assert(r.p_alive > 0 && r.p_alive <= 1);
        }
    }
    /* without clv options: spend but no CLV; without a spend model: neither */
    ck_assert_int_eq(cache_score(c, "four", 20300, 4, NULL, &r), GSL_SUCCESS);
    ck_assert(r.expected_spend > 0 && r.clv == 0);
    cache_model m = model_v(9);
    m.has_spend = false;
    ck_assert_int_eq(cache_snapshot_set(c, &m), CACHE_OK);
    ck_assert_int_eq(cache_score(c, "four", 20300, 30, NULL, &r), GSL_SUCCESS);
    ck_assert(r.expected_spend == 0 && r.clv == 0 && !r.has_spend);
    ck_assert_uint_eq(r.model_version, 9);
    cache_free(c);
}
END_TEST

START_TEST(test_score_as_of_rules)
{
    cache *c = cache_new(0);
    cache_model m = model_v(1);
    ck_assert_int_eq(cache_snapshot_set(c, &m), CACHE_OK);
    ck_assert_int_eq(
        cache_upsert(c, "a", &(cache_summary){20000, 20050, 3, 100000, 0, 0}), CACHE_OK);
    cache_score_result r;
    clv_options o = {12, 0.01, 1, CLV_MONTH_DAYS};
    ck_assert_int_eq(cache_score(c, "nobody", 20100, 30, &o, &r), CACHE_SCORE_UNKNOWN);
    ck_assert_int_eq(cache_score(c, "a", 19999, 30, &o, &r), CACHE_SCORE_NOT_YET);
    ck_assert_int_eq(cache_score(c, "a", 20049, 30, &o, &r), CACHE_SCORE_AS_OF_EARLY);
    /* as_of on the last purchase day: t_x = T */
    ck_assert_int_eq(cache_score(c, "a", 20050, 30, &o, &r), GSL_SUCCESS);
    ck_assert(r.t_x == r.T && r.T == 50);
    /* bad horizon or options */
    ck_assert_int_eq(cache_score(c, "a", 20100, -1, &o, &r), GSL_EDOM);
    ck_assert_int_eq(cache_score(c, "a", 20100, NAN, &o, &r), GSL_EDOM);
    o.months = 0;
    ck_assert_int_eq(cache_score(c, "a", 20100, 30, &o, &r), GSL_EDOM);
    /* a single purchase on the as-of day itself: T = 0 is still scored */
    ck_assert_int_eq(cache_upsert(c, "b", &(cache_summary){20100, 20100, 1, 0, 0, 0}),
                     CACHE_OK);
    int rc = cache_score(c, "b", 20100, 30, NULL, &r);
    ck_assert_msg(rc == GSL_SUCCESS || rc == GSL_EDOM, "rc %d", rc);
    if (rc == GSL_SUCCESS)
        ck_assert(isfinite(r.p_alive) && isfinite(r.expected));
    cache_free(c);
}
END_TEST

/* ------------------------------------------------------------ deltas */

/* A purchase a batch committed, as the store reports it. */
typedef struct event {
    int32_t day;
    int64_t units;
    bool new_day; /* the first committed purchase on that day */
} event;

/* The summary of all events computed directly from their days. */
static cache_summary direct(const event *ev, int n)
{
    cache_summary s = {INT32_MAX, INT32_MIN, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        s.first_day = ev[i].day < s.first_day ? ev[i].day : s.first_day;
        s.last_day = ev[i].day > s.last_day ? ev[i].day : s.last_day;
        s.n_days += ev[i].new_day;
    }
    for (int i = 0; i < n; i++) {
        if (ev[i].day == s.first_day)
            s.first_units += ev[i].units;
        else
            s.repeat_units += ev[i].units;
    }
    return s;
}

/* Batches commit in one order and reach the cache in any other: adding the
 * deltas in a random order always gives the summary of all the days. */
START_TEST(test_deltas_commute)
{
    unsigned seed = 2024;
    for (int trial = 0; trial < 2000; trial++) {
        event ev[12] = {{0}};
        int n = 1 + (int)(rand_r(&seed) % 12);
        for (int i = 0; i < n; i++) {
            ev[i].day = 20000 + (int32_t)(rand_r(&seed) % 6);
            ev[i].units = (int64_t)(rand_r(&seed) % 100000);
            ev[i].new_day = true;
            for (int j = 0; j < i; j++)
                ev[i].new_day &= ev[j].day != ev[i].day;
        }
        cache_summary want = direct(ev, n);
        for (int i = n; i > 1; i--) { /* the cache's order */
            int j = (int)(rand_r(&seed) % (unsigned)i);
            event t = ev[i - 1];
            ev[i - 1] = ev[j];
            ev[j] = t;
        }
        cache_summary got = {0};
        bool exists = false;
        for (int i = 0; i < n; i++)
            cache_summary_add_day(&got, &exists, ev[i].day, ev[i].new_day, ev[i].units);
        ck_assert_int_eq(got.first_day, want.first_day);
        ck_assert_int_eq(got.last_day, want.last_day);
        ck_assert_uint_eq(got.n_days, want.n_days);
        ck_assert_int_eq(got.first_units, want.first_units);
        ck_assert_int_eq(got.repeat_units, want.repeat_units);
    }
}
END_TEST

/* Amounts saturate instead of wrapping; a summary that missed a day another
 * writer stored stays valid. */
START_TEST(test_deltas_saturate_and_stay_valid)
{
    cache_summary s = {0};
    bool exists = false;
    cache_summary_add_day(&s, &exists, 100, true, INT64_MAX - 5);
    cache_summary_add_day(&s, &exists, 100, false, 10);
    ck_assert_int_eq(s.first_units, INT64_MAX);
    cache_summary_add_day(&s, &exists, 90, true, 1);
    ck_assert_int_eq(s.repeat_units, INT64_MAX);
    ck_assert_int_eq(s.first_units, 1);
    cache_summary_add_day(&s, &exists, 95, true, -3); /* never negative */
    ck_assert_int_eq(s.repeat_units, INT64_MAX);
    cache *c = cache_new(0);
    ck_assert_int_eq(cache_upsert(c, "sat", &s), CACHE_OK);
    /* days 10 and 11 counted new twice (a missed write): n_days <= span */
    cache_summary m = {0};
    exists = false;
    cache_summary_add_day(&m, &exists, 10, true, 1);
    cache_summary_add_day(&m, &exists, 11, true, 1);
    cache_summary_add_day(&m, &exists, 11, true, 1);
    ck_assert_uint_eq(m.n_days, 2);
    ck_assert_int_eq(cache_upsert(c, "missed", &m), CACHE_OK);
    /* a later batch's delta on the first day came first: held, not shown */
    cache_summary early = {0}, got;
    exists = false;
    cache_summary_add_day(&early, &exists, 10, false, 5);
    ck_assert_uint_eq(early.n_days, 0);
    ck_assert_int_eq(cache_upsert(c, "early", &early), CACHE_OK);
    ck_assert_int_eq(cache_get(c, "early", &got), CACHE_NOT_FOUND);
    bool found = false;
    const char *id = "early";
    ck_assert_uint_eq(cache_get_many(c, &id, 1, &got, &found), 1);
    cache_summary_add_day(&got, &found, 10, true, 7); /* its own delta */
    ck_assert_int_eq(cache_upsert(c, "early", &got), CACHE_OK);
    ck_assert_int_eq(cache_get(c, "early", &got), CACHE_OK);
    ck_assert_uint_eq(got.n_days, 1);
    ck_assert_int_eq(got.first_units, 12);
    cache_free(c);
}
END_TEST

/* One case per part, so CK_RUN_CASE can pick one. */
static void add_case(Suite *s, const char *name, const TTest *const *tests, size_t n)
{
    TCase *t = tcase_create(name);
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_set_timeout(t, 60);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(t, tests[i]);
    suite_add_tcase(s, t);
}

Suite *suite_cache(void)
{
    Suite *s = suite_create("cache");
    const TTest *table[] = {test_upsert_get_overwrite,
                            test_invalid_input_changes_nothing};
    const TTest *million[] = {test_million_customers};
    const TTest *racing[] = {test_batches_atomic_under_readers};
    const TTest *snapshot[] = {test_snapshot_swap_under_readers};
    const TTest *score[] = {test_score_matches_model_functions, test_score_as_of_rules};
    const TTest *deltas[] = {test_deltas_commute, test_deltas_saturate_and_stay_valid};
    add_case(s, "table", table, 2);
    add_case(s, "million", million, 1);
    add_case(s, "race", racing, 1);
    add_case(s, "snapshot", snapshot, 1);
    add_case(s, "score", score, 2);
    add_case(s, "deltas", deltas, 2);
    return s;
}

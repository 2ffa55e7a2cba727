/* The score table (cache/scores.h) alone, no database: every row equals
 * what cache_score_summary and clv_discounted_purchases give for that
 * customer; a changed or new customer has no row until the next refresh;
 * the id index walks in byte order from a cursor, both ways, and offers
 * the customers it does not hold yet after the others. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "cache/score_ahead.h"
#include "cache/score_memo.h"
#include "cache/scores.h"
#include "model/bgnbd.h"

#define N 3000
#define AS_OF 10200

static cache *c;
static cache_model model;
static cache_scores_spec spec;

static void setup(void)
{
    gsl_set_error_handler_off();
    c = cache_new(0);
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%05d", (i * 7919) % N); /* not in id order */
        int32_t first = 9800 + i % 300, span = i % 97;
        cache_summary s = {first,
                           first + span,
                           1 + (uint32_t)(i % 5) % (uint32_t)(span + 1),
                           (int64_t)(i % 13) * 125000,
                           50000,
                           0};
        ck_assert_int_eq(cache_upsert(c, id, &s), CACHE_OK);
    }
    model = (cache_model){.model = &bgnbd_model,
                          .params = {0.242593, 4.413532 * 7, 0.792886, 2.425753},
                          .has_spend = true,
                          .gg_params = {6.248802, 3.744588, 15.447748},
                          .period_days = 1,
                          .version = 3};
    ck_assert_int_eq(cache_snapshot_set(c, &model), CACHE_OK);
    spec = (cache_scores_spec){.model_version = 1,
                               .as_of_day = AS_OF,
                               .horizon_days = 365,
                               .discount_rate = 0.01,
                               .horizon = 365,
                               .p_horizon = 30,
                               .clv = {12, 0.01, 1, 30}};
}

static void teardown(void)
{
    cache_free(c);
}

typedef struct seen {
    size_t n, with_row;
    char last[CACHE_ID_MAX + 1];
    const char *missing; /* an id that must come without a row */
    bool ordered, desc;
} seen;

static int check_row(const char *id, const cache_summary *s, const cache_score_row *row,
                     void *arg)
{
    seen *v = arg;
    if (v->ordered && v->n > 0 && v->last[0] != '\0') {
        int cmp = strcmp(id, v->last);
        ck_assert_msg(v->desc ? cmp < 0 : cmp > 0, "%s after %s", id, v->last);
    }
    snprintf(v->last, sizeof v->last, "%s", id);
    v->n++;
    if (v->missing != NULL && strcmp(id, v->missing) == 0) {
        ck_assert_ptr_null(row);
        return 0;
    }
    if (row == NULL)
        return 0;
    v->with_row++;
    cache_score_result r;
    int rc =
        cache_score_summary(&model, s, AS_OF, spec.horizon, spec.p_horizon, NULL, &r);
    ck_assert_int_eq(row->rc, rc);
    if (rc != GSL_SUCCESS)
        return 0;
    ck_assert_double_eq(row->p_alive, r.p_alive);
    ck_assert_double_eq(row->expected, r.expected);
    ck_assert_double_eq(row->p_purchase, r.p_purchase);
    ck_assert_double_eq(row->spend, r.expected_spend);
    double d;
    ck_assert_int_eq(clv_discounted_purchases(model.model, model.params, r.x, r.t_x, r.T,
                                              &spec.clv, &d),
                     GSL_SUCCESS);
    ck_assert_double_eq(row->discounted, d);
    return 0;
}

START_TEST(test_scores_rows_equal_direct)
{
    cache_scores *t = cache_scores_new(&spec);
    atomic_bool stop = false;
    size_t n = 0;
    ck_assert(!cache_scores_complete(t));
    ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, &n), 0);
    ck_assert_uint_eq(n, N);
    ck_assert(cache_scores_complete(t));
    seen v = {0};
    ck_assert_int_eq(cache_scores_scan(t, c, check_row, &v), 0);
    ck_assert_uint_eq(v.n, N);
    ck_assert_uint_eq(v.with_row, N);
    /* nothing changed: the next refresh scores nobody */
    ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, &n), 0);
    ck_assert_uint_eq(n, 0);
    cache_scores_free(t);
}
END_TEST

/* The process's memo of histories at request options (score_memo.h): each
 * row equals scoring the customer directly, customers of one history hit
 * it (a second pass), and a snapshot of another cache (another tenant) with the same
 * history, day and options never takes this one's numbers: serials are
 * unique in the process. */
typedef struct memo_walk {
    const cache_model *m;
    cache_scores_spec sp;
    size_t n;
} memo_walk;

static int memo_one(const char *id, const cache_summary *s, void *arg)
{
    (void)id;
    memo_walk *w = arg;
    cache_score_row row;
    ck_assert(cache_score_memo_row(w->m, &w->sp, s, &row));
    cache_score_result r;
    int rc =
        cache_score_summary(w->m, s, AS_OF, w->sp.horizon, w->sp.p_horizon, NULL, &r);
    ck_assert_int_eq(row.rc, rc);
    if (rc == GSL_SUCCESS) {
        ck_assert_double_eq(row.p_alive, r.p_alive);
        ck_assert_double_eq(row.expected, r.expected);
        ck_assert_double_eq(row.spend, r.expected_spend);
        double d;
        ck_assert_int_eq(clv_discounted_purchases(w->m->model, w->m->params, r.x, r.t_x,
                                                  r.T, &w->sp.clv, &d),
                         GSL_SUCCESS);
        ck_assert_double_eq(row.discounted, d);
    }
    w->n++;
    return 0;
}

START_TEST(test_scores_memo_rows)
{
    const cache_model *m = cache_snapshot_acquire(c);
    memo_walk w = {.m = m, .sp = spec};
    w.sp.model_version = m->serial;
    w.sp.horizon_days = 1095; /* a request's own horizon: 36 months */
    w.sp.horizon = 1095;
    w.sp.clv.months = 36;
    uint64_t h0, m0, h1, m1;
    ck_assert_int_eq(cache_foreach(c, memo_one, &w), 0); /* each history once */
    cache_score_memo_counts(&h0, &m0);
    ck_assert_int_eq(cache_foreach(c, memo_one, &w), 0); /* again: from the memo */
    cache_score_memo_counts(&h1, &m1);
    ck_assert_uint_eq(w.n, 2 * N);
    /* all but those whose slot another history took (direct-mapped) */
    ck_assert_uint_ge(h1 - h0, N * 9 / 10);

    /* another cache, other parameters, the same customers */
    cache *c2 = cache_new(0);
    ck_assert_ptr_nonnull(c2);
    cache_model other = model;
    other.params[0] *= 2;
    ck_assert_int_eq(cache_snapshot_set(c2, &other), CACHE_OK);
    const cache_model *m2 = cache_snapshot_acquire(c2);
    ck_assert_uint_ne(m2->serial, m->serial);
    memo_walk w2 = {.m = m2, .sp = w.sp};
    w2.sp.model_version = m2->serial;
    ck_assert_int_eq(cache_foreach(c, memo_one, &w2), 0); /* equal to m2's own scoring */
    cache_snapshot_release(m2);
    cache_free(c2);
    cache_snapshot_release(m);
}
END_TEST

/* A helper thread scoring ahead into the memo (score_ahead.h), with the
 * caller helping from the same index: once both are through, the memo
 * answers for (nearly) every one of the histories, with the values direct
 * scoring gives; a helper told to stop at once ends cleanly. */
typedef struct summaries {
    cache_summary s[N];
    const cache_summary *p[N];
    size_t n;
} summaries;

static int collect(const char *id, const cache_summary *s, void *arg)
{
    (void)id;
    summaries *all = arg;
    all->s[all->n] = *s;
    all->p[all->n] = &all->s[all->n];
    all->n++;
    return 0;
}

START_TEST(test_scores_memo_ahead)
{
    static summaries all;
    all.n = 0;
    ck_assert_int_eq(cache_foreach(c, collect, &all), 0);
    ck_assert_uint_eq(all.n, N);
    const cache_model *m = cache_snapshot_acquire(c);
    memo_walk w = {.m = m, .sp = spec};
    w.sp.model_version = m->serial;
    w.sp.horizon_days = 1000; /* not test_scores_memo_rows' */
    w.sp.horizon = 1000;
    w.sp.clv.months = 33;
    cache_score_ahead_end(cache_score_ahead_start(m, &w.sp, all.p, N));
    cache_score_ahead *a = cache_score_ahead_start(m, &w.sp, all.p, N);
    if (a != NULL) {
        size_t helped = 0;
        while (cache_score_ahead_help(a)) /* beside the helper, from one index */
            helped++;
        ck_assert_uint_le(helped, N);
        cache_score_ahead_end(a);
    } else { /* one CPU: no helper, the memo filled by a pass */
        ck_assert_int_eq(cache_foreach(c, memo_one, &w), 0);
    }
    ck_assert(!cache_score_ahead_help(NULL));
    uint64_t h0, m0, h1, m1;
    cache_score_memo_counts(&h0, &m0);
    ck_assert_int_eq(cache_foreach(c, memo_one, &w), 0); /* equal to direct scoring */
    cache_score_memo_counts(&h1, &m1);
    ck_assert_uint_ge(h1 - h0, N * 9 / 10);
    ck_assert_ptr_null(cache_score_ahead_start(m, &w.sp, all.p, 0));
    cache_snapshot_release(m);
}
END_TEST

START_TEST(test_scores_stale_rows)
{
    cache_scores *t = cache_scores_new(&spec);
    atomic_bool stop = false;
    size_t n = 0;
    ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, &n), 0);
    cache_summary s = {10000, 10150, 4, 900000, 10000, 0};
    ck_assert_int_eq(cache_upsert(c, "k00042", &s), CACHE_OK); /* changed */
    ck_assert_int_eq(cache_upsert(c, "new", &s), CACHE_OK);    /* new */
    seen v = {.missing = "k00042"};
    ck_assert_int_eq(cache_scores_scan(t, c, check_row, &v), 0);
    ck_assert_uint_eq(v.n, N + 1);
    ck_assert_uint_eq(v.with_row, N - 1); /* neither k00042 nor new */
    ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, &n), 0);
    ck_assert_uint_eq(n, 2);
    v = (seen){0};
    ck_assert_int_eq(cache_scores_scan(t, c, check_row, &v), 0);
    ck_assert_uint_eq(v.with_row, N + 1);
    cache_scores_free(t);
}
END_TEST

static int count_first(const char *id, const cache_summary *s, const cache_score_row *row,
                       void *arg)
{
    seen *v = arg;
    check_row(id, s, row, v);
    return v->n == 10; /* the first ten only */
}

START_TEST(test_scores_id_index)
{
    cache_scores *t = cache_scores_new(&spec);
    atomic_bool stop = false;
    ck_assert_int_eq(
        cache_scores_walk_ids(t, c, false, NULL, check_row, check_row, &(seen){0}),
        -1); /* no index yet */
    ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, NULL), 0);
    ck_assert_int_eq(cache_scores_index_ids(t, c), CACHE_OK);
    seen v = {.ordered = true};
    ck_assert_int_eq(cache_scores_walk_ids(t, c, false, NULL, check_row, check_row, &v),
                     0);
    ck_assert_uint_eq(v.n, N);
    ck_assert_str_eq(v.last, "k02999");
    v = (seen){.ordered = true, .desc = true};
    ck_assert_int_eq(cache_scores_walk_ids(t, c, true, NULL, check_row, check_row, &v),
                     0);
    ck_assert_str_eq(v.last, "k00000");
    /* after a cursor, ten in each direction */
    v = (seen){.ordered = true};
    cache_scores_walk_ids(t, c, false, "k01000", count_first, check_row, &v);
    ck_assert_uint_eq(v.n, 10);
    ck_assert_str_eq(v.last, "k01010");
    v = (seen){.ordered = true, .desc = true};
    cache_scores_walk_ids(t, c, true, "k01000", count_first, check_row, &v);
    ck_assert_str_eq(v.last, "k00990");
    /* a customer not indexed yet comes after the others */
    cache_summary s = {10000, 10150, 4, 900000, 10000, 0};
    ck_assert_int_eq(cache_upsert(c, "a-first-in-order", &s), CACHE_OK);
    v = (seen){0};
    ck_assert_int_eq(cache_scores_walk_ids(t, c, false, NULL, check_row, check_row, &v),
                     0);
    ck_assert_uint_eq(v.n, N + 1);
    ck_assert_str_eq(v.last, "a-first-in-order");
    /* 300 more (past the 256 the index may lag): merged into it, every
     * id in order */
    for (int i = 0; i < 300; i++) {
        char id[24];
        snprintf(id, sizeof id, "k%05d-new%d", (i * 37) % 3000, i);
        ck_assert_int_eq(cache_upsert(c, id, &s), CACHE_OK);
    }
    ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, NULL), 0);
    ck_assert_int_eq(cache_scores_index_ids(t, c), CACHE_OK);
    v = (seen){.ordered = true};
    ck_assert_int_eq(cache_scores_walk_ids(t, c, false, NULL, check_row, check_row, &v),
                     0);
    ck_assert_uint_eq(v.n, N + 301);
    ck_assert_str_eq(v.last, "k02999");
    cache_scores_free(t);
}
END_TEST

/* ---- the id index replaced while a page walks it ---- */

static cache_scores *swap_t;
static bool swap_done;
static int swap_seen[N + 400];
static int swap_n;

/* Counts each customer (ids k00000.. and k00000-x..); half way through,
 * 300 new customers arrive, all over the order, and the index is rebuilt
 * under the walk (those before its place come after, the others in it). */
static int swap_fn(const char *id, const cache_summary *s, const cache_score_row *row,
                   void *arg)
{
    (void)s, (void)row, (void)arg;
    if (!swap_done && swap_n == N / 2) {
        swap_done = true;
        atomic_bool stop = false;
        cache_summary w = {10000, 10150, 4, 900000, 10000, 0};
        for (int i = 0; i < 300; i++) {
            char nid[16];
            snprintf(nid, sizeof nid, "k%05d-x", i * 10); /* all over the order */
            ck_assert_int_eq(cache_upsert(c, nid, &w), CACHE_OK);
        }
        ck_assert_int_eq(cache_scores_refresh(swap_t, c, &model, &stop, NULL), 0);
        ck_assert_int_eq(cache_scores_index_ids(swap_t, c), CACHE_OK);
    }
    int k = atoi(id + 1);
    int slot = strchr(id, '-') != NULL ? N + k / 10 : k;
    ck_assert_int_lt(slot, N + 400);
    swap_seen[slot]++;
    swap_n++;
    return 0;
}

START_TEST(test_scores_id_index_swapped_under_walk)
{
    swap_t = cache_scores_new(&spec);
    atomic_bool stop = false;
    ck_assert_int_eq(cache_scores_refresh(swap_t, c, &model, &stop, NULL), 0);
    ck_assert_int_eq(cache_scores_index_ids(swap_t, c), CACHE_OK);
    ck_assert_int_eq(
        cache_scores_walk_ids(swap_t, c, false, NULL, swap_fn, swap_fn, NULL), 0);
    /* every customer once: the old ones, and the 300 that came during the
     * walk (in the new index, or offered after it) */
    ck_assert_int_eq(swap_n, N + 300);
    for (int i = 0; i < N + 300; i++)
        ck_assert_msg(swap_seen[i] == 1, "customer %d seen %d times", i, swap_seen[i]);
    cache_scores_free(swap_t);
}
END_TEST

/* ---- ranks: a customer that changes while a page walks them ---- */

static cache_scores *race_t;
static atomic_bool race_stop;
static bool race_fired;
static char race_ranked[4][16], race_other[16][16];
static int race_n_ranked, race_n_other;

static cache_summary race_summary(uint32_t n_days)
{
    return (cache_summary){.first_day = AS_OF - 100,
                           .last_day = AS_OF,
                           .n_days = n_days,
                           .repeat_units = 10000 * (int64_t)(n_days - 1),
                           .first_units = 10000};
}

static int race_cell(const cache_score_row *row, void *arg)
{
    (void)row;
    (void)arg;
    return 0;
}

/* The first customer offered apart: r00 and r01 buy again and are
 * rescored (ingest and the refresher, while the page runs). */
static int race_other_fn(const char *id, const cache_summary *s,
                         const cache_score_row *row, void *arg)
{
    (void)s, (void)row, (void)arg;
    snprintf(race_other[race_n_other++ % 16], 16, "%s", id);
    if (!race_fired) {
        race_fired = true;
        cache_summary w = race_summary(60);
        ck_assert_int_eq(cache_upsert(c, "r00", &w), CACHE_OK);
        ck_assert_int_eq(cache_upsert(c, "r01", &w), CACHE_OK);
        ck_assert_int_eq(cache_scores_refresh(race_t, c, &model, &race_stop, NULL), 0);
    }
    return 0;
}

static int race_ranked_fn(const char *id, const cache_summary *s,
                          const cache_score_row *row, void *arg)
{
    (void)s, (void)row, (void)arg;
    snprintf(race_ranked[race_n_ranked], 16, "%s", id);
    return ++race_n_ranked >= 2; /* a page of one: keep 2 */
}

/* Counts the customers offered apart (a cache_scores_fn). */
static int count_other(const char *id, const cache_summary *s, const cache_score_row *row,
                       void *arg)
{
    (void)id, (void)s, (void)row;
    (*(size_t *)arg)++;
    return 0;
}

/* A customer whose record was emptied (erased: no day) leaves the rank and
 * its counts once the table is refreshed and ranked again: the refresh
 * skipped the empty record and kept its old row, which the next rank put
 * back in its cell (GET /v1/segments counted an erased customer, for
 * good). */
START_TEST(test_scores_emptied_record_unranked)
{
    cache_free(c);
    c = cache_new(0);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%02d", i);
        cache_summary s = race_summary((uint32_t)i + 2);
        ck_assert_int_eq(cache_upsert(c, id, &s), CACHE_OK);
    }
    cache_scores *t = cache_scores_new(&spec);
    atomic_bool stop = false;
    size_t counts[CACHE_RANK_CELLS] = {0}, other = 0;
    ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, NULL), 0);
    ck_assert_int_eq(cache_scores_index_ids(t, c), CACHE_OK);
    ck_assert_int_eq(cache_scores_rank(t, race_cell, NULL), CACHE_OK);
    ck_assert_int_eq(cache_scores_rank_counts(t, c, counts, count_other, &other), 0);
    ck_assert_uint_eq(counts[0] + other, 10);
    cache_summary emptied = {INT32_MIN, INT32_MIN, 0, 0, 0, 0};
    ck_assert_int_eq(cache_upsert(c, "r04", &emptied), CACHE_OK);
    for (int round = 0; round < 2; round++) { /* right after, and ranked again */
        memset(counts, 0, sizeof counts);
        other = 0;
        ck_assert_int_eq(cache_scores_rank_counts(t, c, counts, count_other, &other), 0);
        ck_assert_uint_eq(counts[0] + other, 9);
        ck_assert_int_eq(cache_scores_refresh(t, c, &model, &stop, NULL), 0);
        ck_assert_int_eq(cache_scores_index_ids(t, c), CACHE_OK);
        ck_assert_int_eq(cache_scores_rank(t, race_cell, NULL), CACHE_OK);
    }
    memset(counts, 0, sizeof counts);
    other = 0;
    ck_assert_int_eq(cache_scores_rank_counts(t, c, counts, count_other, &other), 0);
    ck_assert_uint_eq(counts[0] + other, 9);
    cache_scores_free(t);
}
END_TEST

START_TEST(test_scores_rank_change_during_walk)
{
    cache_free(c);
    c = cache_new(0);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%02d", i);
        cache_summary s = race_summary((uint32_t)i + 2);
        ck_assert_int_eq(cache_upsert(c, id, &s), CACHE_OK);
    }
    race_t = cache_scores_new(&spec);
    ck_assert_int_eq(cache_scores_refresh(race_t, c, &model, &race_stop, NULL), 0);
    ck_assert_int_eq(cache_scores_index_ids(race_t, c), CACHE_OK);
    ck_assert_int_eq(cache_scores_rank(race_t, race_cell, NULL), CACHE_OK);
    cache_summary s = race_summary(30);
    ck_assert_int_eq(cache_upsert(c, "r05", &s), CACHE_OK); /* offered apart first */
    ck_assert_int_ge(cache_scores_walk_rank(race_t, c, CACHE_RANK_FREQUENCY, 1, false,
                                            NULL, NULL, race_ranked_fn, race_other_fn,
                                            NULL),
                     0);
    /* r00 and r01 moved away (frequency 59): the first two in order are
     * r02 and r03; the moved ones were offered apart, with their new
     * summaries */
    ck_assert_int_eq(race_n_ranked, 2);
    ck_assert_str_eq(race_ranked[0], "r02");
    ck_assert_str_eq(race_ranked[1], "r03");
    bool r00 = false, r01 = false;
    for (int i = 0; i < race_n_other; i++) {
        r00 |= strcmp(race_other[i], "r00") == 0;
        r01 |= strcmp(race_other[i], "r01") == 0;
    }
    ck_assert(r00 && r01);
    cache_scores_free(race_t);
}
END_TEST

Suite *suite_scores(void)
{
    Suite *s = suite_create("scores");
    TCase *tc = tcase_create("scores");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_scores_rows_equal_direct);
    tcase_add_test(tc, test_scores_memo_rows);
    tcase_add_test(tc, test_scores_memo_ahead);
    tcase_add_test(tc, test_scores_stale_rows);
    tcase_add_test(tc, test_scores_id_index);
    tcase_add_test(tc, test_scores_rank_change_during_walk);
    tcase_add_test(tc, test_scores_emptied_record_unranked);
    tcase_add_test(tc, test_scores_id_index_swapped_under_walk);
    suite_add_tcase(s, tc);
    return s;
}

/* The score table (see scores.h): rows by record index, refreshed in
 * chunks by one background refresher, scanned in chunks by list readers. */
#define _GNU_SOURCE /* PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP */
#include "cache/scores.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_chunk.h"
#include "cache/scores_impl.h"
#include "model/gg.h"

#define CHUNK 2048

cache_scores *cache_scores_new(const cache_scores_spec *spec)
{
    cache_scores *t = calloc(1, sizeof *t);
    pthread_rwlockattr_t a;
    if (t == NULL || pthread_rwlockattr_init(&a) != 0) {
        free(t);
        return NULL;
    }
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&t->lock, &a);
    pthread_rwlockattr_destroy(&a);
    if (rc != 0) {
        free(t);
        return NULL;
    }
    t->spec = *spec;
    atomic_init(&t->complete, false);
    return t;
}

void cache_scores_free(cache_scores *t)
{
    if (t == NULL)
        return;
    pthread_rwlock_destroy(&t->lock);
    free(t->rows);
    free(t->by_id);
    free(t->memo);
    cache_scores_rank_free(t);
    free(t);
}

const cache_scores_spec *cache_scores_spec_of(const cache_scores *t)
{
    return &t->spec;
}

bool cache_scores_complete(cache_scores *t)
{
    return atomic_load(&t->complete);
}

size_t cache_scores_memory(cache_scores *t)
{
    pthread_rwlock_rdlock(&t->lock);
    size_t b = t->cap * sizeof *t->rows + t->n_by_id * sizeof *t->by_id;
    pthread_rwlock_unlock(&t->lock);
    return b + cache_scores_rank_memory(t);
}

uint64_t cache_scores_print(const cache_summary *s)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    const uint64_t v[4] = {(uint64_t)(uint32_t)s->first_day << 32 | (uint32_t)s->last_day,
                           s->n_days, (uint64_t)s->repeat_units,
                           (uint64_t)s->first_units};
    for (int i = 0; i < 4; i++) { /* splitmix64 steps */
        h ^= v[i];
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 29;
    }
    return h;
}

bool cache_scores_same_summary(const cache_summary *a, const cache_summary *b)
{
    return a->first_day == b->first_day && a->last_day == b->last_day &&
           a->n_days == b->n_days && a->repeat_units == b->repeat_units &&
           a->first_units == b->first_units;
}

static size_t memo_slot(const cache_history *memo, size_t mask, uint32_t n_days,
                        int32_t span, int32_t age)
{
    uint64_t k = ((uint64_t)n_days * 0x9E3779B97F4A7C15ULL) ^
                 ((uint64_t)(uint32_t)span << 32 | (uint32_t)age);
    k ^= k >> 31;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 29;
    for (size_t i = k & mask;; i = (i + 1) & mask) {
        const cache_history *h = &memo[i];
        if (!h->used || (h->n_days == n_days && h->span == span && h->age == age))
            return i;
    }
}

/* Keeps the memo at most half full. False when out of memory. */
static bool memo_room(cache_scores *t)
{
    if (t->memo != NULL && 2 * (t->memo_n + 1) <= t->memo_mask + 1)
        return true;
    size_t cap = t->memo == NULL ? 4096 : 2 * (t->memo_mask + 1);
    cache_history *m = calloc(cap, sizeof *m);
    if (m == NULL)
        return false;
    for (size_t i = 0; t->memo != NULL && i <= t->memo_mask; i++) {
        const cache_history *h = &t->memo[i];
        if (h->used)
            m[memo_slot(m, cap - 1, h->n_days, h->span, h->age)] = *h;
    }
    free(t->memo);
    t->memo = m;
    t->memo_mask = cap - 1;
    return true;
}

/* The purchase model's numbers for x, t_x, T, with the calls and the
 * arithmetic of cache_score_summary, then the discounted purchases the CLV
 * multiplies (so any margin can be applied later as clv_value does). */
static void score_history(const cache_model *m, const cache_scores_spec *sp, double x,
                          double t_x, double T, cache_history *h)
{
    const btyd_model *b = m->model;
    int rc = b->p_alive(m->params, x, t_x, T, &h->p_alive);
    /* the expectation at the horizon in the CLV's batch (the same bits);
     * should that fail, the calls apart, for the code they give */
    bool joint = false;
    if (rc == GSL_SUCCESS && m->has_spend) {
        int rj = clv_discounted_and_expected(b, m->params, x, t_x, T, &sp->clv,
                                             sp->horizon, &h->expected, &h->discounted);
        joint = rj == GSL_SUCCESS;
    }
    if (rc == GSL_SUCCESS && !joint)
        rc = b->expected(m->params, x, t_x, T, sp->horizon, &h->expected);
    if (rc == GSL_SUCCESS)
        rc = btyd_p_any(b, m->params, x, t_x, T, sp->p_horizon, &h->p_purchase);
    if (rc == GSL_SUCCESS &&
        !(isfinite(x) && isfinite(t_x) && isfinite(T) && isfinite(h->p_alive) &&
          isfinite(h->expected) && isfinite(h->p_purchase)))
        rc = GSL_ERANGE;
    if (!joint || rc != GSL_SUCCESS)
        h->discounted = 0;
    if (rc == GSL_SUCCESS && m->has_spend && !joint)
        rc = clv_discounted_purchases(b, m->params, x, t_x, T, &sp->clv, &h->discounted);
    h->rc = rc;
}

void cache_history_score(const cache_model *m, const cache_scores_spec *sp,
                         const cache_summary *s, cache_history *h)
{
    *h = (cache_history){.n_days = s->n_days,
                         .span = s->last_day - s->first_day,
                         .age = (int32_t)(sp->as_of_day - s->first_day),
                         .used = true};
    score_history(m, sp, (double)s->n_days - 1,
                  (double)((int64_t)s->last_day - s->first_day) / m->period_days,
                  (double)(sp->as_of_day - s->first_day) / m->period_days, h);
}

void cache_history_row(const cache_model *m, const cache_summary *s,
                       const cache_history *h, cache_score_row *row)
{
    *row = (cache_score_row){.s = *s};
    row->rc = h->rc;
    row->p_alive = h->p_alive;
    row->expected = h->expected;
    row->p_purchase = h->p_purchase;
    row->discounted = h->discounted;
    if (row->rc != GSL_SUCCESS || !m->has_spend)
        return;
    double x = (double)s->n_days - 1;
    double mean = x > 0 ? cache_repeat_amount(s) / x : 0;
    row->rc = gg_expected_spend(m->gg_params, x, mean, &row->spend);
    if (row->rc == GSL_SUCCESS &&
        !(isfinite(mean) && isfinite(row->spend) && row->spend >= 0))
        row->rc = GSL_ERANGE;
}

/* The row of s: what cache_score_summary (without CLV options) computes,
 * and the discounted purchases. Fails (leaving the row unscored) only when
 * out of memory. */
static bool score_row(cache_scores *t, const cache_model *m, const cache_summary *s,
                      cache_score_row *row)
{
    const cache_scores_spec *sp = &t->spec;
    *row = (cache_score_row){.s = *s};
    if (sp->as_of_day < s->first_day) {
        row->rc = CACHE_SCORE_NOT_YET;
        return true;
    }
    if (sp->as_of_day < s->last_day) {
        row->rc = CACHE_SCORE_AS_OF_EARLY;
        return true;
    }
    if (!memo_room(t))
        return false;
    int32_t span = s->last_day - s->first_day,
            age = (int32_t)(sp->as_of_day - s->first_day);
    cache_history *h = &t->memo[memo_slot(t->memo, t->memo_mask, s->n_days, span, age)];
    if (!h->used) {
        cache_history_score(m, sp, s, h);
        t->memo_n++;
    }
    cache_history_row(m, s, h, row);
    return true;
}

/* Makes room for rows [0, n) (new ones never scored). Refresher only. */
static int grow(cache_scores *t, size_t n)
{
    if (n <= t->n)
        return CACHE_OK;
    if (n > t->cap) {
        size_t cap = t->cap + t->cap / 2;
        if (cap < n)
            cap = n;
        cache_score_row *r = malloc(cap * sizeof *r);
        if (r == NULL)
            return CACHE_ENOMEM;
        pthread_rwlock_wrlock(&t->lock);
        if (t->n > 0)
            memcpy(r, t->rows, t->n * sizeof *r);
        cache_score_row *old = t->rows;
        t->rows = r;
        t->cap = cap;
        pthread_rwlock_unlock(&t->lock);
        free(old);
    }
    pthread_rwlock_wrlock(&t->lock);
    for (size_t i = t->n; i < n; i++)
        t->rows[i].rc = CACHE_ROW_NONE;
    t->n = n;
    pthread_rwlock_unlock(&t->lock);
    return CACHE_OK;
}

/* Rescores the stale rows among records [from, from + k). The refresher is
 * the only writer, so it reads rows without the lock. */
static size_t refresh_chunk(cache_scores *t, const cache_model *m, size_t from, size_t k,
                            const cache_summary *s, cache_score_row *fresh, size_t *idx,
                            bool *oom)
{
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        const cache_score_row *row = &t->rows[from + i];
        if (s[i].n_days == 0 && row->rc != CACHE_ROW_NONE) {
            /* emptied (an erased customer): its old row goes, or the next
             * rank files it in its cell again */
            fresh[n] = (cache_score_row){.rc = CACHE_ROW_NONE};
            idx[n++] = from + i;
            continue;
        }
        if (s[i].n_days == 0 ||
            (row->rc != CACHE_ROW_NONE && cache_scores_same_summary(&row->s, &s[i])))
            continue;
        if (!score_row(t, m, &s[i], &fresh[n])) {
            *oom = true; /* the rest stays unscored (readers score it) */
            break;
        }
        idx[n++] = from + i;
    }
    if (n == 0)
        return 0;
    pthread_rwlock_wrlock(&t->lock);
    for (size_t i = 0; i < n; i++)
        t->rows[idx[i]] = fresh[i];
    pthread_rwlock_unlock(&t->lock);
    cache_scores_rank_note(t, idx, n);
    return n;
}

int cache_scores_refresh(cache_scores *t, cache *c, const cache_model *m,
                         const atomic_bool *stop, size_t *n_scored)
{
    uint64_t gen = cache_generation(c);
    /* before the first record is read: what changes later is in the
     * journal from here (the ranks' readers take it from there) */
    uint64_t journal = cache_journal_pos(c);
    t->period_days = m->period_days;
    if (n_scored != NULL)
        *n_scored = 0;
    if (atomic_load(&t->complete) && gen == t->generation)
        return 0;
    cache_summary *s = malloc(CHUNK * sizeof *s);
    const char **ids = malloc(CHUNK * sizeof *ids);
    cache_score_row *fresh = malloc(CHUNK * sizeof *fresh);
    size_t *idx = malloc(CHUNK * sizeof *idx);
    int rc = CACHE_ENOMEM;
    if (s == NULL || ids == NULL || fresh == NULL || idx == NULL)
        goto cleanup;
    rc = 0;
    for (size_t from = 0, k; (k = cache_chunk_refs(c, from, CHUNK, s, ids)) > 0;
         from += k) {
        if (atomic_load(stop)) {
            rc = 1;
            goto cleanup;
        }
        if ((rc = grow(t, from + k)) != CACHE_OK)
            goto cleanup;
        bool oom = false;
        size_t n = refresh_chunk(t, m, from, k, s, fresh, idx, &oom);
        if (n_scored != NULL)
            *n_scored += n;
        if (oom) { /* not a complete pass: the ranks keep their journal */
            rc = CACHE_ENOMEM;
            goto cleanup;
        }
    }
    t->generation = gen;
    t->pass_journal = journal;
    atomic_store(&t->complete, true);
cleanup:
    free(s);
    free(ids);
    free(fresh);
    free(idx);
    return rc;
}

/* ---------------------------------------------------------- record sets */

int cache_rec_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

bool cache_recs_add(cache_recs *s, uint32_t rec)
{
    if (s->n == s->cap) {
        size_t cap = s->cap > 0 ? 2 * s->cap : 256;
        uint32_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = rec;
    return true;
}

void cache_recs_sort(cache_recs *s)
{
    if (s->n > 0)
        qsort(s->v, s->n, sizeof *s->v, cache_rec_cmp);
}

bool cache_recs_has(const cache_recs *s, uint32_t rec)
{
    return s != NULL && s->n > 0 &&
           bsearch(&rec, s->v, s->n, sizeof rec, cache_rec_cmp) != NULL;
}

/* ---------------------------------------------------------------- scans */

/* Who a scan calls: fn, or fa with each record's attributes too (a set). */
typedef struct scan_cb {
    cache_scores_fn fn;
    cache_scores_attrs_fn fa;
    void *arg;
} scan_cb;

/* Calls cb for records [from, from + k) but those of skip (sorted; NULL:
 * none), with copies of their rows taken under the read lock (cb runs
 * without it: the refresher never waits for a reader's work). rows has
 * room for k; a holds the records' attributes when cb wants them. */
static int scan_chunk(cache_scores *t, size_t from, size_t k, const cache_summary *s,
                      const cache_attrs *a, const char **ids, cache_score_row *rows,
                      const cache_recs *skip, const scan_cb *cb)
{
    size_t have = 0;
    if (t != NULL) {
        pthread_rwlock_rdlock(&t->lock);
        have = t->n > from ? t->n - from : 0;
        have = have < k ? have : k;
        if (have > 0)
            memcpy(rows, t->rows + from, have * sizeof *rows);
        pthread_rwlock_unlock(&t->lock);
    }
    int rc = 0;
    for (size_t i = 0; i < k && rc == 0; i++) {
        if (s[i].n_days == 0 || cache_recs_has(skip, (uint32_t)(from + i)))
            continue;
        const cache_score_row *row = i < have ? &rows[i] : NULL;
        if (row != NULL &&
            (row->rc == CACHE_ROW_NONE || !cache_scores_same_summary(&row->s, &s[i])))
            row = NULL;
        rc = cb->fa != NULL ? cb->fa(ids[i], &s[i], a[i], row, cb->arg)
                            : cb->fn(ids[i], &s[i], row, cb->arg);
    }
    return rc;
}

/* Records [from, ...) but those of skip, as cache_scores_scan. */
static int scan_from(cache_scores *t, cache *c, size_t from, const cache_recs *skip,
                     const scan_cb *cb)
{
    cache_summary *s = malloc(CHUNK * sizeof *s);
    const char **ids = malloc(CHUNK * sizeof *ids);
    cache_score_row *rows = t != NULL ? malloc(CHUNK * sizeof *rows) : NULL;
    cache_attrs *a = cb->fa != NULL ? malloc(CHUNK * sizeof *a) : NULL;
    int rc = CACHE_ENOMEM;
    if (s == NULL || ids == NULL || (t != NULL && rows == NULL) ||
        (cb->fa != NULL && a == NULL))
        goto cleanup;
    rc = 0;
    for (size_t k;
         rc == 0 && (k = a != NULL ? cache_records_attrs(c, from, CHUNK, s, a, ids)
                                   : cache_chunk_refs(c, from, CHUNK, s, ids)) > 0;
         from += k)
        rc = scan_chunk(t, from, k, s, a, ids, rows, skip, cb);
cleanup:
    free(s);
    free(ids);
    free(rows);
    free(a);
    return rc;
}

/* ---------------------------------------------------------------- id index */

static int id_cmp(const void *a, const void *b, void *ids)
{
    const char *const *v = ids;
    return strcmp(v[*(const uint32_t *)a], v[*(const uint32_t *)b]);
}

/* perm[0..n): records [0, n) in id order. When by_id (old, n_old of
 * them, the records [0, n_old)) is given, only the new ones are sorted and
 * merged into it (O(n + k log k)). */
static void order_ids(const char **ids, size_t n, const uint32_t *old, size_t n_old,
                      uint32_t *perm)
{
    size_t k = old != NULL ? n - n_old : n, first = old != NULL ? n_old : 0;
    for (size_t i = 0; i < k; i++) /* the ones to sort, at the front */
        perm[i] = (uint32_t)(first + i);
    qsort_r(perm, k, sizeof *perm, id_cmp, ids);
    if (old == NULL)
        return;
    /* merge from the back: a write at i + j - 1 never passes the sorted
     * ones not yet taken (perm[0..j)) */
    size_t i = n_old, j = k, o = n;
    while (i > 0) {
        if (j > 0 && strcmp(ids[perm[j - 1]], ids[old[i - 1]]) > 0)
            perm[--o] = perm[--j];
        else
            perm[--o] = old[--i];
    }
}

int cache_scores_index_ids(cache_scores *t, cache *c)
{
    size_t n = t->n; /* the refresher's own view of the rows */
    size_t behind = n - t->n_by_id;
    /* a customer not in the index is offered apart on every page: keep
     * them few (merging k new ids costs O(n + k log k)) */
    if (t->by_id != NULL && (behind == 0 || behind < 256 || behind < n / 4096))
        return CACHE_OK;
    const char **ids = malloc((n > 0 ? n : 1) * sizeof *ids);
    uint32_t *perm = malloc((n > 0 ? n : 1) * sizeof *perm);
    cache_summary *s = malloc(CHUNK * sizeof *s);
    int rc = CACHE_ENOMEM;
    if (ids == NULL || perm == NULL || s == NULL)
        goto cleanup;
    size_t got = 0;
    for (size_t k;
         got < n && (k = cache_chunk_refs(c, got, n - got < CHUNK ? n - got : CHUNK, s,
                                          ids + got)) > 0;)
        got += k;
    /* the refresher alone replaces by_id: it reads it without the lock */
    bool merge = t->by_id != NULL && t->n_by_id <= got;
    order_ids(ids, got, merge ? t->by_id : NULL, merge ? t->n_by_id : 0, perm);
    pthread_rwlock_wrlock(&t->lock);
    uint32_t *old = t->by_id;
    t->by_id = perm;
    t->n_by_id = got;
    t->by_id_gen++;
    pthread_rwlock_unlock(&t->lock);
    free(old);
    perm = NULL;
    rc = CACHE_OK;
cleanup:
    free(ids);
    free(perm);
    free(s);
    return rc;
}

/* The first position of the index, in walking order, after `after`. */
static size_t start_at(cache_scores *t, cache *c, bool desc, const char *after)
{
    size_t lo = 0, hi = t->n_by_id; /* ascending: first id > after */
    while (after != NULL && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        cache_summary s;
        const char *id = "";
        cache_chunk_rec(c, t->by_id[mid], &s, &id);
        int cmp = strcmp(id, after);
        if (desc ? cmp < 0 : cmp <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* descending: [0, lo) are the ids < after, walked from lo - 1 down */
    return after == NULL ? (desc ? t->n_by_id : 0) : lo;
}

/* Positions of the index walked per look under the lock. */
#define WALK_SLICE 256

/* The next slice of the index from *pos (re-found after `last` when the
 * index was replaced since *gen): its records and a copy of their rows (rc
 * CACHE_ROW_NONE where none), taken under the lock. Returns how many (0: done,
 * (size_t)-1: no index). */
static size_t walk_slice(cache_scores *t, cache *c, bool desc, const char *last,
                         size_t *pos, uint64_t *gen, size_t *n_index, uint32_t *recs,
                         cache_score_row *rows)
{
    size_t k = 0;
    pthread_rwlock_rdlock(&t->lock);
    if (t->by_id == NULL) {
        pthread_rwlock_unlock(&t->lock);
        return (size_t)-1;
    }
    if (t->by_id_gen != *gen) { /* rebuilt: find our place in the new one */
        *gen = t->by_id_gen;
        *pos = start_at(t, c, desc, last);
    }
    *n_index = t->n_by_id;
    while (k < WALK_SLICE && (desc ? *pos > 0 : *pos < *n_index)) {
        uint32_t rec = t->by_id[desc ? --*pos : (*pos)++];
        recs[k] = rec;
        if (rec < t->n)
            rows[k] = t->rows[rec];
        else
            rows[k].rc = CACHE_ROW_NONE;
        k++;
    }
    pthread_rwlock_unlock(&t->lock);
    return k;
}

int cache_scores_walk_ids(cache_scores *t, cache *c, bool desc, const char *after,
                          cache_scores_fn fn, cache_scores_fn tail_fn, void *arg)
{
    /* the callback runs without the lock: it scores, and may wait on
     * PostgreSQL, and the refresher's write lock must never queue behind
     * that (nor every other list behind the refresher) */
    uint32_t recs[WALK_SLICE];
    cache_score_row *rows = malloc(WALK_SLICE * sizeof *rows);
    if (rows == NULL)
        return CACHE_ENOMEM;
    const char *last = after; /* the cache's own copies: stable */
    uint64_t gen = UINT64_MAX;
    size_t pos = 0, n_index = 0, n_first = SIZE_MAX, k;
    /* the index may be replaced by a longer one during the walk: the tail
     * scan starts where the first one ended, and skips the records past it
     * that the walk already offered (nothing is missed, nothing twice) */
    cache_recs late = {0};
    int rc = 0;
    while (rc == 0 &&
           (k = walk_slice(t, c, desc, last, &pos, &gen, &n_index, recs, rows)) > 0) {
        if (k == (size_t)-1) {
            rc = -1;
            break;
        }
        if (n_first == SIZE_MAX)
            n_first = n_index;
        for (size_t i = 0; i < k && rc == 0; i++) {
            cache_summary s;
            const char *id;
            if (!cache_chunk_rec(c, recs[i], &s, &id) || s.n_days == 0)
                continue;
            if (recs[i] >= n_first && !cache_recs_add(&late, recs[i])) {
                rc = CACHE_ENOMEM;
                break;
            }
            const cache_score_row *row = &rows[i];
            if (row->rc == CACHE_ROW_NONE || !cache_scores_same_summary(&row->s, &s))
                row = NULL;
            last = id;
            rc = fn(id, &s, row, arg);
        }
    }
    free(rows);
    if (rc == -1 || rc == CACHE_ENOMEM) {
        free(late.v);
        return rc;
    }
    /* the customers the index did not hold when the walk began are offered
     * whatever the walk's callback said: they may sort anywhere */
    cache_recs_sort(&late);
    scan_cb cb = {tail_fn, NULL, arg};
    rc = scan_from(t, c, n_first == SIZE_MAX ? n_index : n_first, &late, &cb);
    free(late.v);
    return rc;
}

int cache_scores_scan(cache_scores *t, cache *c, cache_scores_fn fn, void *arg)
{
    scan_cb cb = {fn, NULL, arg};
    return scan_from(t, c, 0, NULL, &cb);
}

int cache_scores_scan_attrs(cache_scores *t, cache *c, cache_scores_attrs_fn fn,
                            void *arg)
{
    scan_cb cb = {NULL, fn, arg};
    return scan_from(t, c, 0, NULL, &cb);
}

/* Walking a rank of the score table (scores.h, "ranks"; built by
 * scores_rank.c) for a list page: first the customers the rank does not
 * order (changed since it was built, per the cache's change journal, or
 * unranked), then the ranked ones of the cells asked for, from the cursor,
 * in the page's order.
 *
 * Each cell is read by an iterator in page order: ascending is the cell's
 * own (key, id) order from the cursor; descending goes through runs of
 * equal keys from the largest down, each run by ascending id (found by
 * binary search on the key). The cells are merged by comparing the
 * iterators' next entries. Iterators read a slice at a time: the rows under
 * the table's lock, the records under the cache's, and the callback runs
 * with no lock held. */
#include "cache/scores_impl.h"

#include <stdlib.h>
#include <string.h>

#include "cache/cache_chunk.h"

#define SLICE 64 /* entries an iterator reads per look under the locks */

/* One cell's entries in page order. */
typedef struct iter {
    size_t lo, hi;   /* the cell's positions */
    size_t pos, end; /* the range being read forward */
    size_t run;      /* descending: the next run ends here (lo: none left) */
    bool done;
    size_t nb, ib; /* entries read, the next one */
    uint32_t recs[SLICE];
    cache_score_row rows[SLICE];
    cache_summary s[SLICE];
    const char *ids[SLICE];
    double keys[SLICE];
} iter;

typedef struct walker {
    cache_scores *t;
    cache *c;
    const cache_rank *r;
    int k;
    bool desc;
    const uint32_t *ord;
    uint32_t *d; /* records changed since the rank, sorted, unique */
    size_t nd;
    cache_scores_fn fn, other_fn;
    void *arg;
} walker;

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static bool changed(const walker *w, uint32_t rec)
{
    return w->nd > 0 && bsearch(&rec, w->d, w->nd, sizeof rec, u32_cmp) != NULL;
}

/* other_fn for record rec, with its row when fresh, as cache_scores_scan. */
static int call_other(const walker *w, uint32_t rec)
{
    cache_score_row row = {0};
    pthread_rwlock_rdlock(&w->t->lock);
    bool has = rec < w->t->n;
    if (has)
        row = w->t->rows[rec];
    pthread_rwlock_unlock(&w->t->lock);
    cache_summary s;
    const char *id;
    if (!cache_chunk_rec(w->c, rec, &s, &id) || s.n_days == 0)
        return 0;
    bool fresh = has && row.rc != ROW_NONE && cache_scores_same_summary(&row.s, &s);
    return w->other_fn(id, &s, fresh ? &row : NULL, w->arg);
}

/* The key and id of ord[pos]. */
static void entry(const walker *w, size_t pos, double *key, const char **id)
{
    uint32_t rec = w->ord[pos];
    cache_score_row row;
    pthread_rwlock_rdlock(&w->t->lock);
    row = w->t->rows[rec];
    pthread_rwlock_unlock(&w->t->lock);
    *key = cache_scores_rank_key(w->k, &row, w->r->margin, w->r->period_days);
    cache_summary s;
    *id = "";
    cache_chunk_rec(w->c, rec, &s, id);
}

/* A position p of [lo, hi] such that the unchanged entries of [lo, hi)
 * before it are not past (key, id) and those from it are: past means after
 * (strict) or not before. id NULL compares keys only. */
static size_t bound(const walker *w, size_t lo, size_t hi, double key, const char *id,
                    bool strict)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, j = mid;
        while (j < hi && changed(w, w->ord[j]))
            j++;
        if (j == hi) { /* [mid, hi) all changed: none of them counts */
            hi = mid;
            continue;
        }
        double ek;
        const char *eid;
        entry(w, j, &ek, &eid);
        int cmp = ek != key ? (ek < key ? -1 : 1) : id == NULL ? 0 : strcmp(eid, id);
        if (strict ? cmp > 0 : cmp >= 0)
            hi = mid;
        else
            lo = j + 1;
    }
    return lo;
}

/* Sets `it` at the cursor (none: the start) of cell [lo, hi). */
static void iter_start(const walker *w, iter *it, size_t lo, size_t hi, const double *ck,
                       const char *cid)
{
    *it = (iter){.lo = lo, .hi = hi};
    if (!w->desc) {
        it->pos = ck != NULL ? bound(w, lo, hi, *ck, cid, true) : lo;
        it->end = hi;
        it->run = lo;
    } else if (ck != NULL) { /* the rest of the cursor's run, then below it */
        it->pos = bound(w, lo, hi, *ck, cid, true);
        it->end = bound(w, it->pos, hi, *ck, NULL, true);
        it->run = bound(w, lo, it->pos, *ck, NULL, false);
    } else {
        it->pos = it->end = it->run = hi;
    }
}

/* Descending: moves `it` to the next run down (false: none left). */
static bool next_run(const walker *w, iter *it)
{
    size_t j = it->run;
    while (j > it->lo && changed(w, w->ord[j - 1]))
        j--;
    if (j == it->lo)
        return false;
    double key;
    const char *id;
    entry(w, j - 1, &key, &id);
    it->pos = bound(w, it->lo, j - 1, key, NULL, false);
    it->end = it->run;
    it->run = it->pos;
    return true;
}

/* Reads the next slice of `it` (nb 0 and done when it has no more). */
static void iter_fill(const walker *w, iter *it)
{
    it->nb = it->ib = 0;
    while (it->nb == 0 && !it->done) {
        if (it->pos == it->end) {
            if (!w->desc || !next_run(w, it))
                it->done = true;
            continue;
        }
        size_t k = 0;
        pthread_rwlock_rdlock(&w->t->lock);
        for (; it->pos < it->end && k < SLICE; it->pos++) {
            uint32_t rec = w->ord[it->pos];
            if (changed(w, rec))
                continue;
            it->recs[k] = rec;
            it->rows[k++] = w->t->rows[rec];
        }
        pthread_rwlock_unlock(&w->t->lock);
        cache_chunk_recs(w->c, it->recs, k, it->s, it->ids);
        for (size_t i = 0; i < k; i++) {
            if (it->ids[i] == NULL || it->s[i].n_days == 0)
                continue; /* cannot be: a ranked record has days */
            if (i != it->nb) {
                it->recs[it->nb] = it->recs[i];
                it->rows[it->nb] = it->rows[i];
                it->s[it->nb] = it->s[i];
                it->ids[it->nb] = it->ids[i];
            }
            it->keys[it->nb] = cache_scores_rank_key(w->k, &it->rows[it->nb],
                                                     w->r->margin, w->r->period_days);
            it->nb++;
        }
    }
}

/* Whether the next entry of a comes before b's in the page's order. */
static bool first(const walker *w, const iter *a, const iter *b)
{
    double ka = a->keys[a->ib], kb = b->keys[b->ib];
    if (ka != kb)
        return (ka < kb) != w->desc;
    return strcmp(a->ids[a->ib], b->ids[b->ib]) < 0;
}

/* The ranked entries of the cells in mask, merged in page order. */
static int ranked(walker *w, uint32_t mask, const double *ck, const char *cid)
{
    iter *its = malloc(CACHE_RANK_CELLS * sizeof *its);
    if (its == NULL)
        return CACHE_ENOMEM;
    size_t n = 0;
    for (int j = 0; j < CACHE_RANK_CELLS; j++) {
        if (!(mask >> j & 1) || w->r->off[j] == w->r->off[j + 1])
            continue;
        iter_start(w, &its[n], w->r->off[j], w->r->off[j + 1], ck, cid);
        iter_fill(w, &its[n]);
        if (its[n].nb > 0)
            n++;
    }
    int rc = 0;
    while (n > 0 && rc == 0) {
        size_t b = 0;
        for (size_t i = 1; i < n; i++)
            if (first(w, &its[i], &its[b]))
                b = i;
        iter *it = &its[b];
        const cache_score_row *row = &it->rows[it->ib];
        if (!cache_scores_same_summary(&row->s, &it->s[it->ib]))
            row = NULL; /* cannot be: changed records are skipped */
        rc = w->fn(it->ids[it->ib], &it->s[it->ib], row, w->arg);
        if (++it->ib == it->nb) {
            iter_fill(w, it);
            if (it->nb == 0)
                its[b] = its[--n];
        }
    }
    free(its);
    return rc;
}

/* The records changed since the rank's journal position, sorted, unique:
 * false when the journal no longer holds them (or out of memory). */
static bool changes(walker *w)
{
    uint64_t from = atomic_load(&w->r->journal);
    for (int tries = 0; tries < 4; tries++) {
        uint64_t now = cache_journal_pos(w->c);
        size_t max = (size_t)(now - from) + 4096;
        if (max > cache_journal_cap())
            max = cache_journal_cap();
        free(w->d);
        if ((w->d = malloc(max * sizeof *w->d)) == NULL)
            return false;
        long n = cache_journal_since(w->c, from, w->d, max);
        if (n < 0 && max == cache_journal_cap())
            return false;
        if (n < 0)
            continue; /* more came meanwhile */
        qsort(w->d, (size_t)n, sizeof *w->d, u32_cmp);
        size_t u = 0;
        for (size_t i = 0; i < (size_t)n; i++)
            if (u == 0 || w->d[u - 1] != w->d[i])
                w->d[u++] = w->d[i];
        w->nd = u;
        return true;
    }
    return false;
}

int cache_scores_walk_rank(cache_scores *t, cache *c, cache_rank_key k, uint32_t cells,
                           bool desc, const double *cursor_key, const char *cursor_id,
                           cache_scores_fn fn, cache_scores_fn other_fn, void *arg)
{
    if ((int)k < 0 || k >= CACHE_RANK_COUNT)
        return -1;
    cache_rank *r = cache_scores_rank_acquire(t);
    if (r == NULL)
        return -1;
    walker w = {.t = t,
                .c = c,
                .r = r,
                .k = k,
                .desc = desc,
                .ord = r->ord[k],
                .fn = fn,
                .other_fn = other_fn,
                .arg = arg};
    int rc = -1;
    if (!changes(&w))
        goto done;
    rc = 0;
    /* the customers the order does not hold may sort anywhere */
    for (size_t i = 0; rc == 0 && i < r->n_extra; i++)
        if (!changed(&w, r->extra[i]))
            rc = call_other(&w, r->extra[i]);
    for (size_t i = 0; rc == 0 && i < w.nd; i++)
        rc = call_other(&w, w.d[i]);
    if (rc == 0)
        rc = ranked(&w, cells, cursor_key, cursor_id);
done:
    free(w.d);
    cache_scores_rank_release(r);
    return rc;
}

int cache_scores_rank_counts(cache_scores *t, cache *c, size_t counts[CACHE_RANK_CELLS],
                             cache_scores_fn other_fn, void *arg)
{
    cache_rank *r = cache_scores_rank_acquire(t);
    if (r == NULL)
        return -1;
    walker w = {.t = t, .c = c, .r = r, .other_fn = other_fn, .arg = arg};
    int rc = -1;
    if (!changes(&w))
        goto done;
    for (int j = 0; j < CACHE_RANK_CELLS; j++)
        counts[j] = r->off[j + 1] - r->off[j];
    for (size_t i = 0; i < w.nd; i++) /* counted apart, as they are now */
        if (w.d[i] < r->n_cell && r->cell[w.d[i]] != CELL_NONE)
            counts[r->cell[w.d[i]]]--;
    rc = 0;
    for (size_t i = 0; rc == 0 && i < r->n_extra; i++)
        if (!changed(&w, r->extra[i]))
            rc = call_other(&w, r->extra[i]);
    for (size_t i = 0; rc == 0 && i < w.nd; i++)
        rc = call_other(&w, w.d[i]);
done:
    free(w.d);
    cache_scores_rank_release(r);
    return rc;
}

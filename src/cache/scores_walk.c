/* Walking a rank of the score table (scores.h, "ranks"; built by
 * scores_rank.c) for a list page: first the customers the rank does not
 * order (changed since it was built, per the cache's change journal, or
 * unranked), then the ranked ones of the cells asked for, from the cursor,
 * in the page's order, and last the customers that changed while the walk
 * ran and were not seen.
 *
 * An entry is where the order says only while its row is the one the rank
 * was built from and its customer did not change since (the rank keeps a
 * fingerprint of each row's summary): an entry that moved meanwhile (the
 * journal was read at the start, ingest goes on) is handed to other_fn
 * like the changed ones and never counts as being in order; the binary
 * searches skip such entries as they skip the changed ones.
 *
 * Each cell is read by an iterator in page order: ascending is the cell's
 * own (key, id) order from the cursor; descending goes through runs of
 * equal keys from the largest down, each run by ascending id (found by
 * binary search on the key). The cells are merged by comparing the
 * iterators' next entries. Iterators read a slice at a time: the rows under
 * the table's lock, the records under the cache's, and the callbacks run
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
    uint64_t read_to; /* the journal position d was read up to */
    cache_recs seen;  /* records handed to a callback by the ranked walk */
    bool no_memory;
    cache_scores_fn fn, other_fn;
    void *arg;
} walker;

static bool changed(const walker *w, uint32_t rec)
{
    return w->nd > 0 && bsearch(&rec, w->d, w->nd, sizeof rec, cache_rec_cmp) != NULL;
}

static void remember(walker *w, uint32_t rec)
{
    if (!cache_recs_add(&w->seen, rec))
        w->no_memory = true;
}

/* Whether record rec, with the row and summary read together, is where
 * the rank put it: the row it was ranked from, and the customer's own. */
static bool in_place(const walker *w, uint32_t rec, const cache_score_row *row,
                     const cache_summary *s)
{
    return rec < w->r->n_cell && row->rc != CACHE_ROW_NONE &&
           cache_scores_print(&row->s) == w->r->print[rec] &&
           cache_scores_same_summary(&row->s, s);
}

/* Calls fn for a customer as cache_scores_scan would (its row when
 * fresh). */
static int call(const walker *w, const cache_score_row *row, const cache_summary *s,
                const char *id, cache_scores_fn fn)
{
    bool fresh =
        row != NULL && row->rc != CACHE_ROW_NONE && cache_scores_same_summary(&row->s, s);
    return fn(id, s, fresh ? row : NULL, w->arg);
}

/* other_fn for record rec, reading its row and record. */
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
    return call(w, has ? &row : NULL, &s, id, w->other_fn);
}

/* The key and id of ord[pos]; false when the entry is not in place (or
 * changed since the rank: the binary searches skip it). */
static bool entry(const walker *w, size_t pos, double *key, const char **id)
{
    uint32_t rec = w->ord[pos];
    if (changed(w, rec))
        return false;
    cache_score_row row;
    pthread_rwlock_rdlock(&w->t->lock);
    row = w->t->rows[rec];
    pthread_rwlock_unlock(&w->t->lock);
    cache_summary s;
    *id = "";
    if (!cache_chunk_rec(w->c, rec, &s, id) || !in_place(w, rec, &row, &s))
        return false;
    *key = cache_scores_rank_key(w->k, &row, w->r->margin, w->r->period_days);
    return true;
}

/* A position p of [lo, hi] such that the entries of [lo, hi) in place
 * before it are not past (key, id) and those from it are: past means after
 * (strict) or not before. id NULL compares keys only. */
static size_t bound(const walker *w, size_t lo, size_t hi, double key, const char *id,
                    bool strict)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, j = mid;
        double ek = 0;
        const char *eid = "";
        while (j < hi && !entry(w, j, &ek, &eid))
            j++;
        if (j == hi) { /* none of [mid, hi) is in place: none counts */
            hi = mid;
            continue;
        }
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

/* A position of [lo, top) below which every entry in place has a key
 * smaller than key, ord[top] being in place with key: galloping down from
 * top (1, 2, 4, ... entries) to the first entry in place with a smaller
 * key, so that finding the start of a run costs the log of its length, not
 * of the cell's (a descending page of distinct keys: two entries read per
 * customer instead of ~25 at 10M customers). */
static size_t below_run(const walker *w, size_t lo, size_t top, double key)
{
    for (size_t step = 1; top - lo > step; step *= 2) {
        size_t q = top - step;
        double k = 0;
        const char *id;
        while (q > lo && !entry(w, q, &k, &id))
            q--; /* not in place: the next below it that is */
        if (q == lo)
            return lo;
        if (k < key)
            return q + 1;
    }
    return lo;
}

/* Descending: moves `it` to the next run down (false: none left). */
static bool next_run(const walker *w, iter *it)
{
    size_t j = it->run;
    double key = 0;
    const char *id;
    while (j > it->lo && !entry(w, j - 1, &key, &id))
        j--;
    if (j == it->lo)
        return false;
    it->pos = bound(w, below_run(w, it->lo, j - 1, key), j - 1, key, NULL, false);
    it->end = it->run;
    it->run = it->pos;
    return true;
}

/* Reads the next slice of `it` (nb 0 and done when it has no more); the
 * entries not in place go to other_fn at once. Returns 0 or its value. */
static int iter_fill(walker *w, iter *it)
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
                continue;
            if (!in_place(w, it->recs[i], &it->rows[i], &it->s[i])) {
                remember(w, it->recs[i]); /* moved since: it may sort anywhere */
                int rc = call(w, &it->rows[i], &it->s[i], it->ids[i], w->other_fn);
                if (rc != 0)
                    return rc;
                continue;
            }
            size_t b = it->nb++;
            if (i != b) {
                it->recs[b] = it->recs[i];
                it->rows[b] = it->rows[i];
                it->s[b] = it->s[i];
                it->ids[b] = it->ids[i];
            }
            it->keys[b] = cache_scores_rank_key(w->k, &it->rows[b], w->r->margin,
                                                w->r->period_days);
        }
    }
    return 0;
}

/* Whether the next entry of a comes before b's in the page's order. */
static bool first(const walker *w, const iter *a, const iter *b)
{
    double ka = a->keys[a->ib], kb = b->keys[b->ib];
    if (ka != kb)
        return (ka < kb) != w->desc;
    return strcmp(a->ids[a->ib], b->ids[b->ib]) < 0;
}

/* Starts the iterators of the cells in mask; *n of them have entries. */
static int iters_start(walker *w, iter *its, size_t *n, uint32_t mask, const double *ck,
                       const char *cid)
{
    *n = 0;
    for (int j = 0; j < CACHE_RANK_CELLS; j++) {
        if (!(mask >> j & 1) || w->r->off[j] == w->r->off[j + 1])
            continue;
        iter_start(w, &its[*n], w->r->off[j], w->r->off[j + 1], ck, cid);
        int rc = iter_fill(w, &its[*n]);
        if (rc != 0)
            return rc;
        if (its[*n].nb > 0)
            (*n)++;
    }
    return 0;
}

/* The ranked entries of the cells in mask, merged in page order. */
static int ranked(walker *w, uint32_t mask, const double *ck, const char *cid)
{
    iter *its = malloc(CACHE_RANK_CELLS * sizeof *its);
    if (its == NULL)
        return CACHE_ENOMEM;
    size_t n;
    int rc = iters_start(w, its, &n, mask, ck, cid);
    while (n > 0 && rc == 0) {
        size_t b = 0;
        for (size_t i = 1; i < n; i++)
            if (first(w, &its[i], &its[b]))
                b = i;
        iter *it = &its[b];
        remember(w, it->recs[it->ib]);
        rc = w->fn(it->ids[it->ib], &it->s[it->ib], &it->rows[it->ib], w->arg);
        if (rc == 0 && ++it->ib == it->nb) {
            rc = iter_fill(w, it);
            if (it->nb == 0)
                its[b] = its[--n];
        }
    }
    free(its);
    return rc;
}

/* The journal's records since `from`, sorted, unique, into *out (*n):
 * false when the journal no longer holds them, there are more than max,
 * or out of memory. *to: the position read up to. */
static bool journal_since(cache *c, uint64_t from, size_t max, uint32_t **out, size_t *n,
                          uint64_t *to)
{
    *out = NULL;
    *n = 0;
    for (int tries = 0; tries < 4; tries++) {
        uint64_t now = cache_journal_pos(c);
        if (now - from > max)
            return false;
        size_t room = (size_t)(now - from) + 4096;
        room = room < max ? room : max;
        free(*out);
        if ((*out = malloc((room > 0 ? room : 1) * sizeof **out)) == NULL)
            return false;
        long k = cache_journal_since(c, from, *out, room);
        if (k < 0)
            continue; /* more came meanwhile */
        qsort(*out, (size_t)k, sizeof **out, cache_rec_cmp);
        size_t u = 0;
        for (size_t i = 0; i < (size_t)k; i++)
            if (u == 0 || (*out)[u - 1] != (*out)[i])
                (*out)[u++] = (*out)[i];
        *n = u;
        *to = from + (uint64_t)k;
        return true;
    }
    free(*out);
    *out = NULL;
    return false;
}

/* The records changed since the rank: false when there are more than a
 * walk should offer apart (about a sixteenth of the ranked: a pass over
 * every row is cheaper then) or the journal lost track. */
static bool changes(walker *w)
{
    size_t max = 4096 + w->r->n / 16;
    if (max > cache_journal_cap())
        max = cache_journal_cap();
    return journal_since(w->c, atomic_load(&w->r->journal), max, &w->d, &w->nd,
                         &w->read_to);
}

/* other_fn for the records changed while the walk ran that no callback
 * saw. A burst the journal lost is not offered (the page is then as of
 * the walk's start for them). */
static int late_changes(walker *w)
{
    uint32_t *d2;
    size_t n2;
    uint64_t to;
    if (!journal_since(w->c, w->read_to, cache_journal_cap(), &d2, &n2, &to))
        return 0;
    cache_recs_sort(&w->seen);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n2; i++)
        if (!changed(w, d2[i]) && !cache_recs_has(&w->seen, d2[i]))
            rc = call_other(w, d2[i]);
    free(d2);
    return rc;
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
        goto cleanup;
    rc = 0;
    /* the customers the order does not hold may sort anywhere (the
     * unranked ones are remembered: one that changes during the walk is
     * not offered twice) */
    for (size_t i = 0; rc == 0 && i < r->n_extra; i++)
        if (!changed(&w, r->extra[i])) {
            remember(&w, r->extra[i]);
            rc = call_other(&w, r->extra[i]);
        }
    for (size_t i = 0; rc == 0 && i < w.nd; i++)
        rc = call_other(&w, w.d[i]);
    if (rc == 0)
        rc = ranked(&w, cells, cursor_key, cursor_id);
    if (rc == 0 || rc == 1) /* done, or the page is full: then the late ones */
        rc = late_changes(&w) != 0 ? 1 : rc;
    if (w.no_memory)
        rc = CACHE_ENOMEM;
cleanup:
    free(w.d);
    free(w.seen.v);
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
        goto cleanup;
    for (int j = 0; j < CACHE_RANK_CELLS; j++)
        counts[j] = r->off[j + 1] - r->off[j];
    for (size_t i = 0; i < w.nd; i++) /* counted apart, as they are now */
        if (w.d[i] < r->n_cell && r->cell[w.d[i]] != CACHE_CELL_NONE)
            counts[r->cell[w.d[i]]]--;
    rc = 0;
    for (size_t i = 0; rc == 0 && i < r->n_extra; i++)
        if (!changed(&w, r->extra[i]))
            rc = call_other(&w, r->extra[i]);
    for (size_t i = 0; rc == 0 && i < w.nd; i++)
        rc = call_other(&w, w.d[i]);
cleanup:
    free(w.d);
    cache_scores_rank_release(r);
    return rc;
}

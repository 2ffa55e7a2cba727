/* The ranks of the score table (scores.h, "ranks"): for each sort key, the
 * ranked records in (key, id) order, built by the refresher and walked by
 * lists from their cursor.
 *
 * A rank is immutable once published (readers hold it by a reference
 * count and walk it without the table's lock). It orders the records whose
 * rows were scored when it was built; a record changed since is named by
 * the cache's change journal from the position the rank keeps (taken
 * before the refresh pass read any record), so a reader offers those
 * customers apart and skips their place in the order, and a page never
 * lags the cache. Ties go by id through the id index (an id's position in
 * it), so sorting compares numbers only.
 *
 * After each complete refresh, the rows rescored since the last rank are
 * merged into it: the old order without them (one sequential pass), then
 * each of them put in place by binary search (O(N + k log N) per key).
 * With no rank yet, or more than an eighth of the rows changed, every row
 * is sorted again. */
#include "cache/scores_impl.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_chunk.h"

#define NO_RANK UINT32_MAX /* a record not in the id index */
#define SLICE 256          /* ranked positions copied per look under the lock */

typedef struct cache_rank {
    atomic_int refs;
    _Atomic uint64_t journal; /* changes from here on are not in the order */
    uint32_t *ord[CACHE_RANK_COUNT]; /* ranked records in (key, id) order */
    size_t n;
    uint32_t *extra; /* records not ranked (readers skip those of n_days 0) */
    size_t n_extra;
    double margin, period_days;
} cache_rank;

/* A ranked record while sorting. */
typedef struct ent {
    double key;
    uint32_t idr; /* the id's position in the id index */
    uint32_t rec;
} ent;

double cache_scores_rank_key(cache_rank_key k, const cache_score_row *row, double margin,
                             double period_days)
{
    switch (k) {
    case CACHE_RANK_P_ALIVE:
        return row->p_alive;
    case CACHE_RANK_EXPECTED:
        return row->expected;
    case CACHE_RANK_LTV:
        return margin * row->spend * row->discounted;
    case CACHE_RANK_SPEND:
        return row->spend;
    case CACHE_RANK_FREQUENCY:
        return (double)row->s.n_days - 1;
    case CACHE_RANK_RECENCY:
        return (double)((int64_t)row->s.last_day - row->s.first_day) / period_days;
    case CACHE_RANK_LAST_PURCHASE:
        return row->s.last_day;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ lifetime */

static void rank_free(cache_rank *r)
{
    if (r == NULL)
        return;
    for (int k = 0; k < CACHE_RANK_COUNT; k++)
        free(r->ord[k]);
    free(r->extra);
    free(r);
}

static void rank_release(cache_rank *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1)
        rank_free(r);
}

static cache_rank *rank_acquire(cache_scores *t)
{
    pthread_rwlock_rdlock(&t->lock);
    cache_rank *r = t->rank;
    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
    pthread_rwlock_unlock(&t->lock);
    return r;
}

/* Makes r (NULL: none) the published rank. */
static void publish(cache_scores *t, cache_rank *r)
{
    pthread_rwlock_wrlock(&t->lock);
    cache_rank *old = t->rank;
    t->rank = r;
    pthread_rwlock_unlock(&t->lock);
    rank_release(old);
}

void cache_scores_rank_free(cache_scores *t)
{
    rank_release(t->rank);
    t->rank = NULL;
    free(t->changed);
    free(t->id_rank);
}

size_t cache_scores_rank_memory(cache_scores *t)
{
    size_t b = t->cap_changed * sizeof *t->changed + t->n_id_rank * sizeof *t->id_rank;
    cache_rank *r = rank_acquire(t);
    if (r != NULL)
        b += (CACHE_RANK_COUNT * r->n + r->n_extra) * sizeof(uint32_t);
    rank_release(r);
    return b;
}

/* ------------------------------------------------------------ building */

void cache_scores_rank_note(cache_scores *t, const size_t *idx, size_t n)
{
    if (t->changed_lost)
        return;
    if (t->n_changed + n > t->n / 8 + 1024) { /* a whole sort is cheaper */
        t->changed_lost = true;
        t->n_changed = 0;
        return;
    }
    if (t->n_changed + n > t->cap_changed) {
        size_t cap = 2 * (t->n_changed + n);
        uint32_t *v = realloc(t->changed, cap * sizeof *v);
        if (v == NULL) {
            t->changed_lost = true;
            t->n_changed = 0;
            return;
        }
        t->changed = v;
        t->cap_changed = cap;
    }
    for (size_t i = 0; i < n; i++)
        t->changed[t->n_changed++] = (uint32_t)idx[i];
}

/* id_rank from the id index when it was rebuilt (*renewed). */
static int id_ranks(cache_scores *t, bool *renewed)
{
    *renewed = false;
    if (t->id_rank != NULL && t->id_rank_gen == t->by_id_gen)
        return CACHE_OK;
    size_t n = t->n;
    uint32_t *v = malloc((n > 0 ? n : 1) * sizeof *v);
    if (v == NULL)
        return CACHE_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = NO_RANK;
    for (size_t i = 0; i < t->n_by_id; i++)
        if (t->by_id[i] < n)
            v[t->by_id[i]] = (uint32_t)i;
    free(t->id_rank);
    t->id_rank = v;
    t->n_id_rank = n;
    t->id_rank_gen = t->by_id_gen;
    *renewed = true;
    return CACHE_OK;
}

/* Whether record rec is ranked: scored, every key finite, in the id index.
 * The refresher reads rows without the lock (it is their only writer). */
static bool rankable(const cache_scores *t, uint32_t rec, double margin)
{
    if (rec >= t->n || rec >= t->n_id_rank || t->id_rank[rec] == NO_RANK)
        return false;
    const cache_score_row *row = &t->rows[rec];
    if (row->rc != GSL_SUCCESS)
        return false;
    for (int k = 0; k < CACHE_RANK_COUNT; k++)
        if (!isfinite(cache_scores_rank_key(k, row, margin, t->period_days)))
            return false;
    return true;
}

static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->idr > y->idr) - (x->idr < y->idr);
}

static cache_rank *rank_new(const cache_scores *t)
{
    cache_rank *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    atomic_init(&r->refs, 1);
    atomic_init(&r->journal, t->pass_journal);
    r->margin = t->spec.clv.margin;
    r->period_days = t->period_days;
    return r;
}

/* Sorts e[0..n) by key k (and id), and copies the records to out (NULL:
 * nowhere). */
static void sort_key(const cache_scores *t, const cache_rank *r, int k, ent *e, size_t n,
                     uint32_t *out)
{
    for (size_t i = 0; i < n; i++)
        e[i].key = cache_scores_rank_key(k, &t->rows[e[i].rec], r->margin, r->period_days);
    qsort(e, n, sizeof *e, ent_cmp);
    for (size_t i = 0; out != NULL && i < n; i++)
        out[i] = e[i].rec;
}

/* A rank of every row. */
static cache_rank *build_whole(const cache_scores *t)
{
    size_t n = t->n, nr = 0, nx = 0;
    cache_rank *r = rank_new(t);
    ent *e = malloc((n > 0 ? n : 1) * sizeof *e);
    uint32_t *x = malloc((n > 0 ? n : 1) * sizeof *x);
    if (r == NULL || e == NULL || x == NULL)
        goto failed;
    for (uint32_t rec = 0; rec < n; rec++) {
        if (rankable(t, rec, r->margin))
            e[nr++] = (ent){.idr = t->id_rank[rec], .rec = rec};
        else
            x[nx++] = rec;
    }
    for (int k = 0; k < CACHE_RANK_COUNT; k++) {
        if ((r->ord[k] = malloc((nr > 0 ? nr : 1) * sizeof(uint32_t))) == NULL)
            goto failed;
        sort_key(t, r, k, e, nr, r->ord[k]);
    }
    r->n = nr;
    r->extra = x;
    r->n_extra = nx;
    free(e);
    return r;
failed:
    rank_free(r);
    free(e);
    free(x);
    return NULL;
}

/* Whether entry a sorts before (key, idr) of b (the refresher's compare). */
static bool ranked_before(const cache_scores *t, const cache_rank *r, int k, uint32_t rec,
                          const ent *b)
{
    double key = cache_scores_rank_key(k, &t->rows[rec], r->margin, r->period_days);
    if (key != b->key)
        return key < b->key;
    return t->id_rank[rec] < b->idr;
}

/* r->ord[k]: old's order without the marked records, with the ones of
 * e[0..ne) (sorted by key k) put in place. */
static bool merge_key(const cache_scores *t, const cache_rank *old, cache_rank *r, int k,
                      const uint64_t *mark, ent *e, size_t ne)
{
    uint32_t *out = malloc((old->n + ne > 0 ? old->n + ne : 1) * sizeof *out);
    if (out == NULL)
        return false;
    size_t nk = 0; /* the kept ones first, at the end of out */
    uint32_t *kept = out + ne;
    for (size_t i = 0; i < old->n; i++) {
        uint32_t rec = old->ord[k][i];
        if (!(mark[rec / 64] >> (rec % 64) & 1))
            kept[nk++] = rec;
    }
    sort_key(t, r, k, e, ne, NULL);
    size_t o = 0, from = 0;
    for (size_t j = 0; j < ne; j++) {
        size_t lo = from, hi = nk; /* first kept not before e[j] */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ranked_before(t, r, k, kept[mid], &e[j]))
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(out + o, kept + from, (lo - from) * sizeof *out);
        o += lo - from;
        from = lo;
        out[o++] = e[j].rec;
    }
    memmove(out + o, kept + from, (nk - from) * sizeof *out);
    r->ord[k] = out;
    return true;
}

/* A rank from old and the records marked (changed since, or unranked in
 * old and perhaps rankable now). */
static cache_rank *build_merged(const cache_scores *t, const cache_rank *old,
                                const uint64_t *mark)
{
    size_t n = t->n, ne = 0, nx = 0, nm = 0;
    cache_rank *r = rank_new(t);
    for (size_t w = 0; w < (n + 63) / 64; w++)
        nm += (size_t)__builtin_popcountll(mark[w]);
    ent *e = malloc((nm > 0 ? nm : 1) * sizeof *e);
    uint32_t *x = malloc((old->n_extra + nm > 0 ? old->n_extra + nm : 1) * sizeof *x);
    if (r == NULL || e == NULL || x == NULL)
        goto failed;
    for (size_t i = 0; i < old->n_extra; i++) {
        uint32_t rec = old->extra[i];
        if (!(mark[rec / 64] >> (rec % 64) & 1))
            x[nx++] = rec;
    }
    for (size_t w = 0; w < (n + 63) / 64; w++)
        for (uint64_t bits = mark[w]; bits != 0; bits &= bits - 1) {
            uint32_t rec = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
            if (rankable(t, rec, r->margin))
                e[ne++] = (ent){.idr = t->id_rank[rec], .rec = rec};
            else
                x[nx++] = rec;
        }
    for (int k = 0; k < CACHE_RANK_COUNT; k++) {
        if (!merge_key(t, old, r, k, mark, e, ne))
            goto failed;
    }
    r->n = 0;
    for (size_t i = 0; i < old->n; i++) {
        uint32_t rec = old->ord[0][i];
        r->n += !(mark[rec / 64] >> (rec % 64) & 1);
    }
    r->n += ne;
    r->extra = x;
    r->n_extra = nx;
    free(e);
    return r;
failed:
    rank_free(r);
    free(e);
    free(x);
    return NULL;
}

/* The merged rank of old: the rows rescored since, and when the id index
 * was rebuilt the old unranked ones (they may have a place now). */
static cache_rank *merge(cache_scores *t, const cache_rank *old, bool renewed)
{
    size_t n = t->n;
    uint64_t *mark = calloc((n + 63) / 64 + 1, sizeof *mark);
    if (mark == NULL)
        return NULL;
    for (size_t i = 0; i < t->n_changed; i++)
        if (t->changed[i] < n)
            mark[t->changed[i] / 64] |= 1ULL << (t->changed[i] % 64);
    for (size_t i = 0; renewed && i < old->n_extra; i++)
        if (old->extra[i] < n)
            mark[old->extra[i] / 64] |= 1ULL << (old->extra[i] % 64);
    cache_rank *r = build_merged(t, old, mark);
    free(mark);
    return r;
}

int cache_scores_rank(cache_scores *t, cache *c)
{
    (void)c;
    if (!atomic_load(&t->complete))
        return CACHE_OK;
    bool renewed;
    cache_rank *old = t->rank; /* the refresher's own pointer */
    if (id_ranks(t, &renewed) != CACHE_OK)
        goto failed;
    if (old != NULL && !renewed && !t->changed_lost && t->n_changed == 0) {
        /* no row changed since it was built: still right from here on */
        atomic_store(&old->journal, t->pass_journal);
        return CACHE_OK;
    }
    cache_rank *r = old == NULL || t->changed_lost ? build_whole(t) : merge(t, old, renewed);
    if (r == NULL)
        goto failed;
    publish(t, r);
    t->n_changed = 0;
    t->changed_lost = false;
    return CACHE_OK;
failed:
    publish(t, NULL); /* lists pass over everyone until the next one */
    t->n_changed = 0;
    t->changed_lost = true;
    return CACHE_ENOMEM;
}

bool cache_scores_ranked(cache_scores *t)
{
    cache_rank *r = rank_acquire(t);
    rank_release(r);
    return r != NULL;
}

/* ------------------------------------------------------------- walking */

typedef struct walker {
    cache_scores *t;
    cache *c;
    const cache_rank *r;
    int k;
    const uint32_t *ord;
    uint32_t *d; /* records changed since the rank, sorted, unique */
    size_t nd;
    cache_scores_fn fn, other_fn;
    void *arg;
    size_t budget; /* ranked entries still allowed (0: no bound) */
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

/* Calls fn for record rec as cache_scores_scan would. */
static int call(const walker *w, uint32_t rec, const cache_score_row *row, bool has_row,
                cache_scores_fn fn)
{
    cache_summary s;
    const char *id;
    if (!cache_chunk_rec(w->c, rec, &s, &id) || s.n_days == 0)
        return 0;
    if (!has_row || row->rc == ROW_NONE || !cache_scores_same_summary(&row->s, &s))
        row = NULL;
    return fn(id, &s, row, w->arg);
}

static int call_other(const walker *w, uint32_t rec)
{
    cache_score_row row = {0};
    pthread_rwlock_rdlock(&w->t->lock);
    bool has = rec < w->t->n;
    if (has)
        row = w->t->rows[rec];
    pthread_rwlock_unlock(&w->t->lock);
    return call(w, rec, &row, has, w->other_fn);
}

/* The key and id of ord[pos]. */
static void entry(const walker *w, size_t pos, double *key, const char **id)
{
    uint32_t rec = w->ord[pos];
    cache_score_row row = {0};
    pthread_rwlock_rdlock(&w->t->lock);
    row = w->t->rows[rec];
    pthread_rwlock_unlock(&w->t->lock);
    *key = cache_scores_rank_key(w->k, &row, w->r->margin, w->r->period_days);
    cache_summary s;
    *id = "";
    cache_chunk_rec(w->c, rec, &s, id);
}

/* A position p of [lo, hi] such that the unchanged entries before it are
 * not past (key, id) and those from it are: past means after (strict) or
 * not before. id NULL compares keys only. */
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

/* fn for the unchanged entries of [from, to), forward, a slice at a time
 * (their rows under the table's lock, their records under the cache's). */
static int forward(walker *w, size_t from, size_t to)
{
    uint32_t recs[SLICE];
    cache_score_row rows[SLICE];
    cache_summary s[SLICE];
    const char *ids[SLICE];
    while (from < to) {
        size_t k = 0;
        pthread_rwlock_rdlock(&w->t->lock);
        for (; from < to && k < SLICE; from++) {
            uint32_t rec = w->ord[from];
            if (changed(w, rec))
                continue;
            recs[k] = rec;
            rows[k++] = w->t->rows[rec];
        }
        pthread_rwlock_unlock(&w->t->lock);
        cache_chunk_recs(w->c, recs, k, s, ids);
        for (size_t i = 0; i < k; i++) {
            if (ids[i] == NULL || s[i].n_days == 0)
                continue;
            const cache_score_row *row = &rows[i];
            if (!cache_scores_same_summary(&row->s, &s[i]))
                row = NULL;
            if (w->budget > 0 && --w->budget == 0)
                return CACHE_RANK_OVER;
            int rc = w->fn(ids[i], &s[i], row, w->arg);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* The ranked walk, descending: runs of equal keys from the largest down,
 * each run by ascending id. */
static int descending(walker *w, const double *ck, const char *cid)
{
    size_t n = w->r->n, end = n;
    int rc;
    if (ck != NULL) { /* the rest of the cursor's run, then below it */
        size_t p = bound(w, 0, n, *ck, cid, true);
        if ((rc = forward(w, p, bound(w, p, n, *ck, NULL, true))) != 0)
            return rc;
        end = bound(w, 0, p, *ck, NULL, false);
    }
    while (end > 0) {
        size_t j = end;
        while (j > 0 && changed(w, w->ord[j - 1]))
            j--;
        if (j == 0)
            break;
        double key;
        const char *id;
        entry(w, j - 1, &key, &id);
        size_t start = bound(w, 0, j - 1, key, NULL, false);
        if ((rc = forward(w, start, end)) != 0)
            return rc;
        end = start;
    }
    return 0;
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

int cache_scores_walk_rank(cache_scores *t, cache *c, cache_rank_key k, bool desc,
                           const double *cursor_key, const char *cursor_id, size_t budget,
                           cache_scores_fn fn, cache_scores_fn other_fn, void *arg)
{
    if ((int)k < 0 || k >= CACHE_RANK_COUNT)
        return -1;
    cache_rank *r = rank_acquire(t);
    if (r == NULL)
        return -1;
    walker w = {.t = t, .c = c, .r = r, .k = k, .ord = r->ord[k], .fn = fn,
                .other_fn = other_fn, .arg = arg, .budget = budget};
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
    if (rc == 0 && desc)
        rc = descending(&w, cursor_key, cursor_id);
    else if (rc == 0)
        rc = forward(&w, cursor_key != NULL ? bound(&w, 0, r->n, *cursor_key, cursor_id, true)
                                            : 0,
                     r->n);
done:
    free(w.d);
    rank_release(r);
    return rc;
}

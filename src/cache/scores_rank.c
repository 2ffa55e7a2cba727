/* The ranks of the score table (scores.h, "ranks"): building them. For each
 * sort key, the ranked records in (cell, key, id) order, where a record's
 * cell is the caller's classification of its row (the list's filter
 * values), so that a filtered page walks only the cells it asks for.
 *
 * A rank is immutable once published (readers hold it by a reference count
 * and walk it without the table's lock; scores_walk.c). It orders the
 * records whose rows were scored when it was built; a record changed since
 * is named by the cache's change journal from the position the rank keeps
 * (taken before the refresh pass read any record), so a reader offers those
 * customers apart and skips their place in the order, and a page never lags
 * the cache. Ties go by id through the id index (an id's position in it),
 * so sorting compares numbers only.
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

/* A ranked record while sorting. */
typedef struct ent {
    double key;
    uint32_t idr; /* the id's position in the id index */
    uint32_t rec;
    uint8_t cell;
} ent;

/* How the refresher classifies rows while building. */
typedef struct classify {
    cache_rank_cell_fn fn;
    void *arg;
} classify;

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
    free(r->cell);
    free(r->print);
    free(r->extra);
    free(r->ltv);
    free(r);
}

void cache_scores_rank_release(cache_rank *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1)
        rank_free(r);
}

cache_rank *cache_scores_rank_acquire(cache_scores *t)
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
    cache_scores_rank_release(old);
}

void cache_scores_rank_free(cache_scores *t)
{
    cache_scores_rank_release(t->rank);
    t->rank = NULL;
    free(t->changed);
    free(t->id_rank);
}

size_t cache_scores_rank_memory(cache_scores *t)
{
    size_t b = 0; /* the published rank (the refresher's own arrays are its) */
    cache_rank *r = cache_scores_rank_acquire(t);
    if (r != NULL)
        b = (CACHE_RANK_COUNT * r->n + r->n_extra) * sizeof(uint32_t) +
            r->n_cell * (1 + sizeof *r->print) + r->n_ltv * sizeof *r->ltv;
    cache_scores_rank_release(r);
    return b;
}

bool cache_scores_ranked(cache_scores *t)
{
    cache_rank *r = cache_scores_rank_acquire(t);
    cache_scores_rank_release(r);
    return r != NULL;
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

/* The cell of record rec when it is ranked (scored, every key finite, in
 * the id index, a cell of its own), else CACHE_CELL_NONE. The refresher reads
 * rows without the lock (it is their only writer). */
static uint8_t cell_of(const cache_scores *t, uint32_t rec, double margin,
                       const classify *cl)
{
    if (rec >= t->n || rec >= t->n_id_rank || t->id_rank[rec] == NO_RANK)
        return CACHE_CELL_NONE;
    const cache_score_row *row = &t->rows[rec];
    if (row->rc != GSL_SUCCESS)
        return CACHE_CELL_NONE;
    for (int k = 0; k < CACHE_RANK_COUNT; k++)
        if (!isfinite(cache_scores_rank_key(k, row, margin, t->period_days)))
            return CACHE_CELL_NONE;
    int cell = cl->fn(row, cl->arg);
    return cell >= 0 && cell < CACHE_RANK_CELLS ? (uint8_t)cell : CACHE_CELL_NONE;
}

static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->cell != y->cell)
        return x->cell < y->cell ? -1 : 1;
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
    r->n_cell = t->n;
    r->cell = malloc(r->n_cell > 0 ? r->n_cell : 1);
    r->print = malloc((r->n_cell > 0 ? r->n_cell : 1) * sizeof *r->print);
    if (r->cell == NULL || r->print == NULL) {
        rank_free(r);
        return NULL;
    }
    return r;
}

/* Sorts e[0..n) by (cell, key k, id), and copies the records to out (NULL:
 * nowhere). */
static void sort_key(const cache_scores *t, const cache_rank *r, int k, ent *e, size_t n,
                     uint32_t *out)
{
    for (size_t i = 0; i < n; i++)
        e[i].key =
            cache_scores_rank_key(k, &t->rows[e[i].rec], r->margin, r->period_days);
    qsort(e, n, sizeof *e, ent_cmp);
    for (size_t i = 0; out != NULL && i < n; i++)
        out[i] = e[i].rec;
}

/* r->off from the cells of e[0..n) (sorted by cell). */
static void offsets(cache_rank *r, const ent *e, size_t n)
{
    size_t count[CACHE_RANK_CELLS] = {0};
    for (size_t i = 0; i < n; i++)
        count[e[i].cell]++;
    r->off[0] = 0;
    for (int j = 0; j < CACHE_RANK_CELLS; j++)
        r->off[j + 1] = r->off[j] + count[j];
    r->n = n;
}

/* A rank of every row. */
static cache_rank *build_whole(const cache_scores *t, const classify *cl)
{
    size_t n = t->n, nr = 0, nx = 0;
    cache_rank *r = rank_new(t);
    ent *e = malloc((n > 0 ? n : 1) * sizeof *e);
    uint32_t *x = malloc((n > 0 ? n : 1) * sizeof *x);
    if (r == NULL || e == NULL || x == NULL)
        goto failed;
    for (uint32_t rec = 0; rec < n; rec++) {
        uint8_t cell = r->cell[rec] = cell_of(t, rec, r->margin, cl);
        r->print[rec] =
            t->rows[rec].rc != CACHE_ROW_NONE ? cache_scores_print(&t->rows[rec].s) : 0;
        if (cell != CACHE_CELL_NONE)
            e[nr++] = (ent){.idr = t->id_rank[rec], .rec = rec, .cell = cell};
        else
            x[nx++] = rec;
    }
    for (int k = 0; k < CACHE_RANK_COUNT; k++) {
        if ((r->ord[k] = malloc((nr > 0 ? nr : 1) * sizeof(uint32_t))) == NULL)
            goto failed;
        sort_key(t, r, k, e, nr, r->ord[k]);
    }
    offsets(r, e, nr);
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

static bool marked(const uint64_t *mark, uint32_t rec)
{
    return mark[rec / 64] >> (rec % 64) & 1;
}

/* Whether record rec (in the same cell) sorts before e by key k. */
static bool ranked_before(const cache_scores *t, const cache_rank *r, int k, uint32_t rec,
                          const ent *e)
{
    double key = cache_scores_rank_key(k, &t->rows[rec], r->margin, r->period_days);
    if (key != e->key)
        return key < e->key;
    return t->id_rank[rec] < e->idr;
}

/* r->ord[k]: old's order without the marked records, with e[0..ne)
 * (sorted by cell, key k, id) put in place, cell by cell. kept has room
 * for old->n. */
static bool merge_key(const cache_scores *t, const cache_rank *old, cache_rank *r, int k,
                      const uint64_t *mark, const ent *e, size_t ne, uint32_t *kept)
{
    uint32_t *out = malloc((r->n > 0 ? r->n : 1) * sizeof *out);
    if (out == NULL)
        return false;
    size_t o = 0, ej = 0;
    for (int j = 0; j < CACHE_RANK_CELLS; j++) {
        size_t nk = 0;
        for (size_t i = old->off[j]; i < old->off[j + 1]; i++)
            if (!marked(mark, old->ord[k][i]))
                kept[nk++] = old->ord[k][i];
        size_t from = 0;
        for (; ej < ne && e[ej].cell == j; ej++) {
            size_t lo = from, hi = nk; /* the first kept not before e[ej] */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ranked_before(t, r, k, kept[mid], &e[ej]))
                    lo = mid + 1;
                else
                    hi = mid;
            }
            memcpy(out + o, kept + from, (lo - from) * sizeof *out);
            o += lo - from;
            from = lo;
            out[o++] = e[ej].rec;
        }
        memcpy(out + o, kept + from, (nk - from) * sizeof *out);
        o += nk - from;
    }
    r->ord[k] = out;
    return true;
}

/* Files the marked records of r: ranked ones into e (*ne) and count, the
 * others into x (*nx); their cells and prints. */
static void file_marked(const cache_scores *t, cache_rank *r, const uint64_t *mark,
                        const classify *cl, ent *e, size_t *ne, uint32_t *x, size_t *nx,
                        size_t count[CACHE_RANK_CELLS])
{
    for (size_t w = 0; w < (t->n + 63) / 64; w++)
        for (uint64_t bits = mark[w]; bits != 0; bits &= bits - 1) {
            uint32_t rec = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
            uint8_t cell = r->cell[rec] = cell_of(t, rec, r->margin, cl);
            r->print[rec] = t->rows[rec].rc != CACHE_ROW_NONE
                                ? cache_scores_print(&t->rows[rec].s)
                                : 0;
            if (cell != CACHE_CELL_NONE) {
                e[(*ne)++] = (ent){.idr = t->id_rank[rec], .rec = rec, .cell = cell};
                count[cell]++;
            } else {
                x[(*nx)++] = rec;
            }
        }
}

/* A rank from old and the records marked (changed since, or unranked in
 * old and perhaps rankable now). */
static cache_rank *build_merged(const cache_scores *t, const cache_rank *old,
                                const uint64_t *mark, const classify *cl)
{
    size_t n = t->n, ne = 0, nx = 0, nm = 0;
    cache_rank *r = rank_new(t);
    for (size_t w = 0; w < (n + 63) / 64; w++)
        nm += (size_t)__builtin_popcountll(mark[w]);
    ent *e = malloc((nm > 0 ? nm : 1) * sizeof *e);
    uint32_t *x = malloc((old->n_extra + nm > 0 ? old->n_extra + nm : 1) * sizeof *x);
    uint32_t *kept = malloc((old->n > 0 ? old->n : 1) * sizeof *kept);
    if (r == NULL || e == NULL || x == NULL || kept == NULL)
        goto failed;
    /* the unmarked keep their cells; records past old's are all marked */
    size_t keep = old->n_cell < n ? old->n_cell : n;
    memcpy(r->cell, old->cell, keep);
    memcpy(r->print, old->print, keep * sizeof *r->print);
    for (size_t i = 0; i < old->n_extra; i++)
        if (!marked(mark, old->extra[i]))
            x[nx++] = old->extra[i];
    size_t count[CACHE_RANK_CELLS] = {0};
    for (int j = 0; j < CACHE_RANK_CELLS; j++)
        for (size_t i = old->off[j]; i < old->off[j + 1]; i++)
            count[j] += !marked(mark, old->ord[0][i]);
    file_marked(t, r, mark, cl, e, &ne, x, &nx, count);
    r->off[0] = 0;
    for (int j = 0; j < CACHE_RANK_CELLS; j++)
        r->off[j + 1] = r->off[j] + count[j];
    r->n = r->off[CACHE_RANK_CELLS];
    for (int k = 0; k < CACHE_RANK_COUNT; k++) {
        sort_key(t, r, k, e, ne, NULL);
        if (!merge_key(t, old, r, k, mark, e, ne, kept))
            goto failed;
    }
    r->extra = x;
    r->n_extra = nx;
    free(e);
    free(kept);
    return r;
failed:
    rank_free(r);
    free(e);
    free(x);
    free(kept);
    return NULL;
}

/* The merged rank of old: the rows rescored since, and when the id index
 * was rebuilt the old unranked ones (they may have a place now). */
static cache_rank *merge(cache_scores *t, const cache_rank *old, bool renewed,
                         const classify *cl)
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
    for (size_t rec = old->n_cell; rec < n; rec++) /* new since: never looked at */
        mark[rec / 64] |= 1ULL << (rec % 64);
    cache_rank *r = build_merged(t, old, mark, cl);
    free(mark);
    return r;
}

int cache_scores_rank(cache_scores *t, cache_rank_cell_fn cell, void *arg)
{
    if (!atomic_load(&t->complete))
        return CACHE_OK;
    classify cl = {cell, arg};
    bool renewed;
    cache_rank *old = t->rank; /* the refresher's own pointer */
    if (id_ranks(t, &renewed) != CACHE_OK)
        goto failed;
    if (old != NULL && !renewed && !t->changed_lost && t->n_changed == 0 &&
        old->n_cell == t->n) {
        /* no row changed since it was built: still right from here on */
        atomic_store(&old->journal, t->pass_journal);
        return CACHE_OK;
    }
    cache_rank *r = old == NULL || t->changed_lost ? build_whole(t, &cl)
                                                   : merge(t, old, renewed, &cl);
    if (r == NULL)
        goto failed;
    (void)cache_scores_ltv_sample(t, r); /* without it only percentiles are missing */
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

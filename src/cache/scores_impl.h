/* Internal to src/cache: the score table's state, shared by scores.c (the
 * rows, the refresher, the id index) and scores_rank.c (the ranks); the
 * history helpers also serve score_memo.c. */
#ifndef LTVD_CACHE_SCORES_IMPL_H
#define LTVD_CACHE_SCORES_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "cache/scores.h"

#define CACHE_ROW_NONE INT32_MIN /* a row never scored */

/* The purchase model's numbers of one history (x, t_x, T): customers who
 * share it share them, so each is computed once per table (a real customer
 * base has far fewer histories than customers). */
typedef struct cache_history {
    uint32_t n_days;
    int32_t span, age; /* last - first day, as_of - first day */
    int32_t rc;        /* GSL_SUCCESS or the first failure */
    bool used;
    double p_alive, expected, p_purchase, discounted;
} cache_history;

/* The history of s at sp's day (sp->as_of_day >= s->last_day), scored. */
void cache_history_score(const cache_model *m, const cache_scores_spec *sp,
                         const cache_summary *s, cache_history *h);
/* The row of s from its history's numbers (the spend model applied). */
void cache_history_row(const cache_model *m, const cache_summary *s,
                       const cache_history *h, cache_score_row *row);

struct cache_scores {
    pthread_rwlock_t lock;
    uint32_t *by_id; /* record indices in id order, under lock */
    size_t n_by_id;
    uint64_t by_id_gen;  /* bumped each time by_id is replaced */
    cache_history *memo; /* open addressing, refresher only */
    size_t memo_n, memo_mask;
    cache_scores_spec spec;
    cache_score_row *rows; /* rows[0..n) under lock */
    size_t n, cap;
    atomic_bool complete;
    uint64_t generation; /* the cache's at the last complete pass (refresher) */
    /* The ranks (scores_rank.c): the published one, under lock (the
     * pointer; a rank itself never changes), and what the refresher keeps
     * to build the next one. */
    struct cache_rank *rank;
    uint64_t pass_journal; /* journal position when the last complete pass began */
    uint32_t *changed;     /* records rescored since the rank was built */
    size_t n_changed, cap_changed;
    bool changed_lost; /* out of memory: the next rank is built whole */
    uint32_t *id_rank; /* record -> position in by_id (n_id_rank of them) */
    size_t n_id_rank;
    uint64_t id_rank_gen; /* by_id_gen id_rank was made from */
    double period_days;   /* of the model the rows were scored with */
};

/* A rank (scores_rank.c): immutable once published; readers hold it by
 * its reference count. For each key, the ranked records ordered by cell
 * (the caller's classification of a row, e.g. its filter values), then
 * key, then id: cell j of key k is ord[k][off[j] .. off[j + 1]). */
typedef struct cache_rank {
    atomic_int refs;
    _Atomic uint64_t journal; /* changes from here on are not in the order */
    uint32_t *ord[CACHE_RANK_COUNT];
    size_t off[CACHE_RANK_CELLS + 1];
    size_t n;        /* ranked records (off[CACHE_RANK_CELLS]) */
    uint8_t *cell;   /* cell of each record [0, n_cell), CACHE_CELL_NONE when unranked */
    uint64_t *print; /* of each ranked record: cache_scores_print of the
                        summary its row had (a row rewritten since, or a
                        customer changed since, is not where the order says) */
    size_t n_cell;
    uint32_t *extra; /* records not ranked (readers skip those of n_days 0) */
    size_t n_extra;
    double margin, period_days;
    /* A sorted sample of the predicted LTV of the table's scored rows when
     * the rank was built (all of them up to CACHE_LTV_SAMPLE, else every
     * n / CACHE_LTV_SAMPLE-th in record order), for percentiles
     * (scores_pct.c); NULL: none. */
    double *ltv;
    size_t n_ltv;
} cache_rank;

/* Most values in a rank's LTV sample (512 KiB). */
#define CACHE_LTV_SAMPLE 65536

/* Fills r->ltv from t's rows (refresher only, before publishing r). False
 * when out of memory (r then has no sample: percentiles are unknown). */
bool cache_scores_ltv_sample(const cache_scores *t, cache_rank *r);

#define CACHE_CELL_NONE 0xFF

/* Takes a reference to t's published rank (NULL: none) / drops one. */
cache_rank *cache_scores_rank_acquire(cache_scores *t);
void cache_scores_rank_release(cache_rank *r);

/* A growing set of record indices (a walk's seen or late records). */
typedef struct cache_recs {
    uint32_t *v;
    size_t n, cap;
} cache_recs;

/* Orders record indices (qsort, bsearch). */
int cache_rec_cmp(const void *a, const void *b);

/* Adds rec to s; false when out of memory (s unchanged). */
bool cache_recs_add(cache_recs *s, uint32_t rec);

/* Sorts s, for cache_recs_has. */
void cache_recs_sort(cache_recs *s);

/* Whether sorted s (NULL: empty) holds rec. */
bool cache_recs_has(const cache_recs *s, uint32_t rec);

/* A 64-bit fingerprint of a summary. */
uint64_t cache_scores_print(const cache_summary *s);

/* Whether two summaries are equal (a row is fresh when its summary is the
 * customer's current one). */
bool cache_scores_same_summary(const cache_summary *a, const cache_summary *b);

/* Frees the rank state of t (scores_rank.c; t is being freed). */
void cache_scores_rank_free(cache_scores *t);

/* Bytes held by t's ranks and their helpers. */
size_t cache_scores_rank_memory(cache_scores *t);

/* Notes that the refresher rewrote the rows of records idx[0..n). */
void cache_scores_rank_note(cache_scores *t, const size_t *idx, size_t n);

#endif

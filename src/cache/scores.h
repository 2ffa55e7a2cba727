/* The score table: every cached customer's scores for one model snapshot,
 * one as_of day and one set of scoring options, kept so that a list page is
 * a scan of stored numbers instead of scoring every customer (docs/lists.md).
 *
 * Rows are indexed like the cache's records. Each row keeps the summary it
 * was scored from; a reader compares it with the current summary and takes
 * the row only when they are equal, so a row never serves a stale score: a
 * customer whose summary changed since (or who is new) is reported without
 * a row, and the reader scores it itself. One refresher (cache_scores_refresh)
 * rescores changed customers in the background; the snapshot, the day and
 * the options never change within a table: a new table replaces it.
 *
 * Readers (cache_scores_scan) and the one refresher may run at once: rows
 * are read and written in chunks under a writer-preferring rwlock. */
#ifndef LTVD_CACHE_SCORES_H
#define LTVD_CACHE_SCORES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "model/clv.h"

/* What a table's scores are computed for. */
typedef struct cache_scores_spec {
    uint64_t model_version; /* the snapshot's version */
    int64_t as_of_day;
    long horizon_days;    /* expected purchases and CLV over this many days */
    double discount_rate; /* the CLV's monthly discount */
    double horizon;       /* horizon_days in model periods */
    double p_horizon;     /* cache_score_summary's p_horizon */
    clv_options clv;      /* months, discount, M (margin: unused, see below) */
    uint64_t cells;       /* a digest of what the rank cells depend on (the
                             caller's settings): equal when they rank alike */
} cache_scores_spec;

/* One customer's stored scores. predicted_ltv with margin g is
 * (g * spend) * discounted, exactly what clv_value computes. */
typedef struct cache_score_row {
    cache_summary s; /* the summary these scores are of */
    int32_t rc;      /* GSL_SUCCESS, or why the customer cannot be scored */
    double p_alive;
    double expected;   /* purchases over horizon */
    double p_purchase; /* P(a purchase) over p_horizon */
    double spend;      /* expected spend per purchase; 0 without a spend model */
    double discounted; /* clv_discounted_purchases; 0 without a spend model */
} cache_score_row;

typedef struct cache_scores cache_scores;

/* A new empty table for spec (copied). NULL when out of memory. */
cache_scores *cache_scores_new(const cache_scores_spec *spec);

/* Frees t. No reader or refresher may be using it. NULL is fine. */
void cache_scores_free(cache_scores *t);

/* The spec of t (immutable). */
const cache_scores_spec *cache_scores_spec_of(const cache_scores *t);

/* True once one refresh pass went over every customer. */
bool cache_scores_complete(cache_scores *t);

/* Scores with m (whose version is the spec's) every customer of c whose row
 * is missing or stale, and stores the rows. One refresher at a time. Stops
 * early when *stop becomes true. Skips the pass when the cache did not
 * change since the last complete one. Returns 0 (done), 1 (stopped) or
 * CACHE_ENOMEM; *n_scored (may be NULL) counts the customers scored. */
int cache_scores_refresh(cache_scores *t, cache *c, const cache_model *m,
                         const atomic_bool *stop, size_t *n_scored);

/* Called for every customer (n_days > 0) in record order. row is the
 * customer's row when it is fresh (its summary equals *s), else NULL. id
 * is the cache's own copy (cache_id_ref). row is valid during the call only.
 * Return 0 to go on, anything else to stop. */
typedef int (*cache_scores_fn)(const char *id, const cache_summary *s,
                               const cache_score_row *row, void *arg);

/* Calls fn for every customer of c with t's rows (t NULL: every row NULL).
 * Returns 0, fn's nonzero value when it stopped the scan, or CACHE_ENOMEM. */
int cache_scores_scan(cache_scores *t, cache *c, cache_scores_fn fn, void *arg);

/* As cache_scores_fn, with the customer's attributes (read with its summary,
 * under the same lock). */
typedef int (*cache_scores_attrs_fn)(const char *id, const cache_summary *s,
                                     cache_attrs a, const cache_score_row *row,
                                     void *arg);

/* cache_scores_scan with each customer's attributes: one read of the
 * records for what needs both (the acquisition pass). */
int cache_scores_scan_attrs(cache_scores *t, cache *c, cache_scores_attrs_fn fn,
                            void *arg);

/* Keeps t's index of customer ids (the records in id order) no more than
 * max(256, N/4096) customers behind, merging the new ids into it
 * (refresher only; after a complete refresh). Returns CACHE_OK or
 * CACHE_ENOMEM (the old index stays). */
int cache_scores_index_ids(cache_scores *t, cache *c);

/* Calls fn, as cache_scores_scan does, for the customers of t's id index in
 * id order (descending when desc) strictly after `after` (NULL: from the
 * first), until fn returns nonzero; then tail_fn for every customer not in
 * the index yet, in record order, until it returns nonzero. Returns 0,
 * tail_fn's nonzero value, or CACHE_ENOMEM; -1 (nothing called) when t has
 * no index. */
int cache_scores_walk_ids(cache_scores *t, cache *c, bool desc, const char *after,
                          cache_scores_fn fn, cache_scores_fn tail_fn, void *arg);

/* ------------------------------------------------------------------ ranks
 *
 * The customers ordered by each score a list can sort by (scores_rank.c),
 * so that a page walks from its cursor instead of passing over everyone:
 * O(limit + log N) plus the customers changed since the rank was built
 * (the cache's change journal names them) and the unranked ones (scores
 * that cannot be computed, customers not yet in the id index). */

/* The sort keys a rank exists for, each computed from a row exactly as
 * cache_scores_rank_key does. */
typedef enum cache_rank_key {
    CACHE_RANK_P_ALIVE,
    CACHE_RANK_EXPECTED,
    CACHE_RANK_LTV, /* margin * spend * discounted, with the spec's margin */
    CACHE_RANK_SPEND,
    CACHE_RANK_FREQUENCY,     /* n_days - 1 */
    CACHE_RANK_RECENCY,       /* (last - first day) / period_days */
    CACHE_RANK_LAST_PURCHASE, /* last_day */
    CACHE_RANK_COUNT
} cache_rank_key;

/* The key k of a row scored with a model of period_days and the margin
 * margin (the LTV's; the other keys ignore it). */
double cache_scores_rank_key(cache_rank_key k, const cache_score_row *row, double margin,
                             double period_days);

/* Ranks are split in cells: the caller's classification of a row (e.g.
 * its filter values), so that a walk reads only the cells it asks for. */
#define CACHE_RANK_CELLS 16

/* The cell of a scored row, 0 .. CACHE_RANK_CELLS - 1; anything else
 * leaves the row unranked. It must depend on the row alone. */
typedef int (*cache_rank_cell_fn)(const cache_score_row *row, void *arg);

/* Brings t's ranks up to date with its rows (refresher only, after a
 * complete cache_scores_refresh and cache_scores_index_ids): merges the
 * rows rescored since the last rank into it, or sorts every row when there
 * is none or many changed; cell(row, arg) classifies them (the same
 * function for every call on one table). Returns CACHE_OK or CACHE_ENOMEM
 * (no rank is published then: lists pass over every customer). */
int cache_scores_rank(cache_scores *t, cache_rank_cell_fn cell, void *arg);

/* Whether t has a published rank. */
bool cache_scores_ranked(cache_scores *t);

/* Calls other_fn, as cache_scores_scan calls fn, for every customer the
 * rank of k does not order (changed since it was built, or unranked), then
 * fn for the ranked customers of the cells in the mask `cells` (bit j:
 * cell j) strictly after the cursor (key, id) (none: from the first) in
 * list order: ascending key, or descending when desc, equal keys by
 * ascending id, until one returns nonzero. Returns 0, the nonzero value,
 * or CACHE_ENOMEM; -1 (nothing called) when t has no rank or the journal
 * no longer holds every change since it. */
int cache_scores_walk_rank(cache_scores *t, cache *c, cache_rank_key k, uint32_t cells,
                           bool desc, const double *cursor_key, const char *cursor_id,
                           cache_scores_fn fn, cache_scores_fn other_fn, void *arg);

/* The customers of each cell of t's rank: the ranked ones in counts (those
 * changed since the rank was built taken out), then other_fn, as in
 * cache_scores_walk_rank, for every customer the rank does not order, for
 * the caller to count. O(cells + changed + unranked). Returns 0, other_fn's
 * nonzero value, or -1 (nothing counted) as cache_scores_walk_rank. */
int cache_scores_rank_counts(cache_scores *t, cache *c, size_t counts[CACHE_RANK_CELLS],
                             cache_scores_fn other_fn, void *arg);

/* The percentile of predicted LTV `ltv` among t's customers: 100 times
 * the share of t's scored customers when its rank was last built (a
 * sample of 65536 of them past that many) whose predicted LTV
 * (cache_scores_rank_key's, the spec's margin) is strictly lower, in *pct
 * (0 <= *pct < 100). False when t has
 * no published rank (or no sample: out of memory) or ltv is not finite.
 * O(log 65536), no allocation (scores_pct.c). */
bool cache_scores_ltv_percentile(cache_scores *t, double ltv, double *pct);

/* Bytes held by t's rows. */
size_t cache_scores_memory(cache_scores *t);

#endif

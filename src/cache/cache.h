/* The in-memory cache of the service: one compact record per customer (the
 * summary numbers, never the transactions) keyed by the customer id, and the
 * current model snapshot, safe under many readers and one writer.
 *
 * Customer table (cache.c). Records are 40 bytes in one array, appended in
 * insertion order and never removed; ids live NUL-terminated in an arena of
 * 1 MiB blocks that never move; the hash table is open addressing (linear
 * probing) over 8-byte slots holding a 32-bit hash tag and the record index.
 * One pthread rwlock with writer preference guards it: readers copy records
 * out under the read side; the single writer mutates under the write side
 * and does its slow work (growing the arrays, rehashing) before taking it,
 * so the write side is held only to apply records and swap pointers.
 *
 * Model snapshot (cache_model.c). An immutable cache_model, swapped as a
 * whole; each holder keeps a C11 atomic reference count (see
 * cache_snapshot_acquire for why the count is taken under a tiny lock).
 *
 * Exactly one thread may call the writer functions (cache_upsert,
 * cache_upsert_many, cache_reserve); any number may call the others. */
#ifndef LTVD_CACHE_CACHE_H
#define LTVD_CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/btyd.h"
#include "model/clv.h"
#include "model/fit.h"

/* Longest customer id, in bytes (without the NUL). */
#define CACHE_ID_MAX 256

/* Results of the table functions. */
enum {
    CACHE_OK = 0,
    CACHE_NOT_FOUND = 1,
    CACHE_EINVAL = -1, /* bad id (empty, too long) or summary */
    CACHE_ENOMEM = -2,
    CACHE_EFULL = -3, /* 2^32 - 2 customers or 4 GiB of ids */
};

/* Results of cache_score besides GSL's codes (all GSL codes are < 1000). */
enum {
    CACHE_SCORE_UNKNOWN = 1001,     /* no such customer */
    CACHE_SCORE_NOT_YET = 1002,     /* first purchase after as_of: not yet a customer */
    CACHE_SCORE_NO_MODEL = 1003,    /* no snapshot set yet */
    CACHE_SCORE_AS_OF_EARLY = 1004, /* as_of before the last purchase: the
                                       summary cannot be cut back in time */
};

/* Amounts are integers of 1/CACHE_AMOUNT_UNITS of the currency (the
 * scale PostgreSQL stores them with), so a summary kept up to date by
 * adding each batch's amounts is exactly the one rebuilt from the database. */
#define CACHE_AMOUNT_UNITS 10000

/* A customer's summary. Days are UTC day numbers since 1970-01-01. Valid
 * when first_day <= last_day, n_days <= last - first + 1, last - first <=
 * 65535 (179 years: the table keeps the span and n_days in 16 bits), and
 * both amounts are >= 0. n_days 0 is a record still waiting for its first day's delta
 * (cache_summary_add_day): the table keeps it but cache_get and
 * cache_foreach do not show it. */
typedef struct cache_summary {
    int32_t first_day;
    int32_t last_day;
    uint32_t n_days;      /* distinct purchase days: x = n_days - 1 */
    int64_t repeat_units; /* total on the days after first_day */
    int64_t first_units;  /* total on first_day (for cache_summary_add_day) */
    /* Bit k set when the customer bought at least once in calendar month
     * (UTC) month(first_day) + k, for k < 64; later months are not kept.
     * Bit 0 is set in every summary with n_days > 0 built from days. */
    uint64_t month_bits;
} cache_summary;

/* The bit of month_bits that `day` sets in a summary starting on
 * first_day: 1 << (month(day) - month(first_day)), or 0 when day is before
 * first_day's month or 64 months or more after it. */
uint64_t cache_month_bit(int32_t first_day, int32_t day);

/* The repeat total in currency units (what the models use). */
static inline double cache_repeat_amount(const cache_summary *s)
{
    return (double)s->repeat_units / CACHE_AMOUNT_UNITS;
}

/* Adds to *s what a batch added to one of the customer's days (summary.c):
 * `units` more on `day`, which held no purchase before when new_day. When
 * *exists is false, *s starts from this day (and *exists becomes true).
 * month_bits gains day's month; a day before first_day's month shifts the
 * bits up (the months that fall past bit 63 are dropped).
 * Amounts saturate at INT64_MAX. Adding the deltas of a customer's batches
 * in any order gives the same summary, the one of all their days; only a day
 * counts in n_days through its new_day delta, so a record made by a later
 * batch's delta on that day, arriving first, has n_days 0 until it does. */
void cache_summary_add_day(cache_summary *s, bool *exists, int32_t day, bool new_day,
                           int64_t units);

/* ---------------------------------------------- acquisition attributes */

/* A customer's acquisition channel and campaign (first touch, issue 11),
 * held per record as indices into two dictionaries of the cache (one of
 * channels, one of campaigns), each string given its index the first time
 * the cache sees it and keeping it for the cache's lifetime. */
#define CACHE_ATTR_NONE 0         /* unknown: no value */
#define CACHE_ATTR_OVERFLOW 65535 /* a value past the dictionary's 65534th */
#define CACHE_ATTR_MAX 128        /* longest value, in bytes */

typedef struct cache_attrs {
    uint16_t channel;  /* index into cache_channel_names */
    uint16_t campaign; /* index into cache_campaign_names */
} cache_attrs;

/* One entry of a batch. id, channel and campaign are borrowed. When
 * set_attrs, channel and campaign (NULL: unknown) replace the record's;
 * otherwise the record keeps its own (a new record: unknown). */
typedef struct cache_entry {
    const char *id;
    cache_summary s;
    bool set_attrs;
    const char *channel;
    const char *campaign;
} cache_entry;

typedef struct cache cache;

/* ------------------------------------------------------------------ table */

/* A new empty cache sized for about `expected` customers (0: small). Returns
 * NULL when out of memory. Free with cache_free. */
cache *cache_new(size_t expected);

/* Frees the cache and its reference to the snapshot. Snapshots acquired by
 * readers stay valid until they release them. NULL is fine. */
void cache_free(cache *c);

/* Inserts or replaces the summary of `id` (writer only). Returns CACHE_OK,
 * CACHE_EINVAL (id empty or longer than CACHE_ID_MAX, or invalid summary),
 * CACHE_ENOMEM or CACHE_EFULL; on error nothing changed. */
int cache_upsert(cache *c, const char *id, const cache_summary *s)
    __attribute__((warn_unused_result));

/* Applies e[0..n) (a committed batch) atomically with respect to readers:
 * a reader sees all of it or none of it (writer only). Every entry is checked
 * and all memory reserved before anything is applied, so on error (same codes
 * as cache_upsert) nothing changed. When an id repeats, the last entry wins.
 * The write lock is held for the whole batch: keep batches to the size of an
 * API batch (thousands), not a whole import. */
int cache_upsert_many(cache *c, const cache_entry *e, size_t n)
    __attribute__((warn_unused_result));

/* Makes room for `n` more customers with `id_bytes` bytes of ids in all, so
 * a bulk load does not regrow (writer only). CACHE_OK, CACHE_ENOMEM or
 * CACHE_EFULL. */
int cache_reserve(cache *c, size_t n, size_t id_bytes)
    __attribute__((warn_unused_result));

/* Copies the summary of `id` to *out. CACHE_OK or CACHE_NOT_FOUND. */
int cache_get(cache *c, const char *id, cache_summary *out);

/* Looks ids[0..n) up under one read lock, so the results come from one state
 * of the table (never part of a batch). found[i] says whether out[i] was
 * written. Returns the number found. Records with n_days 0 are included:
 * this is the writer's view. */
size_t cache_get_many(cache *c, const char *const *ids, size_t n, cache_summary *out,
                      bool *found);

/* Number of customers. */
size_t cache_count(cache *c);

/* Bytes held by the table (records, slots, id arena, the struct itself). */
size_t cache_memory(cache *c);

/* Called once per customer; id and s are valid during the call only. Return
 * 0 to go on, anything else to stop. */
typedef int (*cache_foreach_fn)(const char *id, const cache_summary *s, void *arg);

/* Calls fn for every customer in insertion order. Records are copied out in
 * chunks of a few thousand under the read lock and fn runs with no lock
 * held, so fn may be slow (or use the cache) without blocking the writer.
 * Each record is seen whole, and every customer present when the call
 * started is seen once; but chunks are copied at different moments, so
 * records of different chunks may come from different batches, and customers
 * added meanwhile may or may not be seen. Returns 0 when done, 1 when fn
 * stopped the walk, CACHE_ENOMEM. */
int cache_foreach(cache *c, cache_foreach_fn fn, void *arg);

/* Copies the summaries of records [from, from + max) (insertion order)
 * into s and the cache's own copies of their ids into ids (valid,
 * unchanged, for the cache's lifetime, as cache_id_ref's), under one read
 * lock. Records with n_days 0 (hidden: a first day in flight, or an erased
 * customer) are included: the caller skips them. Returns how many (0 past
 * the end). For a walk that holds no lock between its steps (an export):
 * a record keeps its index for the cache's lifetime. */
size_t cache_records(cache *c, size_t from, size_t max, cache_summary *s,
                     const char **ids);

/* Sets the acquisition attributes of `id` (NULL: unknown) without touching
 * its summary (writer only). CACHE_OK, CACHE_NOT_FOUND (no record, not
 * even a hidden one), CACHE_EINVAL (a value empty or longer than
 * CACHE_ATTR_MAX), CACHE_ENOMEM; on error nothing changed. */
int cache_set_attrs(cache *c, const char *id, const char *channel, const char *campaign)
    __attribute__((warn_unused_result));

/* The acquisition attributes of `id` as the cache's own strings (valid,
 * unchanged, for the cache's lifetime; NULL: unknown, or a value past the
 * dictionary's capacity). CACHE_OK or CACHE_NOT_FOUND (also for a hidden
 * record: n_days 0). */
int cache_get_attrs(cache *c, const char *id, const char **channel,
                    const char **campaign);

/* The channel dictionary: copies the first min(n, max) names, names[i]
 * the string of index i (names[0], CACHE_ATTR_NONE, is NULL), each valid
 * and unchanged for the cache's lifetime, and returns n, the number of
 * indices in use (at least 1). Indices never change meaning; new ones are
 * appended. CACHE_ATTR_OVERFLOW is never among them (it has no name). */
size_t cache_channel_names(cache *c, const char **names, size_t max);

/* The campaign dictionary, as cache_channel_names. */
size_t cache_campaign_names(cache *c, const char **names, size_t max);

/* As cache_records, with the records' attributes into a[0..) as well
 * (ids may be NULL when not wanted). One read lock: summaries and
 * attributes of a record come from the same state. */
size_t cache_records_attrs(cache *c, size_t from, size_t max, cache_summary *s,
                           cache_attrs *a, const char **ids);

/* A counter that changes whenever a batch is applied: equal values mean no
 * summary changed in between (the score table's refresher skips a pass). */
uint64_t cache_generation(cache *c);

/* The cache's own copy of id (valid, unchanged, for the cache's lifetime),
 * or NULL when id is not in the table. */
const char *cache_id_ref(cache *c, const char *id);

/* --------------------------------------------------------- model snapshot */

/* A fitted model, immutable once set. */
typedef struct cache_model {
    const btyd_model *model; /* a static model table (btyd.h) */
    double params[BTYD_MAX_PARAMS];
    fit_result fit;      /* the purchase model's fit */
    bool has_spend;      /* Gamma-Gamma fitted */
    double gg_params[3]; /* p, q, v when has_spend */
    fit_result gg_fit;
    double period_days; /* 1 (day) or 7 (week) */
    double fitted_at;   /* UTC seconds since 1970 */
    double as_of;       /* UTC seconds the fit's T ran to */
    uint64_t version;   /* e.g. the persisted snapshot id */
    size_t n_customers;
    size_t n_patterns;
    /* The settings it was fitted under (never served under others): the
     * configured purchase model, and the as_of day or CACHE_AS_OF_NOW. */
    char settings_model[16];
    int64_t settings_as_of_day;
    /* Gamma-Gamma's customers: those with repeat purchases of positive
     * total (gg_n_customers) and those left out because their repeat
     * purchases are all of amount zero (gg_n_zero). */
    size_t gg_n_customers;
    size_t gg_n_zero;
    /* How what is served differs from the configured model, and why (""
     * when it does not): BG/NBD not identified, its limit bggeo served
     * instead; no spend model because Gamma-Gamma was refused. */
    char fallback[800];
    uint64_t serial; /* set by cache_snapshot_set: unique per published snapshot, in the
                        process */
} cache_model;

/* settings_as_of_day of a model fitted with as_of following the clock. */
#define CACHE_AS_OF_NOW INT64_MIN

/* Publishes a copy of *m as the current snapshot; the previous one is freed
 * when its last reader releases it. Returns CACHE_OK, CACHE_EINVAL (no
 * model, period_days not > 0) or CACHE_ENOMEM (the old one stays). */
int cache_snapshot_set(cache *c, const cache_model *m)
    __attribute__((warn_unused_result));

/* The current snapshot, or NULL when none was set. The pointer stays valid,
 * and the snapshot unchanged, until cache_snapshot_release. */
const cache_model *cache_snapshot_acquire(cache *c);

/* Drops a reference from cache_snapshot_acquire. NULL is fine. */
void cache_snapshot_release(const cache_model *m);

/* Another reference to m, which the caller holds (from
 * cache_snapshot_acquire or this), whether or not it is still current.
 * Returns m; release each reference. NULL is fine. */
const cache_model *cache_snapshot_ref(const cache_model *m);

/* ---------------------------------------------------------------- scoring */

typedef struct cache_score_result {
    cache_summary summary;
    double x, t_x, T; /* in model periods */
    double m;         /* mean repeat spend: repeat_amount / x, 0 when x = 0 */
    double p_alive;
    double expected;       /* purchases in the next horizon periods */
    double p_purchase;     /* P(at least one purchase in the next p_horizon) */
    double expected_spend; /* 0 without a spend model */
    double clv;            /* 0 without a spend model or clv options */
    bool has_spend;
    uint64_t model_version;
} cache_score_result;

/* Scores one summary with model m as of as_of_day (UTC day number): expected
 * purchases over horizon periods, P(a purchase) over p_horizon periods (the
 * service gives it over 30 days whatever the horizon), and CLV when clv is
 * not NULL and m has a spend model. Returns GSL_SUCCESS with every value
 * finite; CACHE_SCORE_NOT_YET when the first purchase is after as_of_day;
 * CACHE_SCORE_AS_OF_EARLY when the last one is; GSL_EDOM for a bad horizon
 * or clv options; or the model's GSL code. *out is written only on
 * GSL_SUCCESS (but out->summary always). */
int cache_score_summary(const cache_model *m, const cache_summary *s, int64_t as_of_day,
                        double horizon, double p_horizon, const clv_options *clv,
                        cache_score_result *out);

/* Looks `id` up and scores it with the current snapshot (cache_score_summary,
 * with p_horizon = horizon). Besides its codes: CACHE_SCORE_UNKNOWN,
 * CACHE_SCORE_NO_MODEL. */
int cache_score(cache *c, const char *id, int64_t as_of_day, double horizon,
                const clv_options *clv, cache_score_result *out);

#endif

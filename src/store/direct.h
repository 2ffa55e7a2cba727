/* The fast path of store_insert_batch (internal to src/store/): a batch
 * none of whose items is stored yet goes straight into transactions by COPY,
 * and the per-day sums, computed here, into customer_days by COPY (new days)
 * and UPDATE (stored ones). */
#ifndef LTVD_STORE_DIRECT_H
#define LTVD_STORE_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/ingest.h"

/* One (customer, day) of a plan: the sum of its items. */
typedef struct store_direct_plan_day {
    const char *customer_id; /* borrowed from the items */
    int64_t day;
    int64_t units;
    int64_t n;
} store_direct_plan_day;

/* What the fast path sends, worked out once before the transaction. */
typedef struct store_direct_plan {
    size_t *order; /* the items to store (first occurrence of each
                      (customer_id, txn_id)), in byte order of that key */
    size_t n_unique;
    store_direct_plan_day *days; /* their sums per (customer, day), in byte order */
    bool *surely_new;            /* per day: new as far as the hint knows */
    size_t n_days;
} store_direct_plan;

/* Plans items[0..n), asking hint (when not NULL) which days may be stored.
 * Returns 1 with *p filled (free with store_direct_plan_free), 0 when the fast
 * path does not apply (an occurred_at given as text, an amount it cannot
 * read exactly), -1 when out of memory. */
int store_direct_plan_make(const store_item *items, size_t n, store_days_hint_fn hint,
                           void *hint_arg, store_direct_plan *p);
void store_direct_plan_free(store_direct_plan *p);

/* Outcome of store_direct_insert. */
typedef enum store_direct_status {
    STORE_DIRECT_OK = 0,   /* stored; *out filled as by store_insert_batch */
    STORE_DIRECT_STORED,   /* some items are stored already: nothing was
                               written, take the staged path in this transaction */
    STORE_DIRECT_CONFLICT, /* an item or day was stored meanwhile (unique
                               violation), or a stored day is held by another
                               batch: the transaction is aborted; roll back
                               and take the staged path */
    STORE_DIRECT_ERROR,    /* db->err set; the transaction may be aborted */
} store_direct_status;

/* Runs the fast path for tenant's items inside the caller's transaction. First it looks
 * up the first, middle and last items (a resent batch is caught there, without a failed
 * COPY); then COPY and the upsert. */
store_direct_status store_direct_insert(store_db *db, const char *tenant,
                                        const store_item *items, size_t n,
                                        const store_direct_plan *p,
                                        store_batch_result *out);

/* Fills out from the result of a statement with the columns (customer_id,
 * day number, new_day, units, n, xid), one row per (customer, day): the
 * apply statement of either path. out keeps res. 0, or -1 (out of memory,
 * db->err set; res is then the caller's). ingest.c. */
int ingest_read_deltas(store_db *db, PGresult *res, size_t n_items,
                       store_batch_result *out);

#endif

/* What reaches the cache after start-up (apply.c): the deltas of this
 * process's own committed batches (app/ingest.h), and whole summaries
 * re-read by the catch-up (app/sync.h) for rows other writers stored. */
#ifndef LTVD_APP_APPLY_H
#define LTVD_APP_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "cache/cache.h"
#include "store/customers.h"
#include "store/ingest.h"

/* A stored summary in the cache's form: false when it does not fit (a day
 * beyond 32 bits, no purchase day, a negative amount). */
bool app_summary_from_store(const store_customer *c, cache_summary *s);

/* Puts a customer of the start-up (rebuild or checkpoint) into cache c:
 * its summary and its attributes. CACHE_EINVAL when it does not fit
 * (app_summary_from_store), or cache_upsert_many's codes. */
int app_cache_load(cache *c, const store_customer *sc);

/* How the cache stays equal to PostgreSQL after the start-up rebuild
 * (apply.c, sync.c, and ingest.c for the batches of this process):
 *  - A batch of this process adds its deltas (store_day_delta: exact, each
 *    counted once by the database) to the cached summaries, and remembers
 *    its xid. Deltas commute, so concurrent batches may apply in any order.
 *  - Rows other writers stored (ltvd import, another server) are found by
 *    the catch-up by xid, leaving out the remembered ones, and those
 *    customers' summaries are re-read whole and replaced. A replacement
 *    must neither miss nor double a batch of ours: the read's snapshot is
 *    taken holding `gate` for writing, which no batch holds between its
 *    COMMIT and its deltas (they hold it for reading), so the batches in
 *    the snapshot are exactly those already applied; the deltas applied
 *    while the read runs are kept in a window and added to the summaries
 *    read before they replace the cached ones. */

/* Applies the deltas of a batch of tenant t just committed with the app's
 * gate (store_insert_batch), counting only days up to t's fixed as_of, then
 * remembers
 * r->xid. The caller holds a->gate for reading and releases it after.
 * Returns CACHE_OK or a cache error code (nothing applied). */
int app_batch_committed(app_tenant *t, const store_batch_result *r);

/* A store_days_hint_fn (arg: the tenant): the days its cache holds for each
 * customer, [first_day, last_day] (and every day after a fixed as_of). */
void app_days_hint(void *arg, const char *const *ids, size_t n, int64_t *lo, int64_t *hi);

/* Opens (holding a->gate for writing, right after taking the read's
 * snapshot) and closes the window of a catch-up read. */
void app_window_open(app *a);
void app_window_close(app *a);

/* Replaces the summaries and attributes of t's customers c[0..n) (read by
 * the catch-up, as of t's as_of) plus the window's deltas for them. Returns CACHE_OK or a
 * cache error code (nothing applied; logged). */
int app_cache_replace(app_tenant *t, const store_customer *c, size_t n);

/* Hides customer id of t from every reader (an erasure: its rows are
 * deleted); a later purchase starts the customer afresh. True when the
 * customer was there. */
bool app_customer_forget(app_tenant *t, const char *id);

/* Sets the acquisition attributes of t's customer id in its cache (NULL:
 * unknown), as the single writer: after a PUT, or when the catch-up read
 * attributes other processes wrote. CACHE_OK, CACHE_NOT_FOUND (the cache
 * holds no such customer: nothing to set), CACHE_EINVAL, CACHE_ENOMEM. */
int app_customer_attrs(app_tenant *t, const char *id, const char *channel,
                       const char *campaign);

/* Whether s is an erased customer's record. */
bool app_summary_erased(const cache_summary *s);

/* The number of t's customers: its cache's records but the erased ones. */
size_t app_tenant_customers(app_tenant *t);

/* A copy (malloc'ed, *out) of the remembered xids; returns their number. */
size_t app_own_xids(app *a, uint64_t **out);

/* Forgets the remembered xids below `below` (a horizon the catch-up has
 * passed: it never looks at them again). */
void app_own_xids_forget(app *a, uint64_t below);

#endif

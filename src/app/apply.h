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

/* Applies the deltas of a batch just committed with a->gate (store_insert_
 * batch), counting only days up to a fixed as_of (config), then remembers
 * r->xid. The caller holds a->gate for reading and releases it after.
 * Returns CACHE_OK or a cache error code (nothing applied). */
int app_batch_committed(app *a, const store_batch_result *r);

/* A store_days_hint_fn (arg: the app): the days the cache holds for each
 * customer, [first_day, last_day] (and every day after a fixed as_of). */
void app_days_hint(void *arg, const char *const *ids, size_t n, int64_t *lo, int64_t *hi);

/* Opens (holding a->gate for writing, right after taking the read's
 * snapshot) and closes the window of a catch-up read. */
void app_window_open(app *a);
void app_window_close(app *a);

/* Replaces the summaries of c[0..n) (read by the catch-up, as of the
 * configured as_of) plus the window's deltas for them. Returns CACHE_OK or a
 * cache error code (nothing applied; logged). */
int app_cache_replace(app *a, const store_customer *c, size_t n);

/* A copy (malloc'ed, *out) of the remembered xids; returns their number. */
size_t app_own_xids(app *a, uint64_t **out);

/* Forgets the remembered xids below `below` (a horizon the catch-up has
 * passed: it never looks at them again). */
void app_own_xids_forget(app *a, uint64_t below);

#endif

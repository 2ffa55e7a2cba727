/* The service state behind `ltvd serve`: the configuration, the PostgreSQL
 * connection pool and the in-memory cache, and the start-up that fills them
 * (migrate, rebuild the cache from the stored summaries, load the newest
 * model snapshot). Endpoint groups find it in req->ctx->app. */
#ifndef LTVD_APP_APP_H
#define LTVD_APP_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "config/config.h"
#include "store/customers.h"
#include "store/ingest.h"
#include "store/pool.h"
#include "store/snapshot.h"

/* How long a request waits for a pooled connection before answering 503. */
#define APP_POOL_WAIT_MS 2000

typedef struct app_window app_window;

typedef struct app {
    const ltvd_config *config; /* borrowed, outlives the app */
    store_pool *pool;          /* thread_pool_size connections */
    cache *cache;              /* the summaries and the current model */
    /* The cache has one writer: request threads take turns through this
     * mutex to apply their committed batches, and so does the catch-up. It
     * also guards own_xids and the window. */
    pthread_mutex_t writer;
    /* Held for reading by a batch from before its COMMIT until its deltas
     * are in the cache; the catch-up takes it for writing to start a read. */
    pthread_rwlock_t gate;
    uint64_t *own_xids; /* xids of own batches in the cache, not yet passed by the catch-up */
    size_t own_n, own_cap;
    app_window *window; /* open while a catch-up read is in flight */
    bool window_lost;   /* a delta could not be kept: skip that read's replacements */
    char migrations_dir[256];
    struct worker *worker; /* the refit worker, NULL until app_worker_start */
    char sync_since[STORE_TIME_MAX];  /* transaction horizon before the cache rebuild */
    struct app_sync *sync; /* the cache catch-up, NULL until app_sync_begin */
    struct app_list_state *lists; /* list slots and score table (customer_query.c) */
    /* ingest counters for /metrics (app_note_ingested) */
    atomic_uint_fast64_t n_batches, n_txn_new, n_txn_duplicate;
    /* UTC seconds since which PostgreSQL has been failing; 0 while it works
     * (app_db_failed / app_db_ok) */
    atomic_llong db_down_since;
} app;

/* Connects (config->database_url), applies the pending migrations of
 * migrations_dir, rebuilds the cache from PostgreSQL (as of config->as_of
 * when set) and loads the newest model snapshot when there is one. Returns
 * the app (free with app_free), or NULL with a message in err. */
app *app_open(const ltvd_config *config, const char *migrations_dir,
              char err[CONFIG_ERR_MAX]);

/* Closes the pool and frees the cache. No request may be running. NULL is
 * fine. */
void app_free(app *a);

/* Converts a persisted snapshot into the cache's form. Returns 0, or -1 with
 * a message in err (unknown model, a parameter missing or not a positive
 * number, bad period). */
int app_model_from_snapshot(const store_snapshot *s, cache_model *out,
                            char err[CONFIG_ERR_MAX]);

/* A stored summary in the cache's form: false when it does not fit (a day
 * beyond 32 bits, no purchase day, a negative amount). apply.c. */
bool app_summary_from_store(const store_customer *c, cache_summary *s);

/* How the cache stays equal to PostgreSQL after the start-up rebuild
 * (apply.c, sync.c):
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

/* Starts the refit worker (worker/worker.h); app_free stops it. Returns
 * false when the thread cannot be created. */
bool app_worker_start(app *a);

/* Record that PostgreSQL just failed (the first failure's time is kept) or
 * just answered. Reads served meanwhile say their data may be stale. */
void app_db_failed(app *a);
void app_db_ok(app *a);

/* 0 while PostgreSQL answers, else since when (UTC seconds) it has not. */
long long app_db_down_since(app *a);

/* Starts the cache catch-up thread (app/sync.h) every config->cache_sync_ms
 * (no-op when 0); app_free stops it. False when it cannot start. */
bool app_sync_begin(app *a);

/* Counts a committed batch of n_new new and n_duplicate duplicate items and
 * tells the worker about the new ones. Cheap: called on request threads
 * after each committed batch. */
void app_note_ingested(app *a, size_t n_new, size_t n_duplicate);

/* The service's Prometheus text for GET /metrics (an http_metrics_source;
 * cls is the app): ingest counters, refits and their duration, cache size,
 * model version. app_metrics.c. */
char *app_metrics_render(void *cls, size_t *len);

/* The UTC day scores are computed as of: config as_of, or today. */
int64_t app_as_of_day(const app *a);

/* The http_readiness callback (cls is the app): the database answers, no
 * migration is pending, and a model is loaded. */
bool app_ready(void *cls, char *why, size_t why_len);

#endif

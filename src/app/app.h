/* The service state behind `ltvd serve`: the configuration, the PostgreSQL
 * connection pool and the tenants (app/tenants.h), each with its in-memory
 * cache and model, and the start-up that fills them (migrate, load the
 * tenants, rebuild their caches from the stored summaries, load each one's
 * newest model snapshot). Endpoint groups find it in req->ctx->app, and
 * the tenant a request addresses in req->tenant. */
#ifndef LTVD_APP_APP_H
#define LTVD_APP_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/tenant.h"
#include "cache/cache.h"
#include "config/config.h"
#include "store/customers.h"
#include "store/ingest.h"
#include "store/pool.h"
#include "store/snapshot.h"

/* How long a request waits for a pooled connection before answering 503
 * (at most db_request_timeout_ms). */
#define APP_POOL_WAIT_MS 2000

typedef struct app_window app_window;

/* Where start-up is (app->phase), in order. Until APP_SERVING no request
 * handler may touch the app (the server's start-up check, app_started,
 * keeps them out); the probes and metrics read only what is published. */
typedef enum app_phase {
    APP_CONNECTING,    /* app_new: nothing connected yet */
    APP_MIGRATING,     /* app_start_migrate: applying the migrations */
    APP_MIGRATED,      /* migrated; the caller loads what needs the schema (keys) */
    APP_REBUILDING,    /* app_start_load: the cache is being rebuilt */
    APP_LOADING_MODEL, /* the cache is complete; the model snapshot is loaded */
    APP_LOADED,        /* the caller starts the worker and the catch-up */
    APP_SERVING,       /* app_start_serving: everything runs */
    APP_FAILED,        /* app_start_failed: the process is about to exit */
} app_phase;

typedef struct app {
    const ltvd_config *config;           /* borrowed, outlives the app */
    store_pool *pool;                    /* thread_pool_size connections */
    struct app_tenants *tenants;         /* every tenant, by id (app/tenants.h) */
    app_tenant *dflt;                    /* the tenant `default` (never deleted) */
    struct app_list_shared *list_shared; /* list slots of every tenant */
    struct ticker_group *workers;        /* the thread of every tenant's worker */
    /* The cache has one writer: request threads take turns through this
     * mutex to apply their committed batches, and so does the catch-up. It
     * also guards own_xids and the window, and changes of the registry. */
    pthread_mutex_t writer;
    /* Held for reading by a batch from before its COMMIT until its deltas
     * are in the cache; the catch-up takes it for writing to start a read. */
    pthread_rwlock_t gate;
    uint64_t
        *own_xids; /* xids of own batches in the cache, not yet passed by the catch-up */
    size_t own_n, own_cap;
    app_window *window; /* open while a catch-up read is in flight */
    bool window_lost;   /* a delta could not be kept: skip that read's replacements */
    char migrations_dir[256];
    struct app_follow *follow; /* serves other processes' snapshots (app/follow.h) */
    char sync_since[STORE_TIME_MAX]; /* transaction horizon before the cache rebuild */
    struct app_sync *sync;           /* the cache catch-up, NULL until app_sync_begin */
    /* ingest counters for /metrics (app_note_ingested) */
    atomic_uint_fast64_t n_batches, n_txn_new, n_txn_duplicate;
    /* UTC seconds since which PostgreSQL has been failing; 0 while it works
     * (app_db_failed / app_db_ok) */
    atomic_llong db_down_since;
    /* request threads waiting on PostgreSQL, of db_slots (app/db_wait.h) */
    atomic_long db_waiting;
    long db_slots;
    /* requests answered 503 for the database, by reason (app_db_count) */
    atomic_uint_fast64_t n_db_busy, n_db_timeout, n_db_failed;
    struct app_readiness *readiness; /* the background check (app/readiness.h) */
    /* Start-up, on one thread while the server answers (app_start_*). The
     * phase is stored with release order after what it covers is written,
     * and read with acquire order before any of it is read. */
    atomic_int phase;                 /* app_phase */
    atomic_ullong n_loaded;           /* customers in the cache so far (rebuild) */
    atomic_llong n_expected;          /* PostgreSQL's estimate of them, -1: none */
    long long start_ms;               /* monotonic ms of app_new */
    atomic_llong start_took_ms;       /* app_new to APP_SERVING, 0 until then */
    store_db *boot;                   /* the start-up connection (migrate to load) */
    char start_error[CONFIG_ERR_MAX]; /* APP_FAILED: why (written before) */
    /* This process never writes (app/mode.h), and why; set by
     * app_start_migrate before APP_MIGRATED, constant after. */
    bool read_only;
    char read_only_why[96];
    atomic_long exports; /* exports streaming (app/export.h), up to export_max */
} app;

/* Stored snapshots start-up looks at, newest first, for one it can serve. */
#define APP_SNAPSHOTS_TRIED 20

/* Connects (config->database_url), applies the pending migrations of
 * migrations_dir, rebuilds the cache from PostgreSQL (as of config->as_of
 * when set) and loads the newest model snapshot when there is one: app_new,
 * app_start_migrate, app_start_load and app_start_serving in one go.
 * Returns the app (free with app_free), or NULL with a message in err. */
app *app_open(const ltvd_config *config, const char *migrations_dir,
              char err[CONFIG_ERR_MAX]);

/* Start-up in steps, so that a server can answer meanwhile (`ltvd serve`:
 * the probes at once, the /v1 routes 503 `starting` until it is over).
 * app_new allocates (no database yet; phase APP_CONNECTING): NULL with err
 * when DATABASE_URL is unset or out of memory. Then, on one thread, in
 * order, each returning 0 or -1 with err (then app_start_failed and
 * app_free): app_start_migrate connects and migrates (APP_MIGRATED);
 * app_start_load reads the catch-up's horizon, rebuilds the cache, loads
 * the model snapshot and starts the readiness check (APP_LOADED); the
 * caller starts the worker and the catch-up, then app_start_serving
 * publishes the whole app (APP_SERVING): handlers may use it from then. */
app *app_new(const ltvd_config *config, const char *migrations_dir,
             char err[CONFIG_ERR_MAX]);
int app_start_migrate(app *a, char err[CONFIG_ERR_MAX]);
int app_start_load(app *a, char err[CONFIG_ERR_MAX]);
void app_start_serving(app *a);

/* Start-up failed with why: /readyz and the /v1 routes say so until the
 * process exits. */
void app_start_failed(app *a, const char *why);

/* The http_readiness of the server's start-up check (cls is the app):
 * true once APP_SERVING; else false with where start-up is ("the service
 * is starting: cache rebuild: N of about M customers loaded", ...). */
bool app_started(void *cls, char *why, size_t why_len);

/* Closes the pool and frees the cache. No request may be running. NULL is
 * fine. */
void app_free(app *a);

/* Converts a persisted snapshot into the cache's form. Returns 0, or -1 with
 * a message in err (unknown model, a parameter missing or not a positive
 * number, bad period). */
int app_model_from_snapshot(const store_snapshot *s, cache_model *out,
                            char err[CONFIG_ERR_MAX]);

/* Whether a stored model can be served now: fitted under the running
 * settings, parameters in their identifiable range (model/accept.h), and a
 * sample of the cached customers scores (on the calling thread: start-up
 * and app/follow.c, never a request). Else false with why. */
bool app_snapshot_usable(app_tenant *t, const cache_model *m, char *why, size_t len);

/* Serves tenant t's newest stored snapshot that can be used (start-up, and
 * a tenant another process created); the others, newer, are skipped
 * (logged, counted, noted). Returns 0, or -1 only when PostgreSQL fails. */
int app_tenant_load_snapshot(app_tenant *t, store_db *db, char err[CONFIG_ERR_MAX]);

/* Starts every tenant's refit worker (worker/worker.h) and list keeper, and
 * the snapshot follower (app/follow.h); app_free stops them. Returns false
 * when a thread cannot be created. */
bool app_worker_start(app *a);

struct worker_env;

/* The worker's narrow view of a tenant (cache, pool, settings, as_of day),
 * into *out. */
void app_worker_env(app_tenant *t, struct worker_env *out);

/* Says n of t's customers' summaries were replaced by the catch-up
 * (sync.c): the worker fits at once when no model is served yet. */
void app_note_changed(app_tenant *t, size_t n);

/* Why t serves no model, for the no-model problem and /readyz: which part
 * of the eligibility rule is not met, a fit under way, or the last refit's
 * failure. */
void app_no_model_detail(app_tenant *t, char *out, size_t len);

/* Record that PostgreSQL just failed (the first failure's time is kept) or
 * just answered. Reads served meanwhile say their data may be stale. */
void app_db_failed(app *a);
void app_db_ok(app *a);

/* 0 while PostgreSQL answers, else since when (UTC seconds) it has not. */
long long app_db_down_since(app *a);

/* Starts the cache catch-up thread (app/sync.h) every config->cache_sync_ms
 * (no-op when 0); app_free stops it. False when it cannot start. */
bool app_sync_begin(app *a);

/* Counts a committed batch of n_new new and n_duplicate duplicate items of
 * t and tells its worker about the new ones. Cheap: called on request
 * threads after each committed batch. */
void app_note_ingested(app_tenant *t, size_t n_new, size_t n_duplicate);

/* The tenant id (retained: release with app_tenant_release), NULL when
 * this process knows none. */
app_tenant *app_tenant_find(app *a, const char *id);

/* The same for the HTTP server (http_server_set_tenants): a is the app. */
void *app_http_tenant_acquire(void *a, const char *id);
void app_http_tenant_release(void *tenant);

/* The http_readiness callback (cls is the app): start-up is over
 * (app_started), the default tenant serves a model (or holds no customer
 * while other tenants do), and the last background check
 * (app/readiness.h) found the database answering and no migration pending.
 * Never waits on PostgreSQL. */
bool app_ready(void *cls, char *why, size_t why_len);

#endif

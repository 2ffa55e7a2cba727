/* The refit worker: one thread that refits the purchase model (BG/NBD or
 * Pareto/NBD by configuration; for a BG/NBD that is not identified, its
 * limit bggeo) and the Gamma-Gamma spend model from the summaries in the
 * cache: at once while no model is served and the data are eligible
 * (config model_min_customers, model_min_repeaters), then on a schedule
 * (refit_interval_s), after refit_after_txns new transactions, and on
 * request. A fit that can be used (model/accept.h) is persisted with the
 * settings it was fitted under (store_snapshot_save_fit) and swapped into the
 * cache; any other leaves the previous snapshot serving and is recorded,
 * with its reason, for GET /v1/model and /metrics. Fits never run on a
 * request thread: requests only signal the worker.
 *
 * A fleet of processes on one database (docs/operations.md): a fit holds
 * the tenant's fit lock (store/fleet.h) from before it reads the data until
 * its snapshot is saved and served, on one pooled connection; a process
 * that does not get the lock, or finds that another process saved a newer
 * snapshot meanwhile, skips (counted in n_skipped; the last outcome stays)
 * and serves that snapshot when app/follow.c loads it. The trigger counts
 * the transactions every process stored since the served snapshot's data
 * were read (checked by the worker's ticker every WORKER_CHECK_MS), and
 * the schedule runs from the served snapshot's fitted_at, whichever process
 * fitted it. */
#ifndef LTVD_WORKER_WORKER_H
#define LTVD_WORKER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "config/config.h"
#include "store/pool.h"

struct ticker_group;

/* Longest failure reason kept. */
#define WORKER_REASON_MAX 320
/* How often the worker counts the transactions stored since the served
 * snapshot (by every process), in milliseconds. */
#define WORKER_CHECK_MS 1000
/* Seconds a fit may take to score its sample of customers (accept_scores). */
#define WORKER_SCORE_BUDGET_S 2.0

/* What the worker needs of the service, and nothing more: the cache it
 * reads summaries from and publishes snapshots to, the pool it persists
 * them through, the settings, and the day scores are computed as of
 * (as_of_day(cls)). Everything borrowed; must outlive the worker. */
typedef struct worker_env {
    cache *cache;
    store_pool *pool;
    const ltvd_config *config;
    int64_t (*as_of_day)(void *cls);
    void *cls;
    const char *tenant; /* whose model (NULL: STORE_TENANT_DEFAULT, store/fleet.h) */
    /* The settings now (a tenant's may change), read at each turn into
     * config; NULL: config never changes. */
    const ltvd_config *(*config_now)(void *cls);
    /* The thread the worker's turns run on, shared with other tenants'
     * workers (base/ticker.h); NULL: a thread of its own. */
    struct ticker_group *group;
} worker_env;

/* Why a refit failed (one label each in /metrics). The first values are
 * model/accept.h's codes (not finite ... scoring). */
typedef enum worker_fail {
    WORKER_FAIL_NONE = 0,
    WORKER_FAIL_NOT_FINITE,
    WORKER_FAIL_BOUNDARY,
    WORKER_FAIL_HEAVY_TAIL,
    WORKER_FAIL_NOT_CONVERGED,
    WORKER_FAIL_HESSIAN,
    WORKER_FAIL_SCORING,
    WORKER_FAIL_TOO_LITTLE_DATA, /* the eligibility rule is not met */
    WORKER_FAIL_FIT_ERROR,       /* the likelihood could not be evaluated */
    WORKER_FAIL_DATABASE,        /* not persisted */
    WORKER_FAIL_OUT_OF_MEMORY,
    WORKER_FAIL_N
} worker_fail;

/* The label of a failure reason ("boundary", "too_little_data", ...). */
const char *worker_fail_label(worker_fail f);

typedef enum worker_outcome {
    WORKER_NONE = 0, /* no refit attempted yet */
    WORKER_SUCCEEDED,
    WORKER_FAILED,
} worker_outcome;

/* The last refit attempt and the counts so far (a copy). */
typedef struct worker_status {
    worker_outcome outcome;
    double attempted_at;            /* UTC seconds since 1970 the attempt ended */
    double seconds;                 /* its wall time */
    char reason[WORKER_REASON_MAX]; /* why it failed ("" on success) */
    double seconds_total;           /* wall time of every attempt so far */
    uint64_t n_succeeded;
    uint64_t n_failed;
    uint64_t n_failed_by[WORKER_FAIL_N]; /* n_failed by reason */
    uint64_t n_skipped;                  /* refits left to another process */
    worker_fail fail;                    /* the last failure's reason */
    bool running;                        /* a refit is in progress */
    /* The eligibility rule at the last look (see worker_refit_once). */
    bool looked;                     /* the data have been looked at */
    size_t n_customers, n_repeaters; /* customers as of as_of, with repeats */
    /* The back-test of the last snapshot this worker saved
     * (worker/backtest_run.h): backtest_version its id (0: none yet), and
     * when backtest_done, its holdout MAE, the naive benchmark's, and
     * whether the model did worse. */
    uint64_t backtest_version;
    bool backtest_done;
    double backtest_mae, backtest_naive_mae;
    bool backtest_worse;
} worker_status;

typedef struct worker worker;

/* Starts the thread for env (copied; what it points to is borrowed). When
 * no model is served the first refit runs at once (it says whether the data
 * are eligible), else after refit_interval_s. Returns NULL when the thread
 * cannot be created. */
worker *worker_start(const worker_env *env);

/* Wakes the thread, waits for a refit in progress to end, joins and frees.
 * NULL is fine. */
void worker_stop(worker *w);

/* Asks for a refit as soon as possible (returns at once). */
void worker_request(worker *w);

/* Counts n newly stored transactions; reaching refit_after_txns since the
 * last refit wakes the worker to count in PostgreSQL (the trigger counts
 * every process's rows; this process's own count decides only while
 * PostgreSQL cannot count), and so does any new data while no model is
 * served (at most once a second; not after a fit that failed on data that
 * were eligible: then the schedule applies). Cheap: safe on request threads. */
void worker_note_ingested(worker *w, size_t n);

/* Says that n customers' summaries changed by other writers (the cache
 * catch-up after `ltvd import`): wakes the worker while no model is served,
 * as worker_note_ingested. */
void worker_note_changed(worker *w, size_t n);

/* Whether the data met the eligibility rule at the last look; when not,
 * writes which part is missing to why (e.g. "3 customers with repeat
 * purchases, need 10 (model_min_repeaters)"). */
bool worker_eligible(worker *w, char *why, size_t len);

/* Copies the status out. */
void worker_status_get(worker *w, worker_status *out);

/* Whether snapshot m was fitted under cfg's settings (model, period,
 * as_of); when not, why (what it was fitted under and what runs). */
bool worker_settings_match(const cache_model *m, const ltvd_config *cfg, char *why,
                           size_t len);

/* Scores a sample of the cached customers with m, as a refit checks its
 * fit (model/accept.h accept_scores). False with why when it cannot. */
bool worker_check_scores(const worker_env *env, const cache_model *m, char *why,
                         size_t len);

/* One refit, synchronously, on the calling thread (the worker's loop, and
 * tests): gathers the cache's customers as of as_of, checks the eligibility
 * rule (config model_min_customers, model_min_repeaters), fits the
 * configured purchase model (BG/NBD that is not identified because every
 * customer drops out alike: its limit bggeo) and Gamma-Gamma, accepts them
 * (model/accept.h: identified, q > 1, a sample of customers scores within
 * WORKER_SCORE_BUDGET_S), persists with the settings and publishes, all
 * with the tenant's fit lock held (see above). Returns true when a new
 * snapshot was published; on false the reason is in reason
 * (WORKER_REASON_MAX bytes) and *fail (may be NULL): WORKER_FAIL_NONE when
 * the refit was skipped because another process holds the fit lock. st
 * (may be NULL) gets the customers counted. */
bool worker_refit_once(const worker_env *env, char reason[WORKER_REASON_MAX],
                       worker_fail *fail, worker_status *st);

#endif

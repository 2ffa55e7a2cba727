/* The refit worker's loop (see worker.h): one base/ticker thread that
 * decides when to refit (the first model, a request, the transactions
 * every process stored since the served snapshot, the schedule) and
 * records each outcome. The fit itself is worker.c's. */
#include "worker/worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/ticker.h"
#include "log/log.h"
#include "store/fleet.h"
#include "worker/backtest_run.h"
#include "worker/refit.h"

/* Seconds until a refit whose snapshot could not be stored is tried again. */
#define DB_RETRY_S 30
/* Least gap between two refits woken by new data while no model is served. */
#define NO_MODEL_GAP_S 1
/* ... and after a fit failed on eligible data, while new data keep coming. */
#define NO_MODEL_RETRY_S 30
/* How long the count of new transactions waits for a pooled connection. */
#define COUNT_POOL_WAIT_MS 200
/* The count runs when the cache changed, or this often anyway (ms). */
#define COUNT_IDLE_MS 30000

/* One fit at a time in a process, whatever the tenant: the fits of many
 * tenants take turns instead of sharing the cores. */
static pthread_mutex_t fitting = PTHREAD_MUTEX_INITIALIZER;

struct worker {
    worker_env env;
    ticker *ticker;           /* the worker's thread: worker_tick */
    pthread_mutex_t mu;       /* guards everything below */
    struct timespec deadline; /* the next scheduled refit (CLOCK_MONOTONIC) */
    bool requested;
    bool changed;    /* new data since the last refit began */
    size_t ingested; /* transactions this process stored since the last refit began */
    bool db_retry;   /* the last refit failed to store: retry at the deadline */
    /* The count in PostgreSQL of every process's transactions since the
     * served snapshot (rows_version) read its data: rows, when rows_known;
     * rows_base of them were there when a refit on that snapshot was last
     * tried (the next one waits for refit_after_txns more). */
    bool rows_known;
    uint64_t rows_version, base_version;
    int64_t rows, rows_base;
    bool count_failing;   /* the last count failed (logged once); worker thread only */
    int64_t newer_seen;   /* the newest foreign snapshot a refit was skipped for */
    uint64_t counted_gen; /* the cache generation at the last count */
    long long counted_ms; /* and when it ran (monotonic ms), 0: never */
    uint64_t counted_version;          /* the served version then */
    char last_skip[WORKER_REASON_MAX]; /* why the last refit was skipped, logged once */
    worker_status status;
    worker_backtest_ctl backtest; /* its own lock: worker_stop cancels the read */
};

static struct timespec deadline_after(long s)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += s;
    return t;
}

static bool has_model(const worker *w)
{
    const cache_model *m = cache_snapshot_acquire(w->env.cache);
    cache_snapshot_release(m);
    return m != NULL;
}

/* New data while no model is served wake the worker (w->changed). Called
 * with w->mu held. */
static bool waiting_for_first(const worker *w)
{
    return w->changed && !has_model(w);
}

/* The least gap before the next such fit: NO_MODEL_GAP_S after too little
 * data, NO_MODEL_RETRY_S after a fit that failed on eligible data (the
 * same data would fail again; more data may not). */
static double first_model_gap(const worker *w)
{
    bool failed_eligible = w->status.outcome == WORKER_FAILED &&
                           w->status.fail != WORKER_FAIL_TOO_LITTLE_DATA;
    return failed_eligible ? NO_MODEL_RETRY_S : NO_MODEL_GAP_S;
}

static bool wake_for_first_model(const worker *w)
{
    return waiting_for_first(w) &&
           (double)time(NULL) - w->status.attempted_at >= first_model_gap(w);
}

static bool passed(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* The served snapshot's version and the UTC second it was fitted (0, 0
 * when none is served). */
static uint64_t served(const worker *w, double *fitted_at)
{
    const cache_model *m = cache_snapshot_acquire(w->env.cache);
    uint64_t v = m != NULL ? m->version : 0;
    *fitted_at = m != NULL ? m->fitted_at : 0;
    cache_snapshot_release(m);
    return v;
}

/* refit_after_txns reached: by every process's rows when PostgreSQL
 * counted them, else by this process's own. */
static bool rows_due(const worker *w)
{
    long after = w->env.config->refit_after_txns;
    if (!w->rows_known)
        return w->ingested >= (size_t)after;
    int64_t base = w->base_version == w->rows_version ? w->rows_base : 0;
    return w->rows - base >= after;
}

/* The schedule: refit_interval_s after this process's last attempt (or
 * DB_RETRY_S after one that could not store), and, while a model is
 * served, refit_interval_s after it was fitted, by whichever process. */
static bool schedule_due(const worker *w)
{
    if (!passed(&w->deadline))
        return false;
    double fitted_at = 0;
    if (w->db_retry || served(w, &fitted_at) == 0)
        return true;
    return (double)time(NULL) >= fitted_at + (double)w->env.config->refit_interval_s;
}

static bool due(const worker *w)
{
    if (w->db_retry && !passed(&w->deadline))
        return w->requested; /* storing failed: wait before trying again */
    return w->requested || rows_due(w) || wake_for_first_model(w) || schedule_due(w);
}

/* Counts, in PostgreSQL, the transactions every process stored since the
 * served snapshot read its data, up to what the trigger needs (w->mu not
 * held: it waits on PostgreSQL). */
static void count_rows(worker *w)
{
    double fitted_at;
    uint64_t v = served(w, &fitted_at);
    /* every process's rows reach this cache (the catch-up): while it did
     * not change, neither did the count (but for a lost catch-up, looked
     * at every COUNT_IDLE_MS); idle tenants cost PostgreSQL nothing */
    uint64_t gen = cache_generation(w->env.cache);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (w->counted_ms != 0 && gen == w->counted_gen && v == w->counted_version &&
        now_ms - w->counted_ms < COUNT_IDLE_MS)
        return;
    w->counted_gen = gen;
    w->counted_ms = now_ms;
    w->counted_version = v;
    pthread_mutex_lock(&w->mu);
    int64_t limit = (w->base_version == v ? w->rows_base : 0) +
                    (int64_t)w->env.config->refit_after_txns;
    pthread_mutex_unlock(&w->mu);
    int64_t n = 0;
    int rc = -1;
    store_db *db = v != 0 ? store_pool_acquire(w->env.pool, COUNT_POOL_WAIT_MS) : NULL;
    if (db != NULL) {
        rc = store_rows_since_snapshot(db, w->env.tenant, (int64_t)v, limit, &n);
        if (rc < 0 && !w->count_failing) /* once per outage */
            log_write(LOG_WARN,
                      "refit trigger: %s (counting this process's rows until "
                      "PostgreSQL answers)",
                      store_db_error(db));
        store_pool_release(w->env.pool, db);
    }
    pthread_mutex_lock(&w->mu);
    if (db != NULL)
        w->count_failing = rc < 0;
    w->rows_known = rc == 1;
    w->rows_version = v;
    w->rows = n;
    pthread_mutex_unlock(&w->mu);
}

static const char *tenant_of(const worker *w)
{
    return w->env.tenant != NULL ? w->env.tenant : STORE_TENANT_DEFAULT;
}

/* Records the outcome of one refit (w->mu held). */
static void record(worker *w, bool ok, worker_fail fail, const char *reason, double secs,
                   const worker_status *seen)
{
    worker_status *st = &w->status;
    st->running = false;
    if (!ok && fail == WORKER_FAIL_NONE) { /* left to another process */
        if (st->n_skipped++ == 0 || strcmp(w->last_skip, reason) != 0)
            log_write(LOG_INFO, "tenant %s: refit %s", tenant_of(w), reason);
        snprintf(w->last_skip, sizeof w->last_skip, "%s", reason);
        return;
    }
    w->last_skip[0] = '\0';
    st->outcome = ok ? WORKER_SUCCEEDED : WORKER_FAILED;
    st->attempted_at = (double)time(NULL);
    st->seconds = secs;
    st->seconds_total += secs;
    st->fail = ok ? WORKER_FAIL_NONE : fail;
    snprintf(st->reason, sizeof st->reason, "%s", ok ? "" : reason);
    if (seen->looked) {
        st->looked = true;
        st->n_customers = seen->n_customers;
        st->n_repeaters = seen->n_repeaters;
    }
    if (ok) {
        st->n_succeeded++;
        log_write(LOG_INFO, "tenant %s: refit: done in %.3fs", tenant_of(w), secs);
    } else {
        st->n_failed++;
        st->n_failed_by[fail < WORKER_FAIL_N ? fail : WORKER_FAIL_FIT_ERROR]++;
        /* too little data is the normal state of a new tenant: not a warning */
        log_write(
            fail == WORKER_FAIL_TOO_LITTLE_DATA ? LOG_INFO : LOG_WARN,
            "tenant %s: refit failed (%s; %s): %s", tenant_of(w), worker_fail_label(fail),
            has_model(w) ? "the previous model keeps serving" : "no model served yet",
            st->reason);
    }
}

/* The back-test of the snapshot a refit just published (worker/backtest_run.h),
 * with the lock released, after the refit's outcome is recorded: neither
 * serving nor the refit's status waits for it. One fit at a time. */
static void backtest_published(worker *w, const worker_env *env)
{
    const cache_model *m = cache_snapshot_acquire(env->cache);
    if (m == NULL)
        return;
    pthread_mutex_unlock(&w->mu);
    worker_status bt = {0};
    pthread_mutex_lock(&fitting);
    worker_backtest_run(env, m, (int64_t)(m->as_of / 86400), &bt, &w->backtest);
    pthread_mutex_unlock(&fitting);
    cache_snapshot_release(m);
    pthread_mutex_lock(&w->mu);
    if (bt.backtest_version != 0) {
        w->status.backtest_version = bt.backtest_version;
        w->status.backtest_done = bt.backtest_done;
        w->status.backtest_mae = bt.backtest_mae;
        w->status.backtest_naive_mae = bt.backtest_naive_mae;
        w->status.backtest_worse = bt.backtest_worse;
    }
}

/* Runs one refit with the lock released and records its outcome; false
 * when it was left to another process. decided: the version served when
 * the refit was found due. */
static bool refit_and_record(worker *w, int64_t decided)
{
    w->requested = false;
    w->changed = false;
    w->ingested = 0;
    /* the rows seen so far are this attempt's: the next waits for more */
    w->base_version = w->rows_version;
    w->rows_base = w->rows_known ? w->rows : 0;
    w->status.running = true;
    int64_t seen = w->newer_seen;
    worker_env env = w->env; /* the settings of this turn */
    pthread_mutex_unlock(&w->mu);
    char reason[WORKER_REASON_MAX];
    worker_fail fail = WORKER_FAIL_NONE;
    worker_status looked = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&fitting);
    bool ok = worker_refit_run(&env, reason, &fail, &looked, decided, &seen);
    pthread_mutex_unlock(&fitting);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&w->mu);
    w->newer_seen = seen;
    record(w, ok, fail, reason,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           &looked);
    bool skipped = !ok && fail == WORKER_FAIL_NONE;
    w->db_retry = !ok && fail == WORKER_FAIL_DATABASE;
    if (w->db_retry)
        w->base_version = 0; /* the fit was fine: the same rows may trigger the retry */
    if (ok)
        backtest_published(w, &env);
    return !skipped;
}

/* Milliseconds from now until t (0 when past). */
static long ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms =
        (long long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > 86400000LL ? 86400000L : (long)ms;
}

/* One turn of the worker (a ticker_fn, woken by requests and new data):
 * counts the rows every process stored, refits when due, then returns the
 * delay to the next look: WORKER_CHECK_MS at most (the count), less for
 * the scheduled refit or while data wait for a first model. */
static long worker_tick(void *arg)
{
    worker *w = arg;
    if (w->env.config_now != NULL) {
        const ltvd_config *cfg = w->env.config_now(w->env.cls);
        pthread_mutex_lock(&w->mu);
        w->env.config = cfg;
        pthread_mutex_unlock(&w->mu);
    }
    count_rows(w);
    double fitted_at;
    int64_t decided = (int64_t)served(w, &fitted_at); /* before due looks */
    pthread_mutex_lock(&w->mu);
    if (due(w)) {
        /* a skip leaves the schedule to whoever fitted (the served fitted_at) */
        long next = refit_and_record(w, decided) ? w->env.config->refit_interval_s : 0;
        if (w->db_retry && next > DB_RETRY_S)
            next = DB_RETRY_S; /* the fit was fine: only storing it failed */
        if (next > 0)
            w->deadline = deadline_after(next);
    }
    long ms = ms_until(&w->deadline);
    if (waiting_for_first(w) && ms > (long)(first_model_gap(w) * 1000))
        ms = (long)(first_model_gap(w) * 1000);
    pthread_mutex_unlock(&w->mu);
    return ms < WORKER_CHECK_MS ? ms : WORKER_CHECK_MS;
}

worker *worker_start(const worker_env *env)
{
    worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->env = *env;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    if (pthread_mutex_init(&w->backtest.mu, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    w->requested = !has_model(w); /* a first look at once */
    w->deadline = deadline_after(env->config->refit_interval_s);
    /* worker_tick always returns its delay: the period is only a default */
    w->ticker = ticker_start_in(env->group, env->config->refit_interval_s * 1000, 0,
                                worker_tick, w);
    if (w->ticker == NULL) {
        pthread_mutex_destroy(&w->backtest.mu);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void worker_stop(worker *w)
{
    if (w == NULL)
        return;
    worker_backtest_ctl_stop(&w->backtest); /* a long read ends at once */
    ticker_stop(w->ticker);                 /* waits for a refit in progress */
    pthread_mutex_destroy(&w->backtest.mu);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void worker_request(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->requested = true;
    pthread_mutex_unlock(&w->mu);
    ticker_wake(w->ticker);
}

void worker_note_ingested(worker *w, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&w->mu);
    size_t after = (size_t)w->env.config->refit_after_txns;
    /* woken once when this process's own rows cross the threshold (the
     * turn counts every process's in PostgreSQL): not on every batch */
    bool crossed = w->ingested < after && w->ingested + n >= after;
    w->ingested += n;
    w->changed = true;
    bool wake = crossed || waiting_for_first(w);
    pthread_mutex_unlock(&w->mu);
    if (wake)
        ticker_wake(w->ticker); /* the turn waits out the first-model gap itself */
}

void worker_note_changed(worker *w, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&w->mu);
    w->changed = true;
    bool wake = waiting_for_first(w);
    pthread_mutex_unlock(&w->mu);
    if (wake)
        ticker_wake(w->ticker);
}

bool worker_eligible(worker *w, char *why, size_t len)
{
    pthread_mutex_lock(&w->mu);
    worker_status st = w->status;
    const ltvd_config *cfg = w->env.config;
    pthread_mutex_unlock(&w->mu);
    if (!st.looked) {
        snprintf(why, len, "the data have not been looked at yet");
        return false;
    }
    bool few = st.n_customers < (size_t)cfg->model_min_customers;
    bool few_rep = st.n_repeaters < (size_t)cfg->model_min_repeaters;
    if (!few && !few_rep)
        return true;
    snprintf(why, len,
             "%zu customers (need %ld: model_min_customers), %zu with repeat purchases "
             "(need %ld: model_min_repeaters)",
             st.n_customers, cfg->model_min_customers, st.n_repeaters,
             cfg->model_min_repeaters);
    return false;
}

void worker_status_get(worker *w, worker_status *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->status;
    pthread_mutex_unlock(&w->mu);
}

/* The refit's back-test per tenant (backtest_run.c, docs/diagnostics.md):
 * run by the worker after a snapshot is saved and served, stored with it
 * (the diagnostics column, GET /v1/model/diagnostics). */
#ifndef LTVD_WORKER_BACKTEST_RUN_H
#define LTVD_WORKER_BACKTEST_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/diagnostics.h"
#include "worker/worker.h"

/* The longest default holdout, in days. */
#define WORKER_BACKTEST_MAX_DAYS 180

/* The holdout's length in days: configured when > 0, else a quarter of
 * span_days (the tenant's history, first purchase to as_of), at most
 * WORKER_BACKTEST_MAX_DAYS. */
int64_t worker_backtest_holdout_days(long configured, int64_t span_days);

/* How a worker stops its back-test at shutdown: the read running (its
 * stop, published by worker_backtest_run) is cancelled, and none starts
 * after. mu initialised by the owner; the rest zero. */
typedef struct worker_backtest_ctl {
    pthread_mutex_t mu;
    bool stopping;
    store_stop *stop; /* the running read's, or NULL */
} worker_backtest_ctl;

/* Stops the back-test using ctl (soon: its statement is cancelled) and
 * every later one. Safe from any thread. */
void worker_backtest_ctl_stop(worker_backtest_ctl *ctl);

/* Back-tests the model of snapshot m (saved, m->version its id) on the
 * tenant's history up to as_of_day (the holdout's end) and stores the
 * result with the snapshot: {"backtest": <back-test JSON>, "reason": null},
 * or {"backtest": null, "reason": why} when the history is too short, the
 * calibration has too few customers (model_min_customers,
 * model_min_repeaters), the read failed or ran out of
 * backtest_statement_timeout_ms, or the calibration fit fails or is not
 * usable. The read (store_backtest_read: per-customer aggregates, memory
 * O(customers)) runs on a connection of its own, never a pooled one.
 * Bounded: one more fit, on the calibration part. Never fails the refit:
 * failures are logged. When st is not NULL and the result was stored, its
 * backtest_* fields are set. Stopped through ctl (NULL: not stoppable), it
 * stores nothing. Runs on the worker's thread, holding no fit lock. */
void worker_backtest_run(const worker_env *env, const cache_model *m, int64_t as_of_day,
                         worker_status *st, worker_backtest_ctl *ctl);

#endif

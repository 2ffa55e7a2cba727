/* The service's own Prometheus metrics, appended to the request metrics of
 * GET /metrics: batches and transactions ingested, refits (by outcome, with
 * their total duration, the last one's, and whether one is running), the
 * cache's size and memory, the model being served, and the requests
 * waiting on PostgreSQL or refused for it (docs/reliability.md),
 * whether start-up is over, and whether the process is read-only (app/mode.h).
 * Safe during start-up: it reads the worker and the mode only once the app
 * is published (APP_SERVING). */
#include "app/app_metrics.h"
#include "app/list_table.h"

#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"
#include "app/apply.h"
#include "app/tenants.h"
#include "worker/worker.h"

/* Sums over every tenant: customers, cache bytes, snapshots skipped. */
static void tenant_sums(app *a, size_t *customers, size_t *bytes,
                        unsigned long long *skipped)
{
    size_t n;
    app_tenant **v = app_tenants_list(a->tenants, &n);
    *customers = *bytes = 0;
    *skipped = 0;
    for (size_t i = 0; i < n; i++) {
        *customers += app_tenant_customers(v[i]);
        *bytes += cache_memory(v[i]->cache);
        *skipped += atomic_load(&v[i]->n_snapshots_skipped);
    }
    app_tenants_list_free(v, n);
}

/* The back-test metric families, one per figure. */
static const struct {
    const char *name, *help;
} backtest_families[] = {
    {"ltvd_model_worse_than_naive",
     "1 when the served model's back-test holdout error is worse than the naive "
     "benchmark's (each customer repeats their calibration rate)."},
    {"ltvd_model_holdout_mae", "Mean absolute error of the served model's back-test: "
                               "holdout repeat purchases per customer."},
    {"ltvd_model_naive_mae", "The same error of the naive benchmark."},
};

/* The back-test of each tenant's served snapshot, where this process's
 * worker ran it (worker_status backtest_*; docs/diagnostics.md). */
static void tenant_backtests(app *a, FILE *f)
{
    size_t n;
    app_tenant **v = app_tenants_list(a->tenants, &n);
    worker_status *w = calloc(n > 0 ? n : 1, sizeof *w);
    for (size_t i = 0; w != NULL && i < n; i++) {
        if (v[i]->worker != NULL)
            worker_status_get(v[i]->worker, &w[i]);
        const cache_model *m = cache_snapshot_acquire(v[i]->cache);
        if (m == NULL || m->version != w[i].backtest_version)
            w[i].backtest_done = false; /* not the served snapshot's */
        cache_snapshot_release(m);
    }
    for (size_t k = 0; k < 3; k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", backtest_families[k].name,
                backtest_families[k].help, backtest_families[k].name);
        for (size_t i = 0; w != NULL && i < n; i++) {
            if (!w[i].backtest_done)
                continue;
            double x = k == 0   ? (w[i].backtest_worse ? 1 : 0)
                       : k == 1 ? w[i].backtest_mae
                                : w[i].backtest_naive_mae;
            fprintf(f, "%s{tenant=\"%s\"} %.9g\n", backtest_families[k].name, v[i]->id,
                    x);
        }
    }
    free(w);
    app_tenants_list_free(v, n);
}

char *app_metrics_render(void *cls, size_t *len)
{
    app *a = cls;
    worker_status w = {0};
    /* the worker pointer is published with the start-up's end */
    bool started = atomic_load_explicit(&a->phase, memory_order_acquire) == APP_SERVING;
    /* the refit and model gauges are the default tenant's */
    if (started && a->dflt->worker != NULL)
        worker_status_get(a->dflt->worker, &w);
    size_t customers = 0, bytes = 0, n_tenants = 0;
    unsigned long long skipped = 0;
    if (started) {
        tenant_sums(a, &customers, &bytes, &skipped);
        n_tenants = app_tenants_count(a->tenants);
    }
    const cache_model *m = started ? cache_snapshot_acquire(a->dflt->cache) : NULL;
    double version = m != NULL ? (double)m->version : 0;
    double fitted_at = m != NULL ? m->fitted_at : 0;
    cache_snapshot_release(m);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (f == NULL)
        return NULL;
    fprintf(f,
            "# HELP ltvd_ingest_batches_total Transaction batches committed.\n"
            "# TYPE ltvd_ingest_batches_total counter\n"
            "ltvd_ingest_batches_total %llu\n"
            "# HELP ltvd_ingest_transactions_total Items of committed batches, by "
            "whether they were new or already stored.\n"
            "# TYPE ltvd_ingest_transactions_total counter\n"
            "ltvd_ingest_transactions_total{result=\"new\"} %llu\n"
            "ltvd_ingest_transactions_total{result=\"duplicate\"} %llu\n",
            (unsigned long long)atomic_load(&a->n_batches),
            (unsigned long long)atomic_load(&a->n_txn_new),
            (unsigned long long)atomic_load(&a->n_txn_duplicate));
    fprintf(f,
            "# HELP ltvd_refits_total Refits attempted, by outcome (a failed one "
            "keeps the previous model serving; a skipped one was left to another "
            "process of the fleet).\n"
            "# TYPE ltvd_refits_total counter\n"
            "ltvd_refits_total{result=\"succeeded\"} %llu\n"
            "ltvd_refits_total{result=\"failed\"} %llu\n"
            "ltvd_refits_total{result=\"skipped\"} %llu\n"
            "# HELP ltvd_refit_duration_seconds Wall time of the refits.\n"
            "# TYPE ltvd_refit_duration_seconds summary\n"
            "ltvd_refit_duration_seconds_sum %.6f\n"
            "ltvd_refit_duration_seconds_count %llu\n"
            "# HELP ltvd_refit_last_duration_seconds Wall time of the last refit.\n"
            "# TYPE ltvd_refit_last_duration_seconds gauge\n"
            "ltvd_refit_last_duration_seconds %.6f\n"
            "# HELP ltvd_refit_running 1 while a refit is in progress.\n"
            "# TYPE ltvd_refit_running gauge\n"
            "ltvd_refit_running %d\n",
            (unsigned long long)w.n_succeeded, (unsigned long long)w.n_failed,
            (unsigned long long)w.n_skipped, w.seconds_total,
            (unsigned long long)(w.n_succeeded + w.n_failed), w.seconds,
            w.running ? 1 : 0);
    fprintf(f, "# HELP ltvd_refits_failed_total Failed refits by reason (the previous "
               "model kept serving).\n"
               "# TYPE ltvd_refits_failed_total counter\n");
    for (int i = 1; i < WORKER_FAIL_N; i++)
        fprintf(f, "ltvd_refits_failed_total{reason=\"%s\"} %llu\n",
                worker_fail_label((worker_fail)i), (unsigned long long)w.n_failed_by[i]);
    fprintf(f,
            "# HELP ltvd_model_snapshots_skipped_total Stored snapshots not served at "
            "start-up (unreadable, unusable or fitted under other settings).\n"
            "# TYPE ltvd_model_snapshots_skipped_total counter\n"
            "ltvd_model_snapshots_skipped_total %llu\n",
            skipped);
    fprintf(f,
            "# HELP ltvd_tenants Tenants this process serves.\n"
            "# TYPE ltvd_tenants gauge\n"
            "ltvd_tenants %zu\n"
            "# HELP ltvd_cache_customers Customers in the in-memory cache (every "
            "tenant's).\n"
            "# TYPE ltvd_cache_customers gauge\n"
            "ltvd_cache_customers %zu\n"
            "# HELP ltvd_cache_bytes Memory held by the cache's customer table.\n"
            "# TYPE ltvd_cache_bytes gauge\n"
            "ltvd_cache_bytes %zu\n"
            "# HELP ltvd_model_version Version of the model served (0: none yet).\n"
            "# TYPE ltvd_model_version gauge\n"
            "ltvd_model_version %.0f\n"
            "# HELP ltvd_model_fitted_timestamp_seconds When the model served was "
            "fitted (0: none yet).\n"
            "# TYPE ltvd_model_fitted_timestamp_seconds gauge\n"
            "ltvd_model_fitted_timestamp_seconds %.3f\n",
            n_tenants, customers, bytes, version, fitted_at);
    if (started)
        tenant_backtests(a, f);
    fprintf(f,
            "# HELP ltvd_list_pages_total List pages by how their customers were found: "
            "from the cursor in the rank of the sort key or in the id index, a pass "
            "over the score table, or every customer scored for the request.\n"
            "# TYPE ltvd_list_pages_total counter\n"
            "ltvd_list_pages_total{walk=\"rank\"} %llu\n"
            "ltvd_list_pages_total{walk=\"ids\"} %llu\n"
            "ltvd_list_pages_total{walk=\"pass\"} %llu\n"
            "ltvd_list_pages_total{walk=\"rescore\"} %llu\n",
            app_list_walks(a->list_shared, APP_LIST_WALK_RANK),
            app_list_walks(a->list_shared, APP_LIST_WALK_IDS),
            app_list_walks(a->list_shared, APP_LIST_WALK_PASS),
            app_list_walks(a->list_shared, APP_LIST_WALK_RESCORE));
    fprintf(f,
            "# HELP ltvd_db_requests_waiting Request threads waiting on PostgreSQL "
            "(of ltvd_db_request_slots).\n"
            "# TYPE ltvd_db_requests_waiting gauge\n"
            "ltvd_db_requests_waiting %ld\n"
            "# HELP ltvd_db_request_slots Request threads that may wait on PostgreSQL "
            "at once (db_request_threads).\n"
            "# TYPE ltvd_db_request_slots gauge\n"
            "ltvd_db_request_slots %ld\n"
            "# HELP ltvd_db_requests_refused_total Requests that needed PostgreSQL "
            "answered 503, by reason: no slot or connection free, a bound ran out, "
            "another failure.\n"
            "# TYPE ltvd_db_requests_refused_total counter\n"
            "ltvd_db_requests_refused_total{reason=\"busy\"} %llu\n"
            "ltvd_db_requests_refused_total{reason=\"timeout\"} %llu\n"
            "ltvd_db_requests_refused_total{reason=\"failed\"} %llu\n",
            (long)atomic_load(&a->db_waiting), a->db_slots,
            (unsigned long long)atomic_load(&a->n_db_busy),
            (unsigned long long)atomic_load(&a->n_db_timeout),
            (unsigned long long)atomic_load(&a->n_db_failed));
    fprintf(f,
            "# HELP ltvd_started 1 once start-up is over (migrations, the cache "
            "rebuild, the model snapshot): every route is served.\n"
            "# TYPE ltvd_started gauge\n"
            "ltvd_started %d\n"
            "# HELP ltvd_startup_seconds How long start-up took (0 until it is over).\n"
            "# TYPE ltvd_startup_seconds gauge\n"
            "ltvd_startup_seconds %.3f\n",
            started ? 1 : 0, (double)atomic_load(&a->start_took_ms) / 1000.0);
    fprintf(f,
            "# HELP ltvd_read_only 1 when this process never writes (read_only, or its "
            "database is a streaming replica or a read-only session): writes are "
            "answered 503 read-only. 0 while it writes, and until start-up is over.\n"
            "# TYPE ltvd_read_only gauge\n"
            "ltvd_read_only %d\n",
            started && a->read_only ? 1 : 0);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    *len = size;
    return text;
}

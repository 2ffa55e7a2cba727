/* A model snapshot's diagnostics (migration 014) and the history of a
 * tenant's snapshots: the back-test's calibration/holdout aggregates read
 * from customer_days, its JSON stored with the snapshot, and the last N
 * snapshots for GET /v1/model/history. Every statement names the tenant
 * (one shard of each distributed table on Citus). */
#ifndef LTVD_STORE_DIAGNOSTICS_H
#define LTVD_STORE_DIAGNOSTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/stop.h"
#include "summary/backtest_data.h"

/* The back-test's input for tenant (NULL: the default tenant) and the split
 * at cal_end_day / obs_end_day (UTC days, inclusive) in periods of
 * period_days, built in *out (summary/backtest_data.h, ids NULL) from
 * customer_days' aggregates: one statement grouped by customer, streamed
 * through a cursor (customers.h's FETCH size), and one grouped by day for
 * the tracking series, both in one REPEATABLE READ READ ONLY transaction
 * and routed to the tenant's shard on Citus. Memory: O(customers), never
 * the transactions. Amounts come as exact integer units, so the result
 * equals summary_backtest_data on the same transactions to the last bit.
 * Each statement is bounded by db's statement_timeout (the caller's
 * connection). Returns 0 with *st (SUMMARY_BACKTEST_OK or why the data
 * cannot be back-tested), 1 when stop (NULL: none) said so, -1 with db->err
 * set. Free *out with summary_backtest_free in every case. */
int store_backtest_read(store_db *db, const char *tenant, int64_t cal_end_day,
                        int64_t obs_end_day, int period_days, store_stop *stop,
                        summary_backtest *out, summary_backtest_status *st);

/* Stores json (a JSON object's text) as the diagnostics of tenant's
 * snapshot id, once: a snapshot whose diagnostics are set keeps them.
 * Returns 1 when stored, 0 when there is no such snapshot or it has
 * diagnostics already, -1 with db->err set. */
int store_snapshot_diagnostics_set(store_db *db, const char *tenant, int64_t id,
                                   const char *json);

/* Reads the diagnostics of tenant's snapshot id: 1 with its fitted_at
 * (RFC 3339, UTC, microseconds) and *json (malloc'ed text, or NULL when not
 * recorded; caller frees), 0 when there is no such snapshot, -1 with
 * db->err set. */
int store_snapshot_diagnostics_get(store_db *db, const char *tenant, int64_t id,
                                   char fitted_at[40], char **json);

/* One snapshot of the history. */
typedef struct store_history_row {
    int64_t id;
    char fitted_at[40]; /* RFC 3339, UTC */
    char model[16];
    char *params_json;     /* a JSON object */
    char *std_errors_json; /* a JSON object, or NULL */
    double log_likelihood;
    int64_t n_customers;
    double seconds; /* wall time of the purchase model's fit */
    /* the back-test's summary, when the diagnostics hold one */
    bool has_backtest;
    double mae, naive_mae;
    bool worse_than_naive;
} store_history_row;

/* Tenant's newest limit snapshots (1..1000), newest first, into *rows
 * (malloc'ed; free with store_history_free) and *n. Returns 0, or -1 with
 * db->err set. */
int store_snapshot_history(store_db *db, const char *tenant, int limit,
                           store_history_row **rows, size_t *n);

/* Frees what store_snapshot_history returned. NULL is fine. */
void store_history_free(store_history_row *rows, size_t n);

#endif

/* A model snapshot's diagnostics (migration 014) and the history of a
 * tenant's snapshots: the back-test's calibration/holdout summaries read
 * from the transactions, its JSON stored with the snapshot, and the last N
 * snapshots for GET /v1/model/history. Every statement names the tenant
 * (one shard of each distributed table on Citus). */
#ifndef LTVD_STORE_DIAGNOSTICS_H
#define LTVD_STORE_DIAGNOSTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "summary/summary.h"

/* Every transaction of tenant's customers (NULL: the default tenant) up to
 * obs_end_day (its UTC day), as the transactions of a CSV: what
 * summary/backtest_data.h builds a back-test's input from, read in one
 * aggregate statement grouped by customer (customer id order), so that the
 * service's back-test equals `ltvd backtest` on the same transactions.
 * out owns everything (free with txn_set_free, also after an error).
 * Memory: the tenant's transactions up to obs_end_day. Returns 0, or -1
 * with db->err set. */
int store_backtest_transactions(store_db *db, const char *tenant, int64_t obs_end_day,
                                txn_set *out);

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

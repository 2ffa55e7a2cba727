/* A snapshot's diagnostics and the snapshot history (see diagnostics.h):
 * the back-test's transactions, the diagnostics column of
 * model_snapshots (migration 014), and the newest snapshots of a tenant. */
#include "store/diagnostics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ transactions */

/* Each customer's transactions up to the holdout end's day ($2, a day
 * number), as UTC day numbers and amounts: one row per customer of one
 * tenant (on Citus a statement routed to the tenant's shard). The
 * transactions, not their days' sums in customer_days: a day's amount is
 * then summed from the same doubles, in the same order, as `ltvd backtest`
 * sums a CSV's (summary/backtest_data.c sorts by day and amount), so both
 * give the same back-test to the last bit; a day's exact decimal sum
 * differs from that by an ulp, which Gamma-Gamma's numerical Hessian
 * (standard errors) magnifies to ~1e-8. */
static const char days_sql[] =
    "SELECT customer_id,"
    " array_agg((occurred_at AT TIME ZONE 'UTC')::date - date '1970-01-01'"
    "  ORDER BY occurred_at, amount)::text,"
    " array_agg(amount::float8 ORDER BY occurred_at, amount)::text"
    " FROM transactions"
    " WHERE tenant_id = $1"
    " AND occurred_at < (date '1970-01-01' + ($2::integer + 1))::timestamp AT TIME ZONE "
    "'UTC'"
    " GROUP BY customer_id ORDER BY customer_id";

/* The elements of a PostgreSQL array's text "{a,b,...}" of numbers, one
 * at a time: the next into *v, false at the end. */
static bool next_number(const char **p, double *v)
{
    const char *s = *p;
    if (*s == '{' || *s == ',')
        s++;
    if (*s == '}' || *s == '\0')
        return false;
    char *end;
    *v = strtod(s, &end);
    if (end == s)
        return false;
    *p = end;
    return true;
}

/* Customer r of res into out (its id and its transactions); false when out of
 * memory or the text is not what days_sql gives. */
static bool days_of(const PGresult *res, int r, txn_set *out, size_t *cap)
{
    size_t c = out->n_customers;
    if ((out->customer_ids[c] = strdup(PQgetvalue(res, r, 0))) == NULL)
        return false;
    out->n_customers++;
    const char *days = PQgetvalue(res, r, 1), *amounts = PQgetvalue(res, r, 2);
    double d, a;
    while (next_number(&days, &d)) {
        if (!next_number(&amounts, &a))
            return false;
        if (out->n == *cap) {
            size_t nc = *cap * 2;
            txn *q = realloc(out->items, nc * sizeof *q);
            if (q == NULL)
                return false;
            out->items = q;
            *cap = nc;
        }
        out->items[out->n++] = (txn){c, (int64_t)d, a};
        if ((int64_t)d > out->last_day)
            out->last_day = (int64_t)d;
    }
    return true;
}

int store_backtest_transactions(store_db *db, const char *tenant, int64_t obs_end_day,
                                txn_set *out)
{
    *out = (txn_set){.last_day = INT64_MIN};
    char obs[32];
    snprintf(obs, sizeof obs, "%lld", (long long)obs_end_day);
    const char *vals[2] = {tenant != NULL ? tenant : STORE_TENANT_DEFAULT, obs};
    PGresult *res = store_db_exec_prepared(db, "backtest_days", days_sql, 2, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "back-test transactions");
        PQclear(res);
        return -1;
    }
    int k = PQntuples(res);
    size_t cap = (size_t)k * 2 + 16;
    out->customer_ids = calloc((size_t)k + 1, sizeof *out->customer_ids);
    out->items = malloc(cap * sizeof *out->items);
    bool ok = out->customer_ids != NULL && out->items != NULL;
    for (int r = 0; ok && r < k; r++)
        ok = days_of(res, r, out, &cap);
    PQclear(res);
    if (!ok) {
        snprintf(db->err, sizeof db->err, "back-test transactions: out of memory");
        txn_set_free(out);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ diagnostics */

static const char diag_set_sql[] =
    "UPDATE model_snapshots SET diagnostics = $3::jsonb"
    " WHERE tenant_id = $1 AND id = $2::bigint AND diagnostics IS NULL";

#define FITTED_AT_SQL                                                                    \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static const char diag_get_sql[] = "SELECT " FITTED_AT_SQL ", diagnostics::text"
                                   " FROM model_snapshots"
                                   " WHERE tenant_id = $1 AND id = $2::bigint";

int store_snapshot_diagnostics_set(store_db *db, const char *tenant, int64_t id,
                                   const char *json)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)id);
    const char *vals[3] = {tenant != NULL ? tenant : STORE_TENANT_DEFAULT, num, json};
    PGresult *res =
        store_db_exec_prepared(db, "snapshot_diag_set", diag_set_sql, 3, vals);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        store_db_fail(db, res, "save snapshot diagnostics");
    else
        rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
    PQclear(res);
    return rc;
}

int store_snapshot_diagnostics_get(store_db *db, const char *tenant, int64_t id,
                                   char fitted_at[40], char **json)
{
    *json = NULL;
    fitted_at[0] = '\0';
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)id);
    const char *vals[2] = {tenant != NULL ? tenant : STORE_TENANT_DEFAULT, num};
    PGresult *res =
        store_db_exec_prepared(db, "snapshot_diag_get", diag_get_sql, 2, vals);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "load snapshot diagnostics");
        goto cleanup;
    }
    rc = PQntuples(res) == 1 ? 1 : 0;
    if (rc == 0)
        goto cleanup;
    snprintf(fitted_at, 40, "%s", PQgetvalue(res, 0, 0));
    if (!PQgetisnull(res, 0, 1) && (*json = strdup(PQgetvalue(res, 0, 1))) == NULL) {
        snprintf(db->err, sizeof db->err, "load snapshot diagnostics: out of memory");
        rc = -1;
    }
cleanup:
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------ history */

/* Newest first; the back-test's three figures out of the diagnostics
 * (NULL when it holds none). Reads the primary key (tenant_id, id)
 * backwards: limit rows. */
static const char history_sql[] =
    "SELECT id, " FITTED_AT_SQL ", model, params::text, std_errors::text,"
    " log_likelihood, n_customers, seconds,"
    " (diagnostics #>> '{backtest,holdout,mae}')::float8,"
    " (diagnostics #>> '{backtest,naive,mae}')::float8,"
    " (diagnostics #>> '{backtest,worse_than_naive}')::boolean"
    " FROM model_snapshots WHERE tenant_id = $1"
    " ORDER BY id DESC LIMIT $2::integer";

/* Row r of res into h; false when out of memory. */
static bool history_row(const PGresult *res, int r, store_history_row *h)
{
    h->id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
    snprintf(h->fitted_at, sizeof h->fitted_at, "%s", PQgetvalue(res, r, 1));
    snprintf(h->model, sizeof h->model, "%s", PQgetvalue(res, r, 2));
    h->params_json = strdup(PQgetvalue(res, r, 3));
    if (!PQgetisnull(res, r, 4))
        h->std_errors_json = strdup(PQgetvalue(res, r, 4));
    h->log_likelihood = strtod(PQgetvalue(res, r, 5), NULL);
    h->n_customers = strtoll(PQgetvalue(res, r, 6), NULL, 10);
    h->seconds = strtod(PQgetvalue(res, r, 7), NULL);
    h->has_backtest =
        !PQgetisnull(res, r, 8) && !PQgetisnull(res, r, 9) && !PQgetisnull(res, r, 10);
    if (h->has_backtest) {
        h->mae = strtod(PQgetvalue(res, r, 8), NULL);
        h->naive_mae = strtod(PQgetvalue(res, r, 9), NULL);
        h->worse_than_naive = strcmp(PQgetvalue(res, r, 10), "t") == 0;
    }
    return h->params_json != NULL && (PQgetisnull(res, r, 4) || h->std_errors_json);
}

int store_snapshot_history(store_db *db, const char *tenant, int limit,
                           store_history_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    char num[32];
    snprintf(num, sizeof num, "%d", limit);
    const char *vals[2] = {tenant != NULL ? tenant : STORE_TENANT_DEFAULT, num};
    PGresult *res = store_db_exec_prepared(db, "snapshot_history", history_sql, 2, vals);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "snapshot history");
        goto cleanup;
    }
    int k = PQntuples(res);
    store_history_row *h = calloc(k > 0 ? (size_t)k : 1, sizeof *h);
    bool ok = h != NULL;
    for (int r = 0; ok && r < k; r++)
        ok = history_row(res, r, &h[r]);
    if (!ok) {
        store_history_free(h, h != NULL ? (size_t)k : 0);
        snprintf(db->err, sizeof db->err, "snapshot history: out of memory");
        goto cleanup;
    }
    *rows = h;
    *n = (size_t)k;
    rc = 0;
cleanup:
    PQclear(res);
    return rc;
}

void store_history_free(store_history_row *rows, size_t n)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].params_json);
        free(rows[i].std_errors_json);
    }
    free(rows);
}

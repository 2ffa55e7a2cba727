/* A snapshot's diagnostics and the snapshot history (see diagnostics.h):
 * the back-test's per-customer aggregates, the diagnostics column of
 * model_snapshots (migration 014), and the newest snapshots of a tenant. */
#include "store/diagnostics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ingest.h"

/* ------------------------------------------------------------ the back-test's data */

#define D0 "DATE '1970-01-01'"
#define CAL_END D0 " + $2::integer"
#define OBS_END D0 " + $3::integer"

/* Each customer's aggregates over their days up to the holdout end ($3),
 * split at the calibration end ($2), for the customers who bought on or
 * before it (summary_backtest_agg's columns, amounts in exact units: sums
 * of numeric(18,4)), and their holdout purchase days (an array, NULL when
 * none: the tracking series' holdout). One pass of the tenant's
 * customer_days rows (on Citus a statement routed to its shard), read
 * through a cursor. The first day's amount is the least (day, amount)
 * pair's (as customers.c's summary). */
/* clang-format off */
static const char agg_sql[] =
    "DECLARE ltvd_backtest NO SCROLL CURSOR FOR"
    " SELECT min(day) - " D0 ","
    "        max(day) FILTER (WHERE day <= " CAL_END ") - " D0 ","
    "        count(*) FILTER (WHERE day <= " CAL_END "),"
    "        " STORE_SQL_UNITS("coalesce(sum(amount) FILTER (WHERE day <= " CAL_END "), 0)"
                               " - (min(ARRAY[(day - " D0 ")::numeric, amount]))[2]") ","
    "        count(*) FILTER (WHERE day > " CAL_END "),"
    "        " STORE_SQL_UNITS("coalesce(sum(amount) FILTER (WHERE day > " CAL_END "), 0)") ","
    "        array_agg(day - " D0 ") FILTER (WHERE day > " CAL_END ")"
    "   FROM customer_days"
    "  WHERE tenant_id = $1 AND day <= " OBS_END
    "  GROUP BY customer_id"
    " HAVING min(day) <= " CAL_END;

/* The tracking series' calibration: the purchase days per day up to $2
 * (at most BACKTEST_MAX_DAYS rows; every customer with one is in the
 * calibration, and summary_backtest_end took their first days off). */
static const char days_sql[] =
    "SELECT day - " D0 ", count(*)"
    "  FROM customer_days"
    " WHERE tenant_id = $1 AND day <= " CAL_END
    " GROUP BY day";
/* clang-format on */

#define FETCH_ROWS "20000"

/* The read's plan (SET LOCAL: this transaction only; a small tenant's rows
 * are still found by a bitmap scan of the primary key). */
#define PLAN_SETTINGS                                                                    \
    "SET LOCAL enable_indexscan = off; SET LOCAL cursor_tuple_fraction = 1"

static int64_t col_i64(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* The read's state: the input being built, and the holdout's purchase
 * days per day (hold[d] for day cal_end + 1 + d; NULL when the holdout is
 * too long for a series: summary_backtest_end refuses it then). */
typedef struct reader {
    summary_backtest *out;
    double *hold;
    int64_t n_hold;
} reader;

/* Counts the days of a PostgreSQL integer array's text ("{10290,10301}")
 * into x->hold. */
static void count_holdout_days(reader *x, const char *text)
{
    const char *p = text;
    int64_t base = x->out->cal_end_day + 1;
    while (x->hold != NULL && *p != '\0' && *p != '}') {
        p++; /* '{' or ',' */
        char *end;
        long long day = strtoll(p, &end, 10);
        if (end == p)
            break;
        if (day >= base && day - base < x->n_hold)
            x->hold[day - base] += 1;
        p = end;
    }
}

/* Adds the customers of one FETCH to x->out. */
static summary_backtest_status add_rows(const PGresult *res, reader *x)
{
    summary_backtest_status st = SUMMARY_BACKTEST_OK;
    for (int r = 0; st == SUMMARY_BACKTEST_OK && r < PQntuples(res); r++) {
        summary_backtest_agg a = {
            .first_day = col_i64(res, r, 0),
            .last_cal_day = col_i64(res, r, 1),
            .cal_days = col_i64(res, r, 2),
            .repeat_units = col_i64(res, r, 3),
            .hold_days = col_i64(res, r, 4),
            .hold_units = col_i64(res, r, 5),
        };
        st = summary_backtest_add(x->out, &a);
        if (!PQgetisnull(res, r, 6))
            count_holdout_days(x, PQgetvalue(res, r, 6));
    }
    return st;
}

/* Streams agg_sql into x, FETCH_ROWS customers at a time. Returns 0
 * (with *st), 1 when stopped, -1 (db->err). */
static int read_customers(store_db *db, const char *const *vals, store_stop *stop,
                          reader *x, summary_backtest_status *st)
{
    PGresult *res = store_db_query(db, agg_sql, 3, vals);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc =
            store_stop_asked(stop) ? 1 : store_db_fail(db, res, "back-test customers");
        PQclear(res);
        return rc;
    }
    for (;;) {
        PQclear(res);
        if (store_stop_asked(stop))
            return 1;
        res = store_db_query(db, "FETCH " FETCH_ROWS " FROM ltvd_backtest", 0, NULL);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            int rc = store_stop_asked(stop)
                         ? 1
                         : store_db_fail(db, res, "back-test customers");
            PQclear(res);
            return rc;
        }
        if (PQntuples(res) == 0)
            break;
        if ((*st = add_rows(res, x)) != SUMMARY_BACKTEST_OK)
            break;
    }
    PQclear(res);
    return 0;
}

/* The series' purchase days into x->out (after summary_backtest_end): the
 * calibration's from days_sql, the holdout's counted by add_rows. */
static int read_days(store_db *db, const char *const *vals, store_stop *stop, reader *x)
{
    PGresult *res = store_db_query(db, days_sql, 2, vals);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = store_stop_asked(stop) ? 1
                                    : store_db_fail(db, res, "back-test purchase days");
    for (int r = 0; rc == 0 && r < PQntuples(res); r++)
        summary_backtest_add_days(x->out, col_i64(res, r, 0), (double)col_i64(res, r, 1));
    PQclear(res);
    for (int64_t d = 0; rc == 0 && d < x->n_hold; d++)
        if (x->hold[d] != 0)
            summary_backtest_add_days(x->out, x->out->cal_end_day + 1 + d, x->hold[d]);
    return rc;
}

int store_backtest_read(store_db *db, const char *tenant, int64_t cal_end_day,
                        int64_t obs_end_day, int period_days, store_stop *stop,
                        summary_backtest *out, summary_backtest_status *st)
{
    *st = summary_backtest_begin(out, cal_end_day, obs_end_day, period_days);
    if (*st != SUMMARY_BACKTEST_OK)
        return 0;
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    char cal[24], obs[24];
    snprintf(cal, sizeof cal, "%lld", (long long)cal_end_day);
    snprintf(obs, sizeof obs, "%lld", (long long)obs_end_day);
    const char *vals[3] = {tenant != NULL ? tenant : STORE_TENANT_DEFAULT, cal, obs};
    /* one snapshot for both statements; every row is read, in one pass of
     * the tenant's rows in the heap's order then sorted, not by the
     * primary key's index scan that a cursor's fast-start costing prefers:
     * rows stored in time order make that a random read of the heap (1M
     * customers, 5M days: 17-20 s against 7-11 s here) */
    reader x = {out, NULL, obs_end_day - cal_end_day};
    if (x.n_hold < BACKTEST_MAX_DAYS &&
        (x.hold = calloc((size_t)x.n_hold, sizeof *x.hold)) == NULL) {
        snprintf(db->err, sizeof db->err, "back-test: out of memory");
        return -1;
    }
    if (x.n_hold >= BACKTEST_MAX_DAYS)
        x.n_hold = 0;
    if (store_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                      PGRES_COMMAND_OK) != 0 ||
        store_db_exec(db, PLAN_SETTINGS, PGRES_COMMAND_OK) != 0) {
        free(x.hold);
        return -1;
    }
    int rc = read_customers(db, vals, stop, &x, st);
    if (rc == 0 && *st == SUMMARY_BACKTEST_OK)
        *st = summary_backtest_end(out);
    if (rc == 0 && *st == SUMMARY_BACKTEST_OK)
        rc = read_days(db, vals, stop, &x);
    if (!store_db_broken(db)) {
        /* read-only: ending it either way loses nothing */
        PGresult *res = store_db_query(db, rc == 0 ? "COMMIT" : "ROLLBACK", 0, NULL);
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = store_db_fail(db, res, "back-test COMMIT");
        PQclear(res);
    }
    free(x.hold);
    return rc;
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

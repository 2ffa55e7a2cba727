/* Per-customer summaries from PostgreSQL (see customers.h): cursors and
 * FETCH for the streams, one statement for a given set. */
#include "store/customers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/month.h"
#include "store/copy_text.h"
#include "store/months_sql.h"

#define FETCH_ROWS "20000"

/* A customer's summary from their days (the customers view's aggregate,
 * written out so each statement can restrict the days before grouping);
 * WHERE and GROUP BY follow. The first day's amount is the least (day,
 * amount) pair's: no sort of each customer's days (migration 010). */
#define FIRST_AMOUNT "(min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2]"
#define MONTHS STORE_SQL_MONTHS
/* clang-format off */
#define DAYS_SUMMARY                                                                     \
    " SELECT tenant_id, customer_id, min(day) - DATE '1970-01-01',"                      \
    "        max(day) - DATE '1970-01-01', count(*),"                                    \
    "        " STORE_SQL_UNITS("sum(amount) - " FIRST_AMOUNT) ","                        \
    "        " STORE_SQL_UNITS(FIRST_AMOUNT) ", " MONTHS                                 \
    "   FROM " STORE_SQL_DAYS_M
#define BY_CUSTOMER " GROUP BY tenant_id, customer_id"
#define CURSOR "DECLARE ltvd_customers NO SCROLL CURSOR FOR"

/* The acquisition attributes beside the summary (the last two columns). */
#define ATTRS_JOIN                                                                       \
    " LEFT JOIN customer_attributes a"                                                   \
    " ON a.tenant_id = c.tenant_id AND a.customer_id = c.customer_id"
#define NOW_COLS                                                                         \
    " SELECT c.tenant_id, c.customer_id, first_day - DATE '1970-01-01',"                 \
    "        last_day - DATE '1970-01-01', n_days,"                                      \
    "        " STORE_SQL_UNITS("repeat_amount") ", " STORE_SQL_UNITS("first_day_amount") \
    ",       purchase_months_c0, purchase_months_c1, purchase_months_c2,"                \
    "        purchase_months_c3,"                                                        \
    "        a.acquisition_channel, a.campaign"                                          \
    "   FROM customers c" ATTRS_JOIN
/* clang-format on */

static const char now_sql[] = CURSOR NOW_COLS " WHERE c.tenant_id = $1";

/* Every tenant's customers (the start-up rebuild). */
static const char all_sql[] = CURSOR NOW_COLS;

/* Tenant $1's days up to $2. */
static const char past_sql[] =
    CURSOR " SELECT c.*, a.acquisition_channel, a.campaign FROM (" DAYS_SUMMARY
           " WHERE tenant_id = $1 AND day <= DATE '1970-01-01' + $2::integer" BY_CUSTOMER
           ") c" ATTRS_JOIN;

/* The customers with rows stored by PostgreSQL transactions whose id is $1
 * or more (ingested_xid, BRIN-indexed: migration 005), but none of $2. */
static const char changed_sql[] =
    "SELECT DISTINCT tenant_id, customer_id FROM transactions"
    " WHERE ingested_xid >= $1::bigint AND ingested_xid <> ALL ($2::bigint[])";

/* Every transaction with an id below the result has ended. */
static const char horizon_sql[] = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text";

/* Distinct customer ids in customer_days as its statistics estimate them
 * (n_distinct < 0 is a share of the rows). No row when never analyzed. */
static const char estimate_sql[] =
    "SELECT (CASE WHEN s.n_distinct >= 0 THEN s.n_distinct"
    "             ELSE -s.n_distinct * c.reltuples END)::bigint"
    "  FROM pg_class c"
    "  JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname"
    " WHERE c.oid = 'customer_days'::regclass AND s.attname = 'customer_id'"
    "   AND c.reltuples > 0";

/* Tenant $1's customers listed in $2 (a text[]), over the days up to $3 or
 * all. */
static const char some_past_sql[] =
    "SELECT c.*, a.acquisition_channel, a.campaign FROM (" DAYS_SUMMARY
    " WHERE tenant_id = $1 AND customer_id = ANY($2::text[])"
    "   AND day <= DATE '1970-01-01' + $3::integer" BY_CUSTOMER ") c" ATTRS_JOIN;
static const char some_now_sql[] =
    "SELECT c.*, a.acquisition_channel, a.campaign FROM (" DAYS_SUMMARY
    " WHERE tenant_id = $1 AND customer_id = ANY($2::text[])" BY_CUSTOMER
    ") c" ATTRS_JOIN;

/* A long-span customer's months within 64 of the first; $4 NULL: every
 * day. */
static const char exact_sql[] = "SELECT coalesce(bit_or(1::bigint << (" STORE_SQL_MONTH(
    "day") " % 64)), 0)"
           "  FROM customer_days WHERE tenant_id = $1 AND customer_id = $2"
           "   AND " STORE_SQL_MONTH("day") " < $3::integer"
                                            "   AND ($4::integer IS NULL OR day <= DATE "
                                            "'1970-01-01' + $4::integer)";

/* The month count and its 64-month epoch and place in it. */
static void month_epoch(int64_t day, int64_t *m, int64_t *e, unsigned *r)
{
    *m = base_month_of_day(day);
    *e = *m >= 0 ? *m / 64 : -((-*m + 63) / 64);
    *r = (unsigned)(*m - *e * 64);
}

uint64_t store_month_bits(const char *const cols[STORE_MONTHS_COLS], int64_t first_day,
                          int64_t last_day, bool *exact_needed)
{
    int64_t m0, e0;
    unsigned r;
    month_epoch(first_day, &m0, &e0, &r);
    *exact_needed = base_month_of_day(last_day) - m0 > STORE_MONTHS_SPAN_MAX;
    if (*exact_needed)
        return 0;
    uint64_t b0 = (uint64_t)strtoll(cols[(e0 % 4 + 4) % 4], NULL, 10);
    uint64_t b1 = (uint64_t)strtoll(cols[((e0 + 1) % 4 + 4) % 4], NULL, 10);
    /* e0's months from m0 on, then e0 + 1's before m0 + 64 */
    return r == 0 ? b0 : b0 >> r | (b1 & (((uint64_t)1 << r) - 1)) << (64 - r);
}

int store_month_bits_exact(store_db *db, const char *tenant, const char *customer,
                           int64_t first_day, int64_t as_of_day, uint64_t *out)
{
    int64_t m0, e0;
    unsigned r;
    month_epoch(first_day, &m0, &e0, &r);
    char end[24], day[24];
    snprintf(end, sizeof end, "%lld", (long long)(m0 + 64));
    snprintf(day, sizeof day, "%lld", (long long)as_of_day);
    const char *vals[] = {tenant, customer, end,
                          as_of_day == STORE_AS_OF_NOW ? NULL : day};
    PGresult *res = store_db_exec_prepared(db, "ltvd_month_bits", exact_sql, 4, vals);
    int rc = -1;
    if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        *out = base_rotr64((uint64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10), r);
        rc = 0;
    } else if (res != NULL) {
        store_db_fail(db, res, "month bits");
    }
    PQclear(res);
    return rc;
}

/* Where the rows delivered come from, for a long span's exact look. */
typedef struct source {
    store_db *db;
    int64_t as_of_day;
} source;

/* The month columns of row r from column col on, and the exact look when
 * the span needs it. Returns 0 or -1 (db->err). */
static int month_bits_at(const source *src, const PGresult *res, int r, int col,
                         store_customer *c)
{
    const char *cols[STORE_MONTHS_COLS];
    for (int k = 0; k < STORE_MONTHS_COLS; k++)
        cols[k] = PQgetvalue(res, r, col + k);
    bool exact;
    c->month_bits = store_month_bits(cols, c->first_day, c->last_day, &exact);
    if (!exact)
        return 0;
    return store_month_bits_exact(src->db, c->tenant_id, c->customer_id, c->first_day,
                                  src->as_of_day, &c->month_bits);
}

/* A text column or NULL when SQL NULL or absent. */
static char *text_or_null(const PGresult *res, int r, int col)
{
    return col < PQnfields(res) && !PQgetisnull(res, r, col) ? PQgetvalue(res, r, col)
                                                             : NULL;
}

/* Hands every row of one FETCH to cb: the summary's 7 columns and the
 * months' STORE_MONTHS_COLS, then the attributes when the statement has
 * them. Returns 0, cb's non-zero value, or -1 when a long span's exact
 * look failed (db->err). */
static int deliver(const source *src, const PGresult *res, store_customer_cb cb,
                   void *arg)
{
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        store_customer c = {
            .tenant_id = PQgetvalue(res, r, 0),
            .customer_id = PQgetvalue(res, r, 1),
            .first_day = strtoll(PQgetvalue(res, r, 2), NULL, 10),
            .last_day = strtoll(PQgetvalue(res, r, 3), NULL, 10),
            .n_days = strtoll(PQgetvalue(res, r, 4), NULL, 10),
            .repeat_units = strtoll(PQgetvalue(res, r, 5), NULL, 10),
            .first_units = strtoll(PQgetvalue(res, r, 6), NULL, 10),
            .channel = text_or_null(res, r, 7 + STORE_MONTHS_COLS),
            .campaign = text_or_null(res, r, 8 + STORE_MONTHS_COLS),
        };
        if (month_bits_at(src, res, r, 7, &c) != 0)
            return -1;
        int stop = cb(&c, arg);
        if (stop)
            return stop;
    }
    return 0;
}

/* Runs the DECLARE statement sql (with n text parameters) in a read-only
 * REPEATABLE READ transaction and hands every row to cb. */
static int stream(store_db *db, const char *sql, int n, const char *const *vals,
                  int64_t as_of_day, store_customer_cb cb, void *arg)
{
    source src = {db, as_of_day};
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    if (store_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                      PGRES_COMMAND_OK) != 0)
        return -1;
    int rc = -1;
    PGresult *res = store_db_query(db, sql, n, vals);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "customers cursor");
        goto cleanup;
    }
    for (;;) {
        PQclear(res);
        res = store_db_query(db, "FETCH " FETCH_ROWS " FROM ltvd_customers", 0, NULL);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            store_db_fail(db, res, "customers fetch");
            goto cleanup;
        }
        if (PQntuples(res) == 0)
            break;
        int got = deliver(&src, res, cb, arg);
        if (got != 0) {
            rc = got < 0 ? -1 : 1;
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    PQclear(res);
    if (!store_db_broken(db)) {
        /* Read-only: ending it either way loses nothing. */
        res = store_db_query(db, rc >= 0 ? "COMMIT" : "ROLLBACK", 0, NULL);
        if (rc >= 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = store_db_fail(db, res, "customers stream COMMIT");
        PQclear(res);
    }
    return rc;
}

int store_customers_stream(store_db *db, const char *tenant, int64_t as_of_day,
                           store_customer_cb cb, void *arg)
{
    if (tenant == NULL)
        return stream(db, all_sql, 0, NULL, STORE_AS_OF_NOW, cb, arg);
    if (as_of_day == STORE_AS_OF_NOW) {
        const char *vals[] = {tenant};
        return stream(db, now_sql, 1, vals, STORE_AS_OF_NOW, cb, arg);
    }
    char day[24];
    snprintf(day, sizeof day, "%lld", (long long)as_of_day);
    const char *vals[] = {tenant, day};
    return stream(db, past_sql, 2, vals, as_of_day, cb, arg);
}

int store_customers_changed(store_db *db, const char *since, const uint64_t *skip_xids,
                            size_t n_skip, store_id_cb cb, void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    /* {1,2,3}: at most 20 digits and a comma each */
    char *skip = malloc(n_skip * 21 + 3), *p = skip;
    if (skip == NULL) {
        snprintf(db->err, sizeof db->err, "out of memory");
        return -1;
    }
    *p++ = '{';
    for (size_t i = 0; i < n_skip; i++)
        p += sprintf(p, "%s%llu", i ? "," : "", (unsigned long long)skip_xids[i]);
    *p++ = '}';
    *p = '\0';
    const char *vals[] = {since, skip};
    int rc = -1;
    PGresult *res = store_db_query(db, changed_sql, 2, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "changed customers");
        goto cleanup;
    }
    rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        rc = cb(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), arg) != 0 ? 1 : 0;
cleanup:
    PQclear(res);
    free(skip);
    return rc;
}

int store_customers_horizon(store_db *db, char out[STORE_TIME_MAX])
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    PGresult *res = store_db_query(db, horizon_sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "transaction horizon");
        PQclear(res);
        return -1;
    }
    snprintf(out, STORE_TIME_MAX, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

long long store_customers_estimate(store_db *db)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    PGresult *res = store_db_query(db, estimate_sql, 0, NULL);
    long long n = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        store_db_fail(db, res, "customers estimate");
    else if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

int store_customers_as_of(store_db *db, const char *tenant, const char *const *ids,
                          size_t n, int64_t as_of_day, store_customer_cb cb, void *arg)
{
    if (n == 0)
        return 0;
    char *array = store_text_array(ids, n);
    if (array == NULL) {
        snprintf(db->err, sizeof db->err, "out of memory");
        return -1;
    }
    char day[24];
    snprintf(day, sizeof day, "%lld", (long long)as_of_day);
    const char *vals[] = {tenant, array, day};
    int rc = -1;
    PGresult *res =
        as_of_day == STORE_AS_OF_NOW
            ? store_db_exec_prepared(db, "ltvd_customers_now", some_now_sql, 2, vals)
            : store_db_exec_prepared(db, "ltvd_customers_as_of", some_past_sql, 3, vals);
    if (res == NULL)
        goto cleanup;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "customers as of");
        goto cleanup;
    }
    source src = {db, as_of_day};
    int got = deliver(&src, res, cb, arg);
    rc = got < 0 ? -1 : got != 0 ? 1 : 0;
cleanup:
    PQclear(res);
    free(array);
    return rc;
}

/* Subscription events in PostgreSQL (see subscriptions.h).
 *
 * Why this shape: the order rules (one start, nothing after a cancel, no
 * renew before the start) span the events already stored and those of the
 * batch, so the batch's transaction locks its subscriptions first
 * (transaction-scoped advisory locks on 64 buckets of the tenant's
 * subscriptions, taken in order so two batches never deadlock), reads
 * what is stored for them, lets the
 * caller's check decide, and only then inserts: two batches of one
 * subscription on two connections are checked one after the other. The
 * batch travels as arrays (unnest), one statement for any size. */
#include "store/subscriptions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/copy_text.h"

/* Arrays of the batch: subscription ids, ids, customer ids, events,
 * occurred_at (seconds), amounts, billing periods. */
#define N_ARRAYS 7

/* The lock buckets of a batch: a subscription's is one of 64 per
 * tenant (two-key advisory locks: their own key space), so a batch takes at
 * most 64 locks whatever its size. One lock per subscription ran
 * out of PostgreSQL's shared lock table (max_locks_per_transaction x
 * connections) at ~6,000 subscriptions in a batch. */
static const char lock_sql[] = "SELECT pg_advisory_xact_lock(hashtext($1::text), b)"
                               "  FROM (SELECT DISTINCT hashtext(s) & 63 AS b FROM "
                               "unnest($2::text[]) s ORDER BY 1) x";

#define EVENT_COLS                                                                       \
    "subscription_id, event_id, customer_id, event,"                                     \
    " floor(extract(epoch FROM occurred_at))::bigint, amount::text, billing_period"

/* Sent unnamed (planned with the batch's array each time), as a join on the
 * distinct ids: a prepared `subscription_id = ANY ($2)` went to a generic
 * plan made while the table was small, a sequential scan comparing every
 * row with every id of the array (unhashed for a parameter): a batch of
 * 10,000 events in a tenant of 138,000 took over 5 s and was refused 503
 * (red team). */
static const char stored_sql[] =
    "SELECT " EVENT_COLS " FROM subscription_events e"
    "  JOIN (SELECT DISTINCT s FROM unnest($2::text[]) s) b ON e.subscription_id = b.s"
    " WHERE e.tenant_id = $1"
    " ORDER BY subscription_id, event_id";

static const char insert_sql[] =
    "INSERT INTO subscription_events AS e (tenant_id, subscription_id, event_id,"
    "       customer_id, event, occurred_at, amount, billing_period)"
    " SELECT DISTINCT ON (s, i) $1::text, s, i, c, ev, to_timestamp(t), a, p"
    "   FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],"
    "               $7::numeric[], $8::text[]) WITH ORDINALITY AS b(s, i, c, ev, t, a, "
    "p, o)"
    "  ORDER BY s, i, o"
    " ON CONFLICT (tenant_id, subscription_id, event_id) DO NOTHING";

static const char version_sql[] =
    "INSERT INTO subscription_versions AS v (tenant_id, version) VALUES ($1, 1)"
    " ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1 RETURNING v.version";

/* The subscriptions of one customer, as an array for lock_sql. */
static const char customer_subs_sql[] =
    "SELECT coalesce(array_agg(DISTINCT subscription_id), '{}')::text"
    "  FROM subscription_events WHERE tenant_id = $1 AND customer_id = $2";

int store_subs_lock_customer(store_db *db, const char *tenant, const char *customer_id)
{
    const char *vals[2] = {tenant, customer_id};
    PGresult *res =
        store_db_exec_prepared(db, "subs_of_customer", customer_subs_sql, 2, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "subscriptions of the customer");
        PQclear(res);
        return -1;
    }
    char *ids = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (ids == NULL) {
        snprintf(db->err, sizeof db->err, "subscriptions: out of memory");
        return -1;
    }
    const char *lock_vals[2] = {tenant, ids};
    res = store_db_exec_prepared(db, "subs_lock", lock_sql, 2, lock_vals);
    free(ids);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = store_db_fail(db, res, "subscriptions lock");
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

const char store_subs_erase_sql[] =
    "WITH d AS (DELETE FROM subscription_events WHERE tenant_id = $1 AND customer_id = $2"
    "           RETURNING 1)"
    " UPDATE subscription_versions SET version = version + 1"
    "  WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM d)";

/* One row per subscription; the amount of the latest start or renew. */
static const char load_sql[] =
    "SELECT subscription_id, min(customer_id), min(billing_period),"
    "       floor(extract(epoch FROM min(occurred_at) FILTER (WHERE event = 'start'))),"
    "       count(*) FILTER (WHERE event = 'renew'),"
    "       floor(extract(epoch FROM min(occurred_at) FILTER (WHERE event = 'cancel'))),"
    "       coalesce((array_agg(amount::text ORDER BY occurred_at DESC, event_id DESC)"
    "                 FILTER (WHERE event <> 'cancel'))[1], '0'),"
    "       floor(extract(epoch FROM max(occurred_at))),"
    "       coalesce((array_agg(amount::text ORDER BY occurred_at, event_id)"
    "                 FILTER (WHERE event = 'start'))[1], '0')"
    "  FROM subscription_events WHERE tenant_id = $1"
    " GROUP BY subscription_id ORDER BY subscription_id";

static const char tenant_version_sql[] =
    "SELECT version FROM subscription_versions WHERE tenant_id = $1";

static const char versions_sql[] = "SELECT tenant_id, version FROM subscription_versions";

/* ---- the batch ------------------------------------------------------------ */

typedef struct subs_ctx {
    const char *tenant;
    char *arrays[N_ARRAYS];
    store_subs_check_fn check;
    void *arg;
    store_subs_result *out;
} subs_ctx;

static store_tx_status failed(store_db *db, PGresult *res, const char *what)
{
    store_db_fail(db, res, what);
    PQclear(res);
    return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
}

/* The stored events of the batch's subscriptions, to the check. */
static store_tx_status check_stored(store_db *db, subs_ctx *c)
{
    const char *vals[2] = {c->tenant, c->arrays[0]};
    PGresult *res = store_db_query(db, stored_sql, 2, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return failed(db, res, "subscriptions");
    int rows = PQntuples(res);
    store_sub_event *v = calloc(rows > 0 ? (size_t)rows : 1, sizeof *v);
    if (v == NULL) {
        PQclear(res);
        snprintf(db->err, sizeof db->err, "subscriptions: out of memory");
        return STORE_TX_ERROR;
    }
    for (int r = 0; r < rows; r++)
        v[r] = (store_sub_event){PQgetvalue(res, r, 0),
                                 PQgetvalue(res, r, 1),
                                 PQgetvalue(res, r, 2),
                                 PQgetvalue(res, r, 3),
                                 strtoll(PQgetvalue(res, r, 4), NULL, 10),
                                 PQgetvalue(res, r, 5),
                                 PQgetvalue(res, r, 6)};
    int rc = c->check(c->arg, v, (size_t)rows);
    free(v);
    PQclear(res);
    if (rc < 0)
        snprintf(db->err, sizeof db->err, "subscriptions: out of memory");
    if (rc != 0)
        c->out->refused = rc > 0;
    return rc != 0 ? STORE_TX_ERROR : STORE_TX_OK;
}

static store_tx_status subs_tx(store_db *db, void *arg)
{
    subs_ctx *c = arg;
    *c->out = (store_subs_result){0};
    const char *lock_vals[2] = {c->tenant, c->arrays[0]};
    PGresult *res = store_db_exec_prepared(db, "subs_lock", lock_sql, 2, lock_vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return failed(db, res, "subscriptions lock");
    PQclear(res);
    store_tx_status st = check_stored(db, c);
    if (st != STORE_TX_OK)
        return st;
    const char *vals[1 + N_ARRAYS] = {c->tenant};
    for (int i = 0; i < N_ARRAYS; i++)
        vals[1 + i] = c->arrays[i];
    res = store_db_exec_prepared(db, "subs_insert", insert_sql, 1 + N_ARRAYS, vals);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return failed(db, res, "subscriptions");
    c->out->n_new = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    if (c->out->n_new == 0)
        return STORE_TX_OK;
    res = store_db_exec_prepared(db, "subs_version", version_sql, 1, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return failed(db, res, "subscription version");
    c->out->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    c->out->version_before = c->out->version - 1;
    PQclear(res);
    return STORE_TX_OK;
}

/* The batch as N_ARRAYS array literals. 0, or -1 when out of memory. */
static int make_arrays(const store_sub_event *items, size_t n, char *arrays[N_ARRAYS])
{
    const char **col = malloc((n > 0 ? n : 1) * sizeof *col);
    char(*secs)[24] = malloc((n > 0 ? n : 1) * sizeof *secs);
    int rc = col != NULL && secs != NULL ? 0 : -1;
    for (int a = 0; rc == 0 && a < N_ARRAYS; a++) {
        for (size_t i = 0; i < n; i++) {
            const store_sub_event *e = &items[i];
            switch (a) {
            case 0:
                col[i] = e->subscription_id;
                break;
            case 1:
                col[i] = e->id;
                break;
            case 2:
                col[i] = e->customer_id;
                break;
            case 3:
                col[i] = e->event;
                break;
            case 4:
                secs[i][store_fmt_i64(secs[i], e->occurred_at_s)] = '\0';
                col[i] = secs[i];
                break;
            case 5:
                col[i] = e->amount;
                break;
            default:
                col[i] = e->billing_period;
                break;
            }
        }
        if ((arrays[a] = store_text_array(col, n)) == NULL)
            rc = -1;
    }
    free(col);
    free(secs);
    return rc;
}

int store_subs_insert(store_db *db, const char *tenant, const store_sub_event *items,
                      size_t n, store_subs_check_fn check, void *arg,
                      store_subs_result *out)
{
    subs_ctx c = {.tenant = tenant, .check = check, .arg = arg, .out = out};
    *out = (store_subs_result){0};
    int rc = -1;
    if (make_arrays(items, n, c.arrays) != 0) {
        snprintf(db->err, sizeof db->err, "subscriptions: out of memory");
        goto cleanup;
    }
    rc = store_db_transaction(db, false, subs_tx, &c);
    if (rc != 0 && out->refused) {
        rc = 0; /* refused by the check: rolled back, nothing stored */
        out->n_new = 0;
        out->version = out->version_before = 0;
    }
cleanup:
    for (int i = 0; i < N_ARRAYS; i++)
        free(c.arrays[i]);
    return rc;
}

/* ---- reads ---------------------------------------------------------------- */

static int64_t opt_i64(PGresult *res, int r, int col, bool *present)
{
    *present = !PQgetisnull(res, r, col);
    return *present ? strtoll(PQgetvalue(res, r, col), NULL, 10) : 0;
}

static int deliver_rows(PGresult *res, store_sub_row_cb cb, void *arg)
{
    for (int r = 0; r < PQntuples(res); r++) {
        store_sub_row row = {.subscription_id = PQgetvalue(res, r, 0),
                             .customer_id = PQgetvalue(res, r, 1),
                             .billing_period = PQgetvalue(res, r, 2),
                             .renewals = strtoll(PQgetvalue(res, r, 4), NULL, 10),
                             .amount = PQgetvalue(res, r, 6),
                             .last_s = strtoll(PQgetvalue(res, r, 7), NULL, 10),
                             .start_amount = PQgetvalue(res, r, 8)};
        row.start_s = opt_i64(res, r, 3, &row.has_start);
        row.cancel_s = opt_i64(res, r, 5, &row.cancelled);
        if (cb(&row, arg) != 0)
            return 1;
    }
    return 0;
}

int store_subs_load(store_db *db, const char *tenant, store_sub_row_cb cb, void *arg,
                    int64_t *version)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    if (store_db_begin_read(db) != 0)
        return -1;
    const char *vals[1] = {tenant};
    int rc = 0;
    PGresult *res =
        store_db_exec_prepared(db, "subs_tenant_version", tenant_version_sql, 1, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = store_db_fail(db, res, "subscription version");
    else
        *version = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    if (rc == 0) {
        res = store_db_exec_prepared(db, "subs_load", load_sql, 1, vals);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            rc = store_db_fail(db, res, "subscriptions");
        else
            rc = deliver_rows(res, cb, arg);
        PQclear(res);
    }
    if (store_db_end_read(db) != 0 && rc == 0)
        rc = -1;
    return rc;
}

int store_subs_versions(store_db *db,
                        void (*cb)(const char *tenant, int64_t version, void *arg),
                        void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    PGresult *res = store_db_exec_prepared(db, "subs_versions", versions_sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "subscription versions");
        PQclear(res);
        return -1;
    }
    for (int r = 0; r < PQntuples(res); r++)
        cb(PQgetvalue(res, r, 0), strtoll(PQgetvalue(res, r, 1), NULL, 10), arg);
    PQclear(res);
    return 0;
}

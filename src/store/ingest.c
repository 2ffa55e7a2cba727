/* Batch ingest: items go to a session-local staging table (COPY or one
 * multi-row INSERT), then one statement moves the new ones into transactions,
 * folds them into customer_days and returns what each (customer, day)
 * gained, all in one transaction.
 *
 * Why this shape:
 *  - ON CONFLICT (customer_id, txn_id) DO NOTHING makes a resent batch a
 *    no-op; only the rows it RETURNs (really new ones) reach customer_days,
 *    so a batch racing an identical one on another connection counts nothing
 *    twice (the second waits on the first's index entries, then skips them).
 *  - customer_days is updated by deltas (ON CONFLICT DO UPDATE SET n = d.n +
 *    ...), which PostgreSQL applies to the latest committed row under its row
 *    lock, so concurrent batches of one customer and day never lose an update,
 *    and exactly one of them finds the day new (its n_transactions after the
 *    upsert is its own count).
 *  - The batch returns those deltas, not the customers' summaries: the
 *    cache adds them up (exact integer amounts, in any order), so no batch
 *    reads anything back. Reading each batch's customers' summaries after
 *    COMMIT cost about as much as the writes (bench/service.sh: 44-48k txn/s
 *    with the read, 72-86k without, 8 clients).
 *  - Rows are written in key order in every table, so two batches lock in the
 *    same order; a deadlock left over is retried by store_db_transaction.
 * Measured before migration 004 (LTVD_STORE_BENCH=1 CK_RUN_SUITE=store
 * scripts/with_pg.sh build/check_ltvd; 1000 new items over 1000 customers per
 * batch, fsync on, this 2-core machine, noisy): COPY staging 23-30k rows/s on
 * one connection, the multi-row INSERT 17-23k rows/s. */
#include "store/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/acquisition.h"
#include "store/copy_text.h"
#include "store/direct.h"

/* Bind parameters per staged row in the multi-row INSERT, and rows per
 * statement (PostgreSQL allows 65535 parameters). */
#define INSERT_PARAMS 4
#define INSERT_CHUNK 8192

static const char stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS ltvd_stage ("
    " ord integer NOT NULL, customer_id text COLLATE \"C\" NOT NULL,"
    " txn_id text COLLATE \"C\" NOT NULL,"
    " occurred_at timestamptz NOT NULL, amount numeric(18, 4) NOT NULL)"
    " ON COMMIT DELETE ROWS";

/* The xid is taken once (an InitPlan) for every row and the result. */
static const char apply_sql[] =
    "WITH x AS ("
    "  SELECT pg_current_xact_id()::text::bigint AS xid"
    "), ins AS ("
    "  INSERT INTO transactions AS t"
    "         (tenant_id, customer_id, txn_id, occurred_at, amount, ingested_xid)"
    "  SELECT DISTINCT ON (customer_id, txn_id) $1::text, customer_id, txn_id,"
    "         occurred_at, amount, (SELECT xid FROM x)"
    "    FROM ltvd_stage ORDER BY customer_id, txn_id, ord"
    "  ON CONFLICT (tenant_id, customer_id, txn_id) DO NOTHING"
    "  RETURNING t.customer_id, (t.occurred_at AT TIME ZONE 'UTC')::date AS day, t.amount"
    "), day_delta AS ("
    "  SELECT customer_id, day, sum(amount) AS amount, count(*)::integer AS n"
    "    FROM ins GROUP BY customer_id, day"
    "), days AS ("
    "  INSERT INTO customer_days AS d"
    "         (tenant_id, customer_id, day, amount, n_transactions)"
    "  SELECT $1::text, customer_id, day, amount, n FROM day_delta"
    "   ORDER BY customer_id, day"
    "  ON CONFLICT (tenant_id, customer_id, day) DO UPDATE"
    "    SET amount = d.amount + EXCLUDED.amount,"
    "        n_transactions = d.n_transactions + EXCLUDED.n_transactions"
    "  RETURNING d.customer_id, d.day, d.n_transactions"
    ")"
    "SELECT dd.customer_id, dd.day - DATE '1970-01-01', days.n_transactions = dd.n,"
    "       " STORE_SQL_UNITS(
        "dd.amount") ", dd.n, (SELECT xid FROM x)"
                     "  FROM day_delta dd JOIN days USING (customer_id, day)"
                     " ORDER BY dd.customer_id, dd.day";

/* ---- staging ------------------------------------------------------------- */

static int stage_copy(store_db *db, const store_item *items, size_t n)
{
    store_sbuf b = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        char ord[24], when[64];
        snprintf(ord, sizeof ord, "%zu", i);
        if (store_sbuf_field(&b, ord, '\t') ||
            store_sbuf_field(&b, items[i].customer_id, '\t') ||
            store_sbuf_field(&b, items[i].txn_id, '\t') ||
            store_sbuf_field(&b, store_when_text(&items[i], when), '\t') ||
            store_sbuf_field(&b, items[i].amount, '\n')) {
            snprintf(db->err, sizeof db->err, "ingest: out of memory");
            goto cleanup;
        }
    }
    rc = store_copy_in(db, "COPY ltvd_stage FROM STDIN", &b, "COPY ltvd_stage");
cleanup:
    free(b.p);
    return rc;
}

/* INSERT INTO ltvd_stage VALUES (0,$1,$2,$3,$4),(1,$5,...) for items[0..n):
 * the text holds placeholders and our row numbers only, never user data. */
static int stage_insert_chunk(store_db *db, const store_item *items, size_t n,
                              size_t base)
{
    store_sbuf sql = {0};
    const char **vals = malloc(n * INSERT_PARAMS * sizeof *vals);
    char(*when)[64] = malloc(n * sizeof *when);
    PGresult *res = NULL;
    int rc = -1;
    const char head[] =
        "INSERT INTO ltvd_stage (ord, customer_id, txn_id, occurred_at, amount)"
        " VALUES ";
    if (vals == NULL || when == NULL ||
        store_sbuf_reserve(&sql, sizeof head + n * 64) != 0) {
        snprintf(db->err, sizeof db->err, "ingest: out of memory");
        goto cleanup;
    }
    memcpy(sql.p, head, sizeof head);
    sql.len = sizeof head - 1;
    for (size_t i = 0; i < n; i++) {
        size_t p = i * INSERT_PARAMS;
        sql.len += (size_t)sprintf(sql.p + sql.len, "%s(%zu,$%zu,$%zu,$%zu,$%zu)",
                                   i ? "," : "", base + i, p + 1, p + 2, p + 3, p + 4);
        vals[p] = items[i].customer_id;
        vals[p + 1] = items[i].txn_id;
        vals[p + 2] = store_when_text(&items[i], when[i]);
        vals[p + 3] = items[i].amount;
    }
    res = store_db_query(db, sql.p, (int)(n * INSERT_PARAMS), vals);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "INSERT INTO ltvd_stage");
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(res);
    free(sql.p);
    free(vals);
    free(when);
    return rc;
}

static int stage_insert(store_db *db, const store_item *items, size_t n)
{
    for (size_t i = 0; i < n; i += INSERT_CHUNK) {
        size_t k = n - i < INSERT_CHUNK ? n - i : INSERT_CHUNK;
        if (stage_insert_chunk(db, items + i, k, i) != 0)
            return -1;
    }
    return 0;
}

/* ---- the transaction ------------------------------------------------------ */

typedef struct batch_ctx {
    const char *tenant;
    const store_item *items;
    size_t n;
    store_ingest_method method;
    store_direct_plan plan;
    bool direct; /* try the fast path (direct.c) */
    bool staged; /* the staged path ran (and created ltvd_stage) */
    store_batch_result *out;
} batch_ctx;

int ingest_read_deltas(store_db *db, PGresult *res, size_t n_items,
                       store_batch_result *out)
{
    int rows = PQntuples(res);
    out->days = calloc(rows > 0 ? (size_t)rows : 1, sizeof *out->days);
    if (out->days == NULL) {
        snprintf(db->err, sizeof db->err, "ingest: out of memory");
        return -1;
    }
    for (int r = 0; r < rows; r++) {
        store_day_delta *d = &out->days[r];
        d->customer_id = PQgetvalue(res, r, 0);
        d->day = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        d->new_day = PQgetvalue(res, r, 2)[0] == 't';
        d->units = strtoll(PQgetvalue(res, r, 3), NULL, 10);
        d->n = strtoll(PQgetvalue(res, r, 4), NULL, 10);
        out->n_new += (size_t)d->n;
        out->xid = strtoull(PQgetvalue(res, r, 5), NULL, 10);
    }
    out->n_days = (size_t)rows;
    out->n_duplicate = n_items - out->n_new;
    out->res = res;
    return 0;
}

static store_tx_status insert_rows_tx(store_db *db, void *arg)
{
    batch_ctx *ctx = arg;
    store_batch_result_free(ctx->out);
    ctx->staged = false;
    if (ctx->direct) {
        switch (store_direct_insert(db, ctx->tenant, ctx->items, ctx->n, &ctx->plan,
                                    ctx->out)) {
        case STORE_DIRECT_OK:
            return STORE_TX_OK;
        case STORE_DIRECT_CONFLICT:
            ctx->direct = false;
            return STORE_TX_AGAIN;
        case STORE_DIRECT_ERROR:
            return STORE_TX_ERROR;
        case STORE_DIRECT_STORED:
            break; /* nothing written: the staged path, in this transaction */
        }
    }
    ctx->staged = true;
    if (!db->stage_ready && store_db_exec(db, stage_sql, PGRES_COMMAND_OK) != 0)
        return STORE_TX_ERROR;
    int staged = ctx->method == STORE_INGEST_INSERT ? stage_insert(db, ctx->items, ctx->n)
                                                    : stage_copy(db, ctx->items, ctx->n);
    if (staged != 0)
        return STORE_TX_ERROR;

    const char *vals[] = {ctx->tenant};
    PGresult *res = store_db_exec_prepared(db, "ingest_apply", apply_sql, 1, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "ingest");
        PQclear(res);
        return STORE_TX_ERROR;
    }
    if (ingest_read_deltas(db, res, ctx->n, ctx->out) != 0) {
        PQclear(res);
        return STORE_TX_ERROR;
    }
    return STORE_TX_OK;
}

/* The rows, then the first-touch attributes the items carry. */
static store_tx_status insert_batch_tx(store_db *db, void *arg)
{
    batch_ctx *ctx = arg;
    store_tx_status st = insert_rows_tx(db, arg);
    if (st == STORE_TX_OK &&
        store_attrs_first_touch(db, ctx->tenant, ctx->items, ctx->n, ctx->out) != 0)
        return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
    return st;
}

int store_insert_batch(store_db *db, const store_item *items, size_t n,
                       const store_batch_opts *opts, store_batch_result *out)
{
    return store_insert_batch_via(db, items, n, STORE_INGEST_COPY, opts, out);
}

int store_insert_batch_via(store_db *db, const store_item *items, size_t n,
                           store_ingest_method method, const store_batch_opts *opts,
                           store_batch_result *out)
{
    static const store_batch_opts none = {0};
    if (opts == NULL)
        opts = &none;
    memset(out, 0, sizeof *out);
    if (n == 0) {
        if (opts->commit_gate != NULL)
            pthread_rwlock_rdlock(opts->commit_gate); /* held on success, as documented */
        return 0;
    }
    batch_ctx ctx = {.tenant = opts->tenant != NULL ? opts->tenant : STORE_TENANT_DEFAULT,
                     .items = items,
                     .n = n,
                     .method = method,
                     .out = out};
    if (method == STORE_INGEST_COPY) {
        int planned = store_direct_plan_make(items, n, opts->days_hint,
                                             opts->days_hint_arg, &ctx.plan);
        if (planned < 0) {
            snprintf(db->err, sizeof db->err, "ingest: out of memory");
            return -1;
        }
        ctx.direct = planned == 1;
    }
    int rc =
        store_db_transaction_gated(db, false, insert_batch_tx, &ctx, opts->commit_gate);
    store_direct_plan_free(&ctx.plan);
    if (rc != 0) {
        store_batch_result_free(out);
        return -1;
    }
    if (ctx.staged)
        db->stage_ready = true; /* created in a committed transaction */
    return 0;
}

void store_batch_result_free(store_batch_result *r)
{
    if (r == NULL)
        return;
    free(r->days);
    free(r->arena);
    PQclear(r->res);
    free(r->attrs);
    PQclear(r->attrs_res);
    memset(r, 0, sizeof *r);
}

/* Batch ingest: items go to a session-local staging table (COPY or one
 * multi-row INSERT), then one statement moves the new ones into transactions
 * and folds them into customer_days, and the batch's customers are read back
 * summarised, all in one transaction.
 *
 * Why this shape:
 *  - ON CONFLICT (customer_id, txn_id) DO NOTHING makes a resent batch a
 *    no-op; only the rows it RETURNs (really new ones) reach customer_days,
 *    so a batch racing an identical one on another connection counts nothing
 *    twice (the second waits on the first's index entries, then skips them).
 *  - customer_days is updated by deltas (ON CONFLICT DO UPDATE SET n = d.n +
 *    ...), which PostgreSQL applies to the latest committed row under its row
 *    lock, so concurrent batches of one customer and day never lose an update.
 *  - The per-customer summary is not stored: it is an aggregate of the
 *    customer's few days (the customers view, migration 004). Keeping a
 *    customers table in step cost as much again as everything else, and
 *    its rows were where concurrent batches of the same customers queued
 *    until each other's commit.
 *  - Rows are written in key order in every table, so two batches lock in the
 *    same order; a deadlock left over is retried by store_db_transaction.
 * Measured before migration 004 (LTVD_STORE_BENCH=1 CK_RUN_SUITE=store
 * scripts/with_pg.sh build/check_ltvd; 1000 new items over 1000 customers per
 * batch, fsync on, this 2-core machine, noisy): COPY staging 23-30k rows/s on
 * one connection, the multi-row INSERT 17-23k rows/s. In psql on 8000 staged
 * rows (15 runs, interleaved): the three inserts took 0.45 s a batch, the
 * two without customers 0.27 s, the transactions insert alone 0.20 s
 * (each with about 0.1 s of psql start-up and COPY). */
#include "store/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/customers.h"

/* Bind parameters per staged row in the multi-row INSERT, and rows per
 * statement (PostgreSQL allows 65535 parameters). */
#define INSERT_PARAMS 4
#define INSERT_CHUNK 8192

static const char stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS ltvd_stage ("
    " ord integer NOT NULL, customer_id text NOT NULL, txn_id text NOT NULL,"
    " occurred_at timestamptz NOT NULL, amount numeric(18, 4) NOT NULL)"
    " ON COMMIT DELETE ROWS";

static const char apply_sql[] =
    "WITH ins AS ("
    "  INSERT INTO transactions AS t (customer_id, txn_id, occurred_at, amount)"
    "  SELECT DISTINCT ON (customer_id, txn_id) customer_id, txn_id, occurred_at, amount"
    "    FROM ltvd_stage ORDER BY customer_id, txn_id, ord"
    "  ON CONFLICT (customer_id, txn_id) DO NOTHING"
    "  RETURNING t.customer_id, (t.occurred_at AT TIME ZONE 'UTC')::date AS day, t.amount"
    "), day_delta AS ("
    "  SELECT customer_id, day, sum(amount) AS amount, count(*)::integer AS n"
    "    FROM ins GROUP BY customer_id, day"
    "), days AS ("
    "  INSERT INTO customer_days AS d (customer_id, day, amount, n_transactions)"
    "  SELECT customer_id, day, amount, n FROM day_delta ORDER BY customer_id, day"
    "  ON CONFLICT (customer_id, day) DO UPDATE"
    "    SET amount = d.amount + EXCLUDED.amount,"
    "        n_transactions = d.n_transactions + EXCLUDED.n_transactions"
    "  RETURNING 1"
    ")"
    "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM days)";

/* ---- staging ------------------------------------------------------------- */

/* occurred_at as text PostgreSQL reads as timestamptz. */
static const char *when_text(const store_item *it, char buf[64])
{
    if (it->occurred_at != NULL)
        return it->occurred_at;
    time_t t = (time_t)it->occurred_at_s;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, 64, "%Y-%m-%d %H:%M:%S+00", &tm) == 0)
        return "invalid"; /* refused by the server with a clear message */
    return buf;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static int sbuf_reserve(sbuf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Appends s as a COPY text-format field (backslash escapes). */
static int sbuf_field(sbuf *b, const char *s, char sep)
{
    size_t n = strlen(s);
    if (sbuf_reserve(b, 2 * n + 2) != 0)
        return -1;
    for (; *s; s++) {
        char c = *s, e = 0;
        switch (c) {
        case '\\':
            e = '\\';
            break;
        case '\t':
            e = 't';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        default:
            break;
        }
        if (e) {
            b->p[b->len++] = '\\';
            b->p[b->len++] = e;
        } else {
            b->p[b->len++] = c;
        }
    }
    b->p[b->len++] = sep;
    return 0;
}

static int stage_copy(store_db *db, const store_item *items, size_t n)
{
    sbuf b = {0};
    int rc = -1;
    PGresult *res = NULL;
    for (size_t i = 0; i < n; i++) {
        char ord[24], when[64];
        snprintf(ord, sizeof ord, "%zu", i);
        if (sbuf_field(&b, ord, '\t') || sbuf_field(&b, items[i].customer_id, '\t') ||
            sbuf_field(&b, items[i].txn_id, '\t') ||
            sbuf_field(&b, when_text(&items[i], when), '\t') ||
            sbuf_field(&b, items[i].amount, '\n')) {
            snprintf(db->err, sizeof db->err, "ingest: out of memory");
            goto cleanup;
        }
    }
    res = PQexec(db->conn, "COPY ltvd_stage FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        store_db_fail(db, res, "COPY ltvd_stage");
        goto cleanup;
    }
    PQclear(res);
    res = NULL;
    if (PQputCopyData(db->conn, b.p, (int)b.len) != 1 ||
        PQputCopyEnd(db->conn, NULL) != 1) {
        store_db_fail(db, NULL, "COPY ltvd_stage");
        goto cleanup;
    }
    res = PQgetResult(db->conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "COPY ltvd_stage");
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(res);
    /* Drain whatever the COPY left, so the connection is usable again. */
    while (rc != 0 && (res = PQgetResult(db->conn)) != NULL)
        PQclear(res);
    free(b.p);
    return rc;
}

/* INSERT INTO ltvd_stage VALUES (0,$1,$2,$3,$4),(1,$5,...) for items[0..n):
 * the text holds placeholders and our row numbers only, never user data. */
static int stage_insert_chunk(store_db *db, const store_item *items, size_t n,
                              size_t base)
{
    sbuf sql = {0};
    const char **vals = malloc(n * INSERT_PARAMS * sizeof *vals);
    char(*when)[64] = malloc(n * sizeof *when);
    PGresult *res = NULL;
    int rc = -1;
    const char head[] =
        "INSERT INTO ltvd_stage (ord, customer_id, txn_id, occurred_at, amount)"
        " VALUES ";
    if (vals == NULL || when == NULL || sbuf_reserve(&sql, sizeof head + n * 64) != 0) {
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
        vals[p + 2] = when_text(&items[i], when[i]);
        vals[p + 3] = items[i].amount;
    }
    res = PQexecParams(db->conn, sql.p, (int)(n * INSERT_PARAMS), NULL, vals, NULL, NULL,
                       0);
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
    const store_item *items;
    size_t n;
    store_ingest_method method;
    store_batch_result *out;
} batch_ctx;

/* Keeps one summary store_customers_as_of delivers. */
static int keep_summary(const store_customer *c, void *arg)
{
    store_batch_result *out = arg;
    store_customer *d = &out->customers[out->n_customers];
    *d = *c;
    if ((d->customer_id = strdup(c->customer_id)) == NULL)
        return 1;
    out->n_customers++;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const store_customer *)a)->customer_id,
                  ((const store_customer *)b)->customer_id);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The summaries of the batch's customers, read after COMMIT: each read
 * holds every day committed by then, so of two batches of one customer
 * committed concurrently the later read has both, and the cache, which
 * keeps the summary that dominates (app_cache_apply), ends with it. Read
 * inside the transaction, both could miss the other's day. */
static int read_summaries(store_db *db, const store_item *items, size_t n,
                          store_batch_result *out)
{
    const char **ids = malloc(n * sizeof *ids);
    size_t k = 0;
    int rc = 1; /* out of memory unless the query says otherwise */
    if (ids == NULL)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        ids[i] = items[i].customer_id;
    qsort(ids, n, sizeof *ids, by_name);
    for (size_t i = 0; i < n; i++) {
        if (k == 0 || strcmp(ids[k - 1], ids[i]) != 0)
            ids[k++] = ids[i];
    }
    out->customers = calloc(k, sizeof *out->customers);
    if (out->customers == NULL)
        goto cleanup;
    rc = store_customers_as_of(db, ids, k, STORE_AS_OF_NOW, keep_summary, out);
    if (rc == 0)
        qsort(out->customers, out->n_customers, sizeof *out->customers, by_id);
cleanup:
    if (rc > 0)
        snprintf(db->err, sizeof db->err, "ingest: out of memory");
    free(ids);
    return rc == 0 ? 0 : -1;
}

static store_tx_status insert_batch_tx(store_db *db, void *arg)
{
    batch_ctx *ctx = arg;
    store_batch_result_free(ctx->out);
    if (!db->stage_ready && store_db_exec(db, stage_sql, PGRES_COMMAND_OK) != 0)
        return STORE_TX_ERROR;
    int staged = ctx->method == STORE_INGEST_INSERT ? stage_insert(db, ctx->items, ctx->n)
                                                    : stage_copy(db, ctx->items, ctx->n);
    if (staged != 0)
        return STORE_TX_ERROR;

    PGresult *res = store_db_exec_prepared(db, "ingest_apply", apply_sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "ingest");
        PQclear(res);
        return STORE_TX_ERROR;
    }
    ctx->out->n_new = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    ctx->out->n_duplicate = ctx->n - ctx->out->n_new;
    PQclear(res);
    return STORE_TX_OK;
}

int store_insert_batch(store_db *db, const store_item *items, size_t n,
                       store_batch_result *out)
{
    return store_insert_batch_via(db, items, n, STORE_INGEST_COPY, out);
}

int store_insert_batch_via(store_db *db, const store_item *items, size_t n,
                           store_ingest_method method, store_batch_result *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    batch_ctx ctx = {items, n, method, out};
    if (store_db_transaction(db, false, insert_batch_tx, &ctx) != 0) {
        store_batch_result_free(out);
        return -1;
    }
    db->stage_ready = true; /* created in a committed transaction */
    if (read_summaries(db, items, n, out) != 0) {
        char why[STORE_ERR_MAX];
        snprintf(why, sizeof why, "stored, but the summaries could not be read: %.400s",
                 db->err);
        snprintf(db->err, sizeof db->err, "%s", why);
        store_batch_result_free(out);
        return -1;
    }
    return 0;
}

void store_batch_result_free(store_batch_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_customers; i++)
        free(r->customers[i].customer_id);
    free(r->customers);
    memset(r, 0, sizeof *r);
}

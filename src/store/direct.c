/* The fast path of store_insert_batch (see direct.h).
 *
 * Why: the staged path (ingest.c) copies a batch into a temporary table and
 * moves it on with INSERT ... ON CONFLICT DO NOTHING, so that a resent batch
 * is harmless; PostgreSQL then checks every row against the primary key
 * before inserting it and sorts and groups the rows again. Most batches are
 * new: for them a COPY into transactions does the same work as psql's \copy,
 * and the per-day sums computed here go to customer_days.
 * Whether a batch is new is asked first for three of its items (a resent
 * batch is caught there); a batch new there but partly stored, or racing an
 * identical one, fails its COPY on the primary key and the caller redoes it
 * on the staged path, as it does a batch that meets a stored day another
 * batch holds (update_days says why). PostgreSQL logs such a failure as an
 * ERROR, with the key: rare, and the price of not checking every row twice.
 *
 * Days: the stored ones among the batch's are looked up first (only those
 * inside the customer's cached first..last range, store_days_hint_fn), the
 * new ones copied, the stored ones updated. */
#include "store/direct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/copy_text.h"
#include "summary/summary.h"

/* ---- the plan ------------------------------------------------------------ */

/* An item's key and position, for sorting without a context argument. */
typedef struct item_key {
    const char *customer_id, *txn_id;
    size_t index;
} item_key;

static int by_key(const void *a, const void *b)
{
    const item_key *x = a, *y = b;
    int c = strcmp(x->customer_id, y->customer_id);
    if (c == 0)
        c = strcmp(x->txn_id, y->txn_id);
    if (c == 0) /* the first occurrence first: it is the one kept */
        c = x->index < y->index ? -1 : 1;
    return c;
}

static int by_customer_day(const void *a, const void *b)
{
    const store_direct_plan_day *x = a, *y = b;
    int c = strcmp(x->customer_id, y->customer_id);
    return c != 0 ? c : x->day < y->day ? -1 : x->day > y->day;
}

/* Marks the days outside what hint says may be stored. */
static int apply_hint(store_direct_plan *p, store_days_hint_fn hint, void *hint_arg)
{
    size_t n = p->n_days, k = 0;
    const char **ids = malloc((n > 0 ? n : 1) * sizeof *ids);
    int64_t *lo = malloc((n > 0 ? n : 1) * sizeof *lo);
    int64_t *hi = malloc((n > 0 ? n : 1) * sizeof *hi);
    int rc = -1;
    if (ids == NULL || lo == NULL || hi == NULL)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if (k == 0 || strcmp(ids[k - 1], p->days[i].customer_id) != 0)
            ids[k++] = p->days[i].customer_id;
    }
    hint(hint_arg, ids, k, lo, hi);
    for (size_t i = 0, c = 0; i < n; i++) {
        if (i > 0 && strcmp(p->days[i - 1].customer_id, p->days[i].customer_id) != 0)
            c++;
        p->surely_new[i] = p->days[i].day < lo[c] || p->days[i].day > hi[c];
    }
    rc = 0;
cleanup:
    free(ids);
    free(lo);
    free(hi);
    return rc;
}

int store_direct_plan_make(const store_item *items, size_t n, store_days_hint_fn hint,
                           void *hint_arg, store_direct_plan *p)
{
    memset(p, 0, sizeof *p);
    item_key *keys = malloc((n > 0 ? n : 1) * sizeof *keys);
    p->order = malloc((n > 0 ? n : 1) * sizeof *p->order);
    p->days = malloc((n > 0 ? n : 1) * sizeof *p->days);
    if (keys == NULL || p->order == NULL || p->days == NULL) {
        free(keys);
        store_direct_plan_free(p);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = (item_key){items[i].customer_id, items[i].txn_id, i};
    qsort(keys, n, sizeof *keys, by_key);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(keys[i - 1].customer_id, keys[i].customer_id) == 0 &&
            strcmp(keys[i - 1].txn_id, keys[i].txn_id) == 0)
            continue; /* a repeat inside the batch: a duplicate */
        const store_item *it = &items[keys[i].index];
        int64_t units;
        if (it->occurred_at != NULL || store_amount_units(it->amount, &units) != 0) {
            free(keys);
            store_direct_plan_free(p);
            return 0;
        }
        p->order[p->n_unique++] = keys[i].index;
        p->days[p->n_days++] = (store_direct_plan_day){
            it->customer_id, summary_day_of(it->occurred_at_s), units, 1};
    }
    free(keys);
    qsort(p->days, p->n_days, sizeof *p->days, by_customer_day);
    size_t k = 0;
    for (size_t i = 0; i < p->n_days; i++) {
        if (k > 0 && by_customer_day(&p->days[k - 1], &p->days[i]) == 0) {
            if (__builtin_add_overflow(p->days[k - 1].units, p->days[i].units,
                                       &p->days[k - 1].units)) {
                store_direct_plan_free(p); /* past INT64_MAX: the staged path saturates */
                return 0;
            }
            p->days[k - 1].n++;
        } else {
            p->days[k++] = p->days[i];
        }
    }
    p->n_days = k;
    p->surely_new = calloc(k > 0 ? k : 1, sizeof *p->surely_new);
    if (p->surely_new == NULL || (hint != NULL && apply_hint(p, hint, hint_arg) != 0)) {
        store_direct_plan_free(p);
        return -1;
    }
    return 1;
}

void store_direct_plan_free(store_direct_plan *p)
{
    free(p->order);
    free(p->days);
    free(p->surely_new);
    memset(p, 0, sizeof *p);
}

/* ---- the statements -------------------------------------------------------- */

/* The transaction's xid, alone: on Citus a statement that also reads a
 * distributed table runs on a worker and would return the worker's xid,
 * not the coordinator's the catch-up compares (docs/scaling.md). */
static const char xid_sql[] = "SELECT pg_current_xact_id()::text";

/* Whether any of three items of tenant $7 is stored. */
static const char probe_sql[] =
    "SELECT EXISTS (SELECT 1 FROM transactions"
    "                WHERE tenant_id = $7"
    "                  AND (customer_id, txn_id) IN (($1, $2), ($3, $4), ($5, $6)))";

/* Which of tenant $3's (customer, day)s in $1, $2 (day numbers) are stored. */
static const char existing_sql[] =
    "SELECT d.customer_id, d.day - DATE '1970-01-01' FROM customer_days d"
    "  JOIN unnest($1::text[], $2::integer[]) AS u(customer_id, day)"
    "    ON d.tenant_id = $3 AND d.customer_id = u.customer_id COLLATE \"C\""
    "   AND d.day = DATE '1970-01-01' + u.day"
    " ORDER BY 1, 2";

/* Locks the stored days among $1, $2, without waiting (see update_days). */
static const char lock_sql[] =
    "SELECT 1 FROM customer_days d"
    "  JOIN unnest($1::text[], $2::integer[]) AS u(customer_id, day)"
    "    ON d.tenant_id = $3 AND d.customer_id = u.customer_id COLLATE \"C\""
    "   AND d.day = DATE '1970-01-01' + u.day"
    " ORDER BY d.customer_id, d.day FOR UPDATE OF d NOWAIT";

/* Adds the sums $3 (units) and $4 (counts) to tenant $5's stored days. */
static const char update_sql[] =
    "UPDATE customer_days d"
    "   SET amount = d.amount + u.units * 0.0001, n_transactions = d.n_transactions + u.n"
    "  FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::integer[])"
    "       AS u(customer_id, day, units, n)"
    " WHERE d.tenant_id = $5 AND d.customer_id = u.customer_id COLLATE \"C\""
    "   AND d.day = DATE '1970-01-01' + u.day";

/* ---- the path ---------------------------------------------------------------- */

static store_direct_status probe(store_db *db, const char *tenant,
                                 const store_item *items, size_t n, char xid[32])
{
    const store_item *a = &items[0], *b = &items[n / 2], *c = &items[n - 1];
    const char *vals[] = {a->customer_id, a->txn_id, b->customer_id, b->txn_id,
                          c->customer_id, c->txn_id, tenant};
    PGresult *res = store_db_exec_prepared(db, "ingest_xid", xid_sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "ingest probe");
        PQclear(res);
        return STORE_DIRECT_ERROR;
    }
    snprintf(xid, 32, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = store_db_exec_prepared(db, "ingest_probe", probe_sql, 7, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "ingest probe");
        PQclear(res);
        return STORE_DIRECT_ERROR;
    }
    bool stored = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return stored ? STORE_DIRECT_STORED : STORE_DIRECT_OK;
}

static store_direct_status copy_rows(store_db *db, const char *tenant,
                                     const store_item *items, const store_direct_plan *p,
                                     const char *xid)
{
    store_sbuf b = {0};
    store_direct_status st = STORE_DIRECT_ERROR;
    for (size_t i = 0; i < p->n_unique; i++) {
        const store_item *it = &items[p->order[i]];
        char when[64];
        if (store_sbuf_field(&b, tenant, '\t') ||
            store_sbuf_field(&b, it->customer_id, '\t') ||
            store_sbuf_field(&b, it->txn_id, '\t') ||
            store_sbuf_field(&b, store_when_text(it, when), '\t') ||
            store_sbuf_field(&b, it->amount, '\t') || store_sbuf_field(&b, xid, '\n')) {
            snprintf(db->err, sizeof db->err, "ingest: out of memory");
            goto cleanup;
        }
    }
    if (store_copy_in(db,
                      "COPY transactions (tenant_id, customer_id, txn_id,"
                      " occurred_at, amount, ingested_xid) FROM STDIN",
                      &b, "COPY transactions") == 0)
        st = STORE_DIRECT_OK;
    else if (strcmp(db->sqlstate, PG_UNIQUE_VIOLATION) == 0)
        st = STORE_DIRECT_CONFLICT;
cleanup:
    free(b.p);
    return st;
}

/* The parameters of the day statements: array literals of the plan's days
 * with new_day[i] == want (ids as text[]; day numbers, units and counts as
 * {1,2,...}), n of them. */
typedef struct day_args {
    char *ids;
    store_sbuf nums[3];
    size_t n;
} day_args;

static void day_args_free(day_args *a)
{
    free(a->ids);
    for (int j = 0; j < 3; j++)
        free(a->nums[j].p);
}

static int day_args_make(const store_direct_plan *p, const bool *new_day, bool want,
                         day_args *a)
{
    const char **v = malloc((p->n_days > 0 ? p->n_days : 1) * sizeof *v);
    if (v == NULL)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < p->n_days; i++)
        if (new_day[i] == want)
            v[k++] = p->days[i].customer_id;
    a->ids = store_text_array(v, k);
    free(v);
    a->n = k;
    if (a->ids == NULL)
        return -1;
    for (int j = 0; j < 3; j++) {
        if (store_sbuf_reserve(&a->nums[j], k * 21 + 3) != 0)
            return -1;
        a->nums[j].p[a->nums[j].len++] = '{';
    }
    for (size_t i = 0, m = 0; i < p->n_days; i++) {
        const store_direct_plan_day *d = &p->days[i];
        if (new_day[i] != want)
            continue;
        int64_t val[3] = {d->day, d->units, d->n};
        for (int j = 0; j < 3; j++) {
            if (m > 0)
                a->nums[j].p[a->nums[j].len++] = ',';
            a->nums[j].len += store_fmt_i64(a->nums[j].p + a->nums[j].len, val[j]);
        }
        m++;
    }
    for (int j = 0; j < 3; j++) {
        a->nums[j].p[a->nums[j].len++] = '}';
        a->nums[j].p[a->nums[j].len] = '\0';
    }
    return 0;
}

/* Marks new_day[i] for the plan's days not in customer_days. */
static store_direct_status find_new_days(store_db *db, const char *tenant,
                                         const store_direct_plan *p, bool *new_day)
{
    day_args a = {0};
    PGresult *res = NULL;
    store_direct_status st = STORE_DIRECT_ERROR;
    for (size_t i = 0; i < p->n_days; i++)
        new_day[i] = p->surely_new[i];
    if (day_args_make(p, new_day, false, &a) != 0) {
        snprintf(db->err, sizeof db->err, "ingest: out of memory");
        goto cleanup;
    }
    if (a.n == 0) { /* the hint knew them all */
        st = STORE_DIRECT_OK;
        goto cleanup;
    }
    const char *vals[] = {a.ids, a.nums[0].p, tenant};
    res = store_db_exec_prepared(db, "ingest_existing", existing_sql, 3, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "ingest days");
        goto cleanup;
    }
    /* both in (customer_id bytes, day) order: one merge */
    int rows = PQntuples(res), r = 0;
    for (size_t i = 0; i < p->n_days; i++) {
        if (p->surely_new[i])
            continue;
        int c = 1;
        while (r < rows) {
            c = strcmp(PQgetvalue(res, r, 0), p->days[i].customer_id);
            long long day = strtoll(PQgetvalue(res, r, 1), NULL, 10);
            if (c == 0)
                c = day < p->days[i].day ? -1 : day > p->days[i].day;
            if (c >= 0)
                break;
            r++;
        }
        new_day[i] = c != 0;
    }
    st = STORE_DIRECT_OK;
cleanup:
    PQclear(res);
    day_args_free(&a);
    return st;
}

/* COPY of the new days into customer_days. */
static store_direct_status copy_days(store_db *db, const char *tenant,
                                     const store_direct_plan *p, const bool *new_day)
{
    store_sbuf b = {0};
    store_direct_status st = STORE_DIRECT_ERROR;
    size_t k = 0;
    for (size_t i = 0; i < p->n_days; i++) {
        const store_direct_plan_day *d = &p->days[i];
        if (!new_day[i])
            continue;
        char day[16], amount[32], n[24];
        if (summary_format_day(d->day, day) != 0)
            snprintf(day, sizeof day, "invalid"); /* refused by the server */
        size_t k_int = store_fmt_i64(amount, d->units / STORE_AMOUNT_UNITS);
        int64_t frac = d->units % STORE_AMOUNT_UNITS;
        amount[k_int] = '.';
        for (int j = 4; j >= 1; j--, frac /= 10)
            amount[k_int + (size_t)j] = (char)('0' + frac % 10);
        amount[k_int + 5] = '\0';
        store_fmt_i64(n, d->n);
        if (store_sbuf_field(&b, tenant, '\t') ||
            store_sbuf_field(&b, d->customer_id, '\t') ||
            store_sbuf_field(&b, day, '\t') || store_sbuf_field(&b, amount, '\t') ||
            store_sbuf_field(&b, n, '\n')) {
            snprintf(db->err, sizeof db->err, "ingest: out of memory");
            goto cleanup;
        }
        k++;
    }
    st = STORE_DIRECT_OK;
    if (k > 0 && store_copy_in(db,
                               "COPY customer_days (tenant_id, customer_id, day, amount,"
                               " n_transactions) FROM STDIN",
                               &b, "COPY customer_days") != 0)
        st = strcmp(db->sqlstate, PG_UNIQUE_VIOLATION) == 0 ? STORE_DIRECT_CONFLICT
                                                            : STORE_DIRECT_ERROR;
cleanup:
    free(b.p);
    return st;
}

/* Adds the sums of the days already stored. Their rows are locked last and
 * without waiting: this path has inserted its new days by then, out of the
 * one key order the staged path's upsert takes rows in, so waiting here for
 * a row another batch holds could close a cycle (that batch waiting on one
 * of our new days). A row held elsewhere sends the batch to the staged path
 * instead (STORE_DIRECT_CONFLICT). Waits earlier on (the COPYs, in key
 * order, each table in turn as the staged path) cannot form a cycle. */
static store_direct_status update_days(store_db *db, const char *tenant,
                                       const store_direct_plan *p, const bool *new_day)
{
    day_args a = {0};
    PGresult *res = NULL;
    store_direct_status st = STORE_DIRECT_ERROR;
    if (day_args_make(p, new_day, false, &a) != 0) {
        snprintf(db->err, sizeof db->err, "ingest: out of memory");
        goto cleanup;
    }
    st = STORE_DIRECT_OK;
    if (a.n == 0)
        goto cleanup;
    const char *vals[] = {a.ids, a.nums[0].p, a.nums[1].p, a.nums[2].p, tenant};
    const char *lock_vals[] = {a.ids, a.nums[0].p, tenant};
    res = store_db_exec_prepared(db, "ingest_lock_days", lock_sql, 3, lock_vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "ingest days");
        st = strcmp(db->sqlstate, PG_LOCK_NOT_AVAILABLE) == 0 ? STORE_DIRECT_CONFLICT
                                                              : STORE_DIRECT_ERROR;
        goto cleanup;
    }
    PQclear(res);
    res = store_db_exec_prepared(db, "ingest_update_days", update_sql, 5, vals);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "ingest days");
        st = STORE_DIRECT_ERROR;
    } else if (strtoull(PQcmdTuples(res), NULL, 10) != a.n) {
        snprintf(db->err, sizeof db->err, "ingest days: %s of %zu days updated",
                 PQcmdTuples(res), a.n);
        st = STORE_DIRECT_ERROR;
    }
cleanup:
    PQclear(res);
    day_args_free(&a);
    return st;
}

/* The deltas, as store_batch_result wants them (ids copied into out). */
static int fill_result(const store_direct_plan *p, const bool *new_day, size_t n_items,
                       const char *xid, store_batch_result *out)
{
    size_t bytes = 1;
    for (size_t i = 0; i < p->n_days; i++)
        bytes += strlen(p->days[i].customer_id) + 1;
    out->days = calloc(p->n_days > 0 ? p->n_days : 1, sizeof *out->days);
    out->arena = malloc(bytes);
    if (out->days == NULL || out->arena == NULL)
        return -1;
    char *a = out->arena;
    for (size_t i = 0; i < p->n_days; i++) {
        const store_direct_plan_day *d = &p->days[i];
        size_t len = strlen(d->customer_id) + 1;
        memcpy(a, d->customer_id, len);
        out->days[i] = (store_day_delta){a, d->day, new_day[i], d->units, d->n};
        a += len;
    }
    out->n_days = p->n_days;
    out->n_new = p->n_unique;
    out->n_duplicate = n_items - p->n_unique;
    out->xid = strtoull(xid, NULL, 10);
    return 0;
}

store_direct_status store_direct_insert(store_db *db, const char *tenant,
                                        const store_item *items, size_t n,
                                        const store_direct_plan *p,
                                        store_batch_result *out)
{
    char xid[32];
    store_direct_status st = probe(db, tenant, items, n, xid);
    if (st != STORE_DIRECT_OK)
        return st;
    bool *new_day = malloc((p->n_days > 0 ? p->n_days : 1) * sizeof *new_day);
    if (new_day == NULL) {
        snprintf(db->err, sizeof db->err, "ingest: out of memory");
        return STORE_DIRECT_ERROR;
    }
    if ((st = copy_rows(db, tenant, items, p, xid)) == STORE_DIRECT_OK &&
        (st = find_new_days(db, tenant, p, new_day)) == STORE_DIRECT_OK &&
        (st = copy_days(db, tenant, p, new_day)) == STORE_DIRECT_OK &&
        (st = update_days(db, tenant, p, new_day)) == STORE_DIRECT_OK &&
        fill_result(p, new_day, n, xid, out) != 0) {
        snprintf(db->err, sizeof db->err, "ingest: out of memory");
        st = STORE_DIRECT_ERROR;
    }
    free(new_day);
    return st;
}

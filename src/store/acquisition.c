/* Acquisition inputs in PostgreSQL (see acquisition.h): first-touch
 * attributes, their PUT and catch-up, and the spend per channel and
 * month. */
#include "store/acquisition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/copy_text.h"

/* The first writer wins: rows in key order (two batches lock alike). */
static const char first_touch_sql[] =
    "INSERT INTO customer_attributes AS a"
    " (tenant_id, customer_id, acquisition_channel, campaign)"
    " SELECT $1::text, u.c, u.ch, u.ca"
    "   FROM unnest($2::text[], $3::text[], $4::text[]) AS u(c, ch, ca)"
    "  ORDER BY u.c"
    " ON CONFLICT (tenant_id, customer_id) DO NOTHING"
    " RETURNING a.customer_id, a.acquisition_channel, a.campaign";

/* The customer's first day row, locked so that an erasure waits for the
 * PUT (or the PUT sees it gone). */
static const char put_check_sql[] = "SELECT 1 FROM customer_days"
                                    " WHERE tenant_id = $1 AND customer_id = $2"
                                    " LIMIT 1 FOR SHARE";
static const char put_sql[] =
    "INSERT INTO customer_attributes AS a"
    " (tenant_id, customer_id, acquisition_channel, campaign)"
    " VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (tenant_id, customer_id) DO UPDATE"
    " SET acquisition_channel = EXCLUDED.acquisition_channel,"
    "     campaign = EXCLUDED.campaign, written_xid = EXCLUDED.written_xid,"
    "     updated_at = EXCLUDED.updated_at";

static const char changed_sql[] =
    "SELECT tenant_id, customer_id, acquisition_channel, campaign"
    "  FROM customer_attributes WHERE written_xid >= $1::bigint";

static const char spend_page_sql[] =
    "SELECT channel, (extract(year FROM month)::integer * 12"
    "                 + extract(month FROM month)::integer - 1),"
    "       spend::text, coalesce(leads, -1)"
    "  FROM acquisition_spend"
    " WHERE tenant_id = $1 AND (channel, month) > ($2, make_date($3::integer / 12,"
    "                                                   $3::integer % 12 + 1, 1))"
    " ORDER BY channel, month LIMIT $4::bigint";

/* ------------------------------------------------------------ first touch */

/* Items by customer (byte order), then by their place in the batch. */
static int by_customer_then_index(const void *x, const void *y, void *arg)
{
    const store_item *it = arg;
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    int c = strcmp(it[a].customer_id, it[b].customer_id);
    return c != 0 ? c : a < b ? -1 : a > b;
}

/* qsort_r is a GNU extension: a small merge sort keeps this portable. */
static void sort_idx(size_t *v, size_t *tmp, size_t n, const store_item *it)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_idx(v, tmp, h, it);
    sort_idx(v + h, tmp, n - h, it);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] =
            by_customer_then_index(&v[i], &v[j], (void *)it) <= 0 ? v[i++] : v[j++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static void read_attr_rows(PGresult *res, store_batch_result *out)
{
    for (int r = 0; r < PQntuples(res); r++) {
        store_attr_row *a = &out->attrs[out->n_attrs++];
        a->tenant_id = NULL;
        a->customer_id = PQgetvalue(res, r, 0);
        a->channel = PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1);
        a->campaign = PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2);
    }
}

int store_attrs_first_touch(store_db *db, const char *tenant, const store_item *items,
                            size_t n, store_batch_result *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += items[i].channel != NULL || items[i].campaign != NULL;
    if (k == 0)
        return 0;
    size_t *idx = malloc(k * sizeof *idx), *tmp = malloc(k * sizeof *tmp);
    const char **col[3] = {malloc(k * sizeof(char *)), malloc(k * sizeof(char *)),
                           malloc(k * sizeof(char *))};
    char *arr[3] = {NULL, NULL, NULL};
    PGresult *res = NULL;
    int rc = -1;
    if (idx == NULL || tmp == NULL || col[0] == NULL || col[1] == NULL || col[2] == NULL)
        goto oom;
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].channel != NULL || items[i].campaign != NULL)
            idx[k++] = i;
    sort_idx(idx, tmp, k, items);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        const store_item *it = &items[idx[i]];
        if (m > 0 && strcmp(col[0][m - 1], it->customer_id) == 0)
            continue; /* a later item of the same customer: ignored */
        col[0][m] = it->customer_id;
        col[1][m] = it->channel;
        col[2][m] = it->campaign;
        m++;
    }
    for (int c = 0; c < 3; c++)
        if ((arr[c] = store_text_array(col[c], m)) == NULL)
            goto oom;
    const char *vals[] = {tenant, arr[0], arr[1], arr[2]};
    res = store_db_exec_prepared(db, "attrs_first_touch", first_touch_sql, 4, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "first-touch attributes");
        goto cleanup;
    }
    out->attrs = calloc((size_t)PQntuples(res) + 1, sizeof *out->attrs);
    if (out->attrs == NULL)
        goto oom;
    read_attr_rows(res, out);
    out->attrs_res = res;
    res = NULL;
    rc = 0;
    goto cleanup;
oom:
    snprintf(db->err, sizeof db->err, "ingest: out of memory");
cleanup:
    PQclear(res);
    for (int c = 0; c < 3; c++) {
        free(arr[c]);
        free(col[c]);
    }
    free(idx);
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------ PUT */

typedef struct put_ctx {
    const char *vals[4];
    bool missing;
} put_ctx;

static store_tx_status put_tx(store_db *db, void *arg)
{
    put_ctx *p = arg;
    PGresult *res =
        store_db_exec_prepared(db, "attrs_put_check", put_check_sql, 2, p->vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "attributes");
        PQclear(res);
        return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
    }
    p->missing = PQntuples(res) == 0;
    PQclear(res);
    if (p->missing)
        return STORE_TX_OK;
    res = store_db_exec_prepared(db, "attrs_put", put_sql, 4, p->vals);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "attributes");
        PQclear(res);
        return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
    }
    PQclear(res);
    return STORE_TX_OK;
}

int store_attrs_put(store_db *db, const char *tenant, const char *customer,
                    const char *channel, const char *campaign)
{
    put_ctx p = {{tenant, customer, channel, campaign}, false};
    if (store_db_transaction(db, false, put_tx, &p) != 0)
        return -1;
    return p.missing ? 1 : 0;
}

int store_attrs_changed(store_db *db, const char *since, store_attr_cb cb, void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    const char *vals[] = {since};
    PGresult *res = store_db_exec_prepared(db, "attrs_changed", changed_sql, 1, vals);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = store_db_fail(db, res, "changed attributes");
    for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
        store_attr_row a = {PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                            PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2),
                            PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3)};
        rc = cb(&a, arg) != 0 ? 1 : 0;
    }
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------ spend */

typedef struct spend_ctx {
    const char *tenant;
    const store_spend *s;
    size_t n;
    const bool *declared; /* NULL: none */
    bool *unknown;
    bool any_unknown;
} spend_ctx;

/* Writes into sql (room reserved: 512 + 24 bytes an item) the query of
 * spend_check_channels over the items of x whose channel is not declared,
 * their channels into vals[1..] and their indexes into item[]; clears
 * x->unknown. Returns how many items it holds (0: no query to run). */
static size_t undeclared_sql(spend_ctx *x, store_sbuf *sql, const char **vals,
                             size_t *item)
{
    size_t k = 0;
    sql->len = (size_t)sprintf(sql->p, "SELECT u.i FROM (VALUES ");
    vals[0] = x->tenant;
    for (size_t i = 0; i < x->n; i++) {
        x->unknown[i] = false;
        if ((x->declared != NULL && x->declared[i]) || x->s[i].channel == NULL)
            continue;
        vals[1 + k] = x->s[i].channel;
        item[k] = i;
        sql->len += (size_t)sprintf(sql->p + sql->len, "%s($%zu::text,%zu)", k ? "," : "",
                                    k + 2, k);
        k++;
    }
    sql->len += (size_t)sprintf(
        sql->p + sql->len,
        ") AS u(c, i) WHERE NOT EXISTS (SELECT 1 FROM customer_attributes a"
        " WHERE a.tenant_id = $1 AND a.acquisition_channel = u.c)"
        " AND NOT EXISTS (SELECT 1 FROM acquisition_spend s"
        " WHERE s.tenant_id = $1 AND s.channel = u.c)");
    return k;
}

/* Marks x->unknown[i] for the items whose channel is neither declared nor
 * any customer's acquisition_channel nor in the tenant's spend: one query
 * over the undeclared items ($1 the tenant, then their channels; both
 * tables are read by (tenant_id, channel) indexes). Returns STORE_TX_OK
 * (x->any_unknown set when some is unknown) or a failure. */
static store_tx_status spend_check_channels(store_db *db, spend_ctx *x)
{
    store_sbuf sql = {0};
    const char **vals = malloc((1 + x->n) * sizeof *vals);
    size_t *item = malloc(x->n * sizeof *item);
    store_tx_status st = STORE_TX_ERROR;
    PGresult *res = NULL;
    if (vals == NULL || item == NULL || store_sbuf_reserve(&sql, 512 + x->n * 24) != 0) {
        snprintf(db->err, sizeof db->err, "spend: out of memory");
        goto cleanup;
    }
    size_t k = undeclared_sql(x, &sql, vals, item);
    if (k == 0) {
        st = STORE_TX_OK;
        goto cleanup;
    }
    res = store_db_query(db, sql.p, (int)(1 + k), vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "spend");
        st = store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
        goto cleanup;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        size_t j = (size_t)strtoull(PQgetvalue(res, r, 0), NULL, 10);
        if (j < k) {
            x->unknown[item[j]] = true;
            x->any_unknown = true;
        }
    }
    st = STORE_TX_OK;
cleanup:
    PQclear(res);
    free(sql.p);
    free(vals);
    free(item);
    return st;
}

/* One multi-row INSERT with parameters ($1 the tenant, then 5 a row:
 * channel, year, month, spend, leads): the text holds placeholders only. */
static store_tx_status spend_tx(store_db *db, void *arg)
{
    spend_ctx *x = arg;
    x->any_unknown = false;
    store_tx_status checked = spend_check_channels(db, x);
    if (checked != STORE_TX_OK)
        return checked;
    if (x->any_unknown) {
        snprintf(db->err, sizeof db->err, "spend: unknown channels");
        return STORE_TX_ERROR; /* rolls back: nothing stored */
    }
    store_sbuf sql = {0};
    const char **vals = malloc((1 + 5 * x->n) * sizeof *vals);
    char(*num)[3][24] = malloc(x->n * sizeof *num);
    store_tx_status st = STORE_TX_ERROR;
    PGresult *res = NULL;
    if (vals == NULL || num == NULL || store_sbuf_reserve(&sql, 512 + x->n * 128) != 0) {
        snprintf(db->err, sizeof db->err, "spend: out of memory");
        goto cleanup;
    }
    sql.len =
        (size_t)sprintf(sql.p, "INSERT INTO acquisition_spend AS s"
                               " (tenant_id, channel, month, spend, leads) VALUES ");
    vals[0] = x->tenant;
    for (size_t i = 0; i < x->n; i++) {
        size_t p = 1 + 5 * i;
        sql.len += (size_t)sprintf(sql.p + sql.len,
                                   "%s($1,$%zu,make_date($%zu::integer,$%zu::integer,1),"
                                   "$%zu::numeric,$%zu::bigint)",
                                   i ? "," : "", p + 1, p + 2, p + 3, p + 4, p + 5);
        snprintf(num[i][0], sizeof num[i][0], "%lld", (long long)(x->s[i].month / 12));
        snprintf(num[i][1], sizeof num[i][1], "%lld",
                 (long long)(x->s[i].month % 12 + 1));
        snprintf(num[i][2], sizeof num[i][2], "%lld", (long long)x->s[i].leads);
        vals[p] = x->s[i].channel;
        vals[p + 1] = num[i][0];
        vals[p + 2] = num[i][1];
        vals[p + 3] = x->s[i].spend;
        vals[p + 4] = x->s[i].leads >= 0 ? num[i][2] : NULL;
    }
    sql.len += (size_t)sprintf(sql.p + sql.len,
                               " ON CONFLICT (tenant_id, channel, month) DO UPDATE"
                               " SET spend = EXCLUDED.spend, leads = EXCLUDED.leads,"
                               "     updated_at = EXCLUDED.updated_at");
    res = store_db_query(db, sql.p, (int)(1 + 5 * x->n), vals);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "spend");
        st = store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
        goto cleanup;
    }
    st = STORE_TX_OK;
cleanup:
    PQclear(res);
    free(sql.p);
    free(vals);
    free(num);
    return st;
}

int store_spend_unknown_channels(store_db *db, const char *tenant, const store_spend *s,
                                 size_t n, const bool *declared, bool *unknown)
{
    if (n > STORE_SPEND_MAX) {
        snprintf(db->err, sizeof db->err, "spend: more than %d rows", STORE_SPEND_MAX);
        return -1;
    }
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    spend_ctx x = {tenant, s, n, declared, unknown, false};
    if (spend_check_channels(db, &x) != STORE_TX_OK)
        return -1;
    return x.any_unknown ? 1 : 0;
}

int store_spend_put(store_db *db, const char *tenant, const store_spend *s, size_t n,
                    const bool *declared, bool *unknown)
{
    if (n == 0)
        return 0;
    if (n > STORE_SPEND_MAX) {
        snprintf(db->err, sizeof db->err, "spend: more than %d rows", STORE_SPEND_MAX);
        return -1;
    }
    spend_ctx x = {tenant, s, n, declared, unknown, false};
    int rc = store_db_transaction(db, false, spend_tx, &x);
    return rc != 0 && x.any_unknown ? 1 : rc;
}

long store_spend_page(store_db *db, const char *tenant, const char *after_channel,
                      int64_t after_month, long limit, store_spend_cb cb, void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    char month[24], lim[24];
    /* (channel, month) > ('', 0001-01) holds for every row: channels are
     * not empty */
    snprintf(month, sizeof month, "%lld",
             (long long)(after_channel != NULL ? after_month : 12));
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *vals[] = {tenant, after_channel != NULL ? after_channel : "", month, lim};
    PGresult *res = store_db_exec_prepared(db, "spend_page", spend_page_sql, 4, vals);
    long n = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        n = store_db_fail(db, res, "spend");
    } else {
        for (int r = 0; r < PQntuples(res); r++, n++) {
            store_spend s = {
                PQgetvalue(res, r, 0), strtoll(PQgetvalue(res, r, 1), NULL, 10),
                PQgetvalue(res, r, 2), strtoll(PQgetvalue(res, r, 3), NULL, 10)};
            if (cb(&s, arg) != 0) {
                n++;
                break;
            }
        }
    }
    PQclear(res);
    return n;
}

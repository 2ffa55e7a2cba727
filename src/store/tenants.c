/* The tenants table and the erasures (see tenants.h). */
#include "store/tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/checkpoint.h"
#include "store/fleet.h"
#include "store/subscriptions.h"

#define TENANT_COLS                                                                      \
    "id, settings::text, extract(epoch FROM created_at), extract(epoch FROM updated_at)"

static const char page_sql[] = "SELECT " TENANT_COLS " FROM tenants WHERE id > $1"
                               " ORDER BY id LIMIT $2::bigint";
static const char signature_sql[] =
    "SELECT count(*) || ' ' || coalesce(max(updated_at)::text, '') || ' '"
    "       || coalesce(max(created_at)::text, '') FROM tenants";
static const char get_sql[] = "SELECT " TENANT_COLS " FROM tenants WHERE id = $1";
static const char create_sql[] = "INSERT INTO tenants (id, settings) VALUES ($1, "
                                 "$2::jsonb) ON CONFLICT (id) DO NOTHING";
static const char update_sql[] =
    "UPDATE tenants SET settings = $2::jsonb, updated_at = now() WHERE id = $1";
/* the keys first (a reference table, no cascade from tenants: '*' is none) */
static const char delete_keys_sql[] = "DELETE FROM api_keys WHERE tenant_id = $1";
static const char delete_sql[] = "DELETE FROM tenants WHERE id = $1";
static const char erase_txn_sql[] =
    "DELETE FROM transactions WHERE tenant_id = $1 AND customer_id = $2";
static const char erase_days_sql[] =
    "DELETE FROM customer_days WHERE tenant_id = $1 AND customer_id = $2";
/* the erasure, for the catch-up of every process (migration 011) */
static const char erase_attrs_sql[] =
    "DELETE FROM customer_attributes WHERE tenant_id = $1 AND customer_id = $2";
static const char erase_record_sql[] =
    "INSERT INTO erasures (tenant_id, customer_id) VALUES ($1, $2)";
static const char erasures_sql[] =
    "SELECT tenant_id, customer_id FROM erasures WHERE erased_xid >= $1::bigint";

static int deliver(store_db *db, PGresult *res, store_tenant_cb cb, void *arg)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return store_db_fail(db, res, "tenants");
    for (int r = 0; r < PQntuples(res); r++) {
        store_tenant t = {PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                          strtod(PQgetvalue(res, r, 2), NULL),
                          strtod(PQgetvalue(res, r, 3), NULL)};
        if (cb(&t, arg) != 0)
            return 1;
    }
    return 0;
}

int store_tenants_page(store_db *db, const char *after, long limit, store_tenant_cb cb,
                       void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    char lim[32];
    snprintf(lim, sizeof lim, "%ld", limit > 0 ? limit : (long)1 << 40);
    const char *vals[2] = {after != NULL ? after : "", lim};
    PGresult *res = store_db_exec_prepared(db, "tenants_page", page_sql, 2, vals);
    int rc = deliver(db, res, cb, arg);
    PQclear(res);
    return rc;
}

typedef struct get_ctx {
    store_tenant_cb cb;
    void *arg;
    int n;
} get_ctx;

static int get_one(const store_tenant *t, void *arg)
{
    get_ctx *g = arg;
    g->n++;
    return g->cb != NULL ? g->cb(t, g->arg) : 0;
}

int store_tenant_get(store_db *db, const char *id, store_tenant_cb cb, void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    const char *vals[1] = {id};
    PGresult *res = store_db_exec_prepared(db, "tenant_get", get_sql, 1, vals);
    get_ctx g = {cb, arg, 0};
    int rc = deliver(db, res, get_one, &g);
    PQclear(res);
    return rc < 0 ? -1 : g.n > 0 ? 0 : 1;
}

int store_tenants_signature(store_db *db, char out[STORE_TENANTS_SIG_MAX])
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    PGresult *res =
        store_db_exec_prepared(db, "tenants_signature", signature_sql, 0, NULL);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = store_db_fail(db, res, "tenants");
    else
        snprintf(out, STORE_TENANTS_SIG_MAX, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* One statement with parameters vals and its announcement, in one
 * transaction (store_db_transaction). */
typedef struct change {
    /* run in order; the row count of the second (the first when alone)
     * plus the third's decides; the others run only when they changed a
     * row (an erasure's attributes and record) */
    const char *sql[5];
    const char *name[5];
    const char *vals[2];
    int n_vals;
    const char *tenant;
    const char *customer; /* an erasure's, announced too */
    long rows;
    bool checkpoints; /* an erasure: the tenant's cache checkpoints go too */
    /* run first when set (an erasure's subscription locks): 0 or -1 */
    int (*before)(store_db *db, const char *tenant, const char *customer);
} change;

static store_tx_status change_tx(store_db *db, void *arg)
{
    change *c = arg;
    c->rows = 0;
    if (c->before != NULL && c->before(db, c->tenant, c->customer) != 0)
        return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
    for (int i = 0; i < 5 && c->sql[i] != NULL && (i < 3 || c->rows > 0); i++) {
        PGresult *res =
            store_db_exec_prepared(db, c->name[i], c->sql[i], c->n_vals, c->vals);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            store_db_fail(db, res, "tenants");
            PQclear(res);
            return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
        }
        if (i < 2) /* the rows of the second (the first when alone) ... */
            c->rows = strtol(PQcmdTuples(res), NULL, 10);
        else if (i == 2) /* ... and of the third */
            c->rows += strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    /* last: a checkpoint being written waits on what this locks */
    if (c->checkpoints && c->rows > 0 && store_checkpoint_invalidate(db, c->tenant) != 0)
        return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
    if (c->rows > 0 && store_tenant_announce(db, c->tenant, c->customer) != 0)
        return STORE_TX_ERROR;
    return STORE_TX_OK;
}

static int run_change(store_db *db, change *c)
{
    if (store_db_transaction(db, false, change_tx, c) != 0)
        return -1;
    return c->rows > 0 ? 0 : 1;
}

int store_tenant_create(store_db *db, const char *id, const char *settings_json)
{
    change c = {{create_sql, NULL},
                {"tenant_create", NULL},
                {id, settings_json},
                2,
                id,
                NULL,
                0,
                false,
                NULL};
    return run_change(db, &c);
}

int store_tenant_update(store_db *db, const char *id, const char *settings_json)
{
    change c = {{update_sql, NULL},
                {"tenant_update", NULL},
                {id, settings_json},
                2,
                id,
                NULL,
                0,
                false,
                NULL};
    return run_change(db, &c);
}

int store_tenant_delete(store_db *db, const char *id)
{
    change c = {{delete_keys_sql, delete_sql},
                {"tenant_delete_keys", "tenant_delete"},
                {id},
                1,
                id,
                NULL,
                0,
                false,
                NULL};
    return run_change(db, &c);
}

int store_customer_erase(store_db *db, const char *tenant, const char *customer_id)
{
    change c = {{erase_txn_sql, erase_days_sql, store_subs_erase_sql, erase_attrs_sql,
                 erase_record_sql},
                {"customer_erase_txn", "customer_erase_days", "customer_erase_subs",
                 "customer_erase_attrs", "customer_erase_record"},
                {tenant, customer_id},
                2,
                tenant,
                customer_id,
                0,
                /* the checkpoints stay: a start-up from one reads the
                 * erasures since its horizon (migration 011) */
                false,
                store_subs_lock_customer};
    return run_change(db, &c);
}

int store_erasures_since(store_db *db, const char *since, store_erasure_cb cb, void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    const char *vals[1] = {since};
    PGresult *res = store_db_exec_prepared(db, "erasures_since", erasures_sql, 1, vals);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = store_db_fail(db, res, "erasures");
    for (int r = 0; rc == 0 && r < PQntuples(res); r++)
        rc = cb(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), arg) != 0 ? 1 : 0;
    PQclear(res);
    return rc;
}

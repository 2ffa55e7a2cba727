/* The tenants table (migrations/009_tenants.sql) and what erases a
 * tenant's data: create, read, page through, change the settings of and
 * delete tenants (a deletion erases every row of the tenant: the foreign
 * keys cascade, and its keys go in the same transaction), and erase one
 * customer. Every change announces the tenant on the snapshot channel
 * (store/fleet.h) in its transaction, so the other processes follow. */
#ifndef LTVD_STORE_TENANTS_H
#define LTVD_STORE_TENANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* One tenant row (strings valid during the callback only). */
typedef struct store_tenant {
    const char *id;
    const char *settings_json; /* the settings object as text */
    double created_at;         /* UTC seconds */
    double updated_at;
} store_tenant;

typedef int (*store_tenant_cb)(const store_tenant *t, void *arg);

/* Calls cb for the tenants with an id after `after` ("" from the first),
 * in id order, at most limit of them (0: all). Returns 0, 1 when cb
 * stopped, -1 with db->err. */
int store_tenants_page(store_db *db, const char *after, long limit, store_tenant_cb cb,
                       void *arg);

/* A text that changes whenever a tenant is created, changed or deleted
 * (their count and newest times), into out. Returns 0, or -1 with db->err. */
#define STORE_TENANTS_SIG_MAX 128
int store_tenants_signature(store_db *db, char out[STORE_TENANTS_SIG_MAX]);

/* Calls cb with tenant id's row. Returns 0 when found, 1 when there is
 * none, -1 with db->err. */
int store_tenant_get(store_db *db, const char *id, store_tenant_cb cb, void *arg);

/* Inserts tenant id with settings (JSON object text). Returns 0 when
 * created, 1 when the id is taken, -1 with db->err. */
int store_tenant_create(store_db *db, const char *id, const char *settings_json);

/* Replaces tenant id's settings. Returns 0, 1 when there is no such
 * tenant, -1 with db->err. */
int store_tenant_update(store_db *db, const char *id, const char *settings_json);

/* Erases tenant id: its transactions, days, snapshots (the cascade), its
 * keys and its row, in one transaction. Returns 0, 1 when there is no
 * such tenant, -1 with db->err. */
int store_tenant_delete(store_db *db, const char *id);

/* Erases every stored row of one customer of tenant (transactions and
 * days) and records the erasure (the erasures table, read by every
 * process's catch-up). Returns 0 when there were rows, 1 when there were
 * none (nothing recorded), -1 with db->err. */
int store_customer_erase(store_db *db, const char *tenant, const char *customer_id);

/* Called with each erasure (valid during the call). Return 0 to go on. */
typedef int (*store_erasure_cb)(const char *tenant, const char *customer, void *arg);

/* The erasures made by transactions with an id at least since (the
 * catch-up horizon, store_customers_horizon), in no particular order.
 * Returns 0, 1 when cb stopped, -1 with db->err. */
int store_erasures_since(store_db *db, const char *since, store_erasure_cb cb, void *arg);

#endif

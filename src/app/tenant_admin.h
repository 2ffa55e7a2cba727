/* The life of tenants in a running service: loading them at start-up,
 * creating, changing and deleting them (POST, PATCH and DELETE
 * /v1/tenants...), erasing one customer, and following what other
 * processes did to the tenants table (the catch-up's reconcile).
 *
 * A tenant another process created is loaded whole (its customers read in
 * one snapshot) by the catch-up thread itself, before it applies any row of
 * that tenant: so no row is missed between the load and the catch-up. */
#ifndef LTVD_APP_TENANT_ADMIN_H
#define LTVD_APP_TENANT_ADMIN_H

#include <jansson.h>

#include "app/app.h"
#include "app/db_wait.h"
#include "store/tenants.h"

/* Start-up: every row of the tenants table becomes a tenant of the
 * registry (empty caches; app.c fills them), and a->dflt is set. Returns 0,
 * or -1 with err. */
int app_tenants_load(app *a, store_db *db, char err[CONFIG_ERR_MAX]);

/* Fills t's cache from PostgreSQL (its customers as of its as_of); called
 * before t serves. Returns 0, 1 on a bad summary or out of memory, -1 with
 * db->err. */
int app_tenant_rebuild(app_tenant *t, store_db *db);

/* The catch-up thread only: loads tenant id from the tenants table when it
 * is there (its cache, its newest snapshot), registers and starts it.
 * Returns 0 with *out the tenant (retained; NULL when there is no such
 * tenant), -1 with db->err. */
int app_tenant_discover(app *a, store_db *db, const char *id, app_tenant **out);

/* The catch-up thread only: brings the registry in line with the tenants
 * table when it changed since the signature last (the caller's, one per
 * app: "" at first; updated) was taken: tenants created elsewhere are
 * discovered, changed settings swapped in, deleted ones dropped.
 * Returns 0, or -1 with db->err. */
int app_tenants_reconcile(app *a, store_db *db, char last[STORE_TENANTS_SIG_MAX]);

/* Outcomes of the management operations. */
typedef enum app_admin_status {
    APP_ADMIN_OK = 0,
    APP_ADMIN_INVALID,     /* errors says which settings */
    APP_ADMIN_EXISTS,      /* POST: the id is taken */
    APP_ADMIN_NOT_FOUND,   /* no such tenant, or customer */
    APP_ADMIN_FORBIDDEN,   /* the default tenant cannot be deleted */
    APP_ADMIN_UNAVAILABLE, /* PostgreSQL failed or is busy: detail says */
    APP_ADMIN_NO_MEMORY,
} app_admin_status;

/* Creates tenant id with settings (an object; NULL: none), stored then
 * served, into *out (retained). */
app_admin_status app_tenant_create(app *a, const char *id, json_t *settings,
                                   json_t *errors, app_tenant **out,
                                   char detail[APP_DB_DETAIL_MAX]);

/* Merges changes (an object: a value sets the setting, null removes it)
 * into t's settings, stores and serves them. as_of cannot change (its
 * cache holds the days up to it). */
app_admin_status app_tenant_update(app_tenant *t, json_t *changes, json_t *errors,
                                   char detail[APP_DB_DETAIL_MAX]);

/* Erases tenant id and everything it holds, here and (announced) in every
 * process. */
app_admin_status app_tenant_delete(app *a, const char *id,
                                   char detail[APP_DB_DETAIL_MAX]);

/* Erases customer id of t: every stored row, then its cache record, here
 * and (announced) in every process. APP_ADMIN_NOT_FOUND when nothing of
 * it is stored or cached. */
app_admin_status app_customer_erase(app_tenant *t, const char *id,
                                    char detail[APP_DB_DETAIL_MAX]);

/* Every tenant setting's value in force under c (a JSON object: model,
 * period, as_of or null, the thresholds, horizon_days, discount_rate,
 * margin, the lifecycle settings, currency or null). NULL when out of
 * memory. */
json_t *app_tenant_cfg_effective(const app_tenant_cfg *c);

/* The tenant's document: {"id", "settings", "effective": every tenant
 * setting's value, "customers", "model": version or null}. NULL when out
 * of memory. */
json_t *app_tenant_doc(app_tenant *t);

#endif

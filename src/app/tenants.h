/* The app's registry of tenants (app/tenant.h): the tenants this process
 * serves, by id, kept in step with the tenants table: at start-up, when
 * this process creates, changes or deletes one, and when another process
 * announces it did (app/follow.c). Lookups take a read lock and a binary
 * search; they never wait on PostgreSQL. */
#ifndef LTVD_APP_TENANTS_H
#define LTVD_APP_TENANTS_H

#include <stdbool.h>
#include <stddef.h>

#include "app/tenant.h"

struct app;
typedef struct app_tenants app_tenants;

/* An empty registry; NULL when out of memory. */
app_tenants *app_tenants_new(void);

/* Serializes the changes of the registry's members with the tenants table:
 * a create or a delete of this process (the row and the registry entry
 * together) and the catch-up's reconcile and discovery, which would
 * otherwise take a tenant created between its read of the table and its
 * look at the registry for one deleted elsewhere (and drop it), or load
 * one deleted meanwhile. Lookups never take it. */
void app_tenants_change_lock(app_tenants *r);
void app_tenants_change_unlock(app_tenants *r);

/* Releases every tenant and frees the registry. NULL is fine. */
void app_tenants_free(app_tenants *r);

/* The tenant id (retained: release it), or NULL when there is none. */
app_tenant *app_tenants_find(app_tenants *r, const char *id);

/* Adds t (the registry takes the caller's reference). False when the id is
 * there already or out of memory (t not taken). */
bool app_tenants_add(app_tenants *r, app_tenant *t);

/* Puts t in place of the tenant of its id (the registry takes the caller's
 * reference), in one step: a lookup finds one or the other, never none.
 * Returns the one replaced (the registry's reference, now the caller's), or
 * NULL when there was none (t added). NULL and t not taken when out of
 * memory: then *taken is false. */
app_tenant *app_tenants_replace(app_tenants *r, app_tenant *t, bool *taken);

/* Removes id and returns it (the registry's reference, now the caller's),
 * or NULL. */
app_tenant *app_tenants_remove(app_tenants *r, const char *id);

/* The tenants, retained, in id order: *n of them in a malloc'd array (free
 * with app_tenants_list_free). NULL with *n 0 when none or out of memory. */
app_tenant **app_tenants_list(app_tenants *r, size_t *n);
void app_tenants_list_free(app_tenant **v, size_t n);

/* Number of tenants. */
size_t app_tenants_count(app_tenants *r);

/* Whether id has a tenant id's form: [a-z0-9][a-z0-9_-]{0,62}. */
bool app_tenant_id_ok(const char *id);

#endif

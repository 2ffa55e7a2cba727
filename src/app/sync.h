/* The cache catch-up: a thread that applies to the cache the customers
 * changed in PostgreSQL by other writers than this process's request
 * threads (`ltvd import`, another instance of the service), found through
 * transactions.ingested_xid and the transaction horizon (store/customers.h).
 * The xids of this process's own batches are left out; the others'
 * customers are re-read whole and replaced (the protocol is in apply.h). */
#ifndef LTVD_APP_SYNC_H
#define LTVD_APP_SYNC_H

#include "app/app.h"
#include "store/customers.h"

typedef struct app_sync app_sync;

/* One catch-up on db: reads the horizon, replaces the customers other
 * writers changed since *since, then sets *since to that horizon and
 * forgets the own xids below it. Returns 0, or -1 (db->err
 * set, or a cache error: *since unchanged, so nothing is skipped). */
int app_sync_once(app *a, store_db *db, char since[STORE_TIME_MAX]);

/* Starts the thread: app_sync_once every interval_ms on a connection of its
 * own, from a->sync_since. NULL when it cannot start (no thread, memory). */
app_sync *app_sync_start(app *a, long interval_ms);

/* Stops and joins the thread. NULL is fine. */
void app_sync_stop(app_sync *s);

/* Runs a catch-up (and the tenants' reconcile) soon: another process
 * announced a change of the tenants. NULL is fine. */
void app_sync_wake(app_sync *s);

#endif

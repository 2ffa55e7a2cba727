/* What several `ltvd serve` processes on one database need of it, per
 * tenant: the fit lock that lets one
 * process at a time fit a tenant (a session-level advisory lock), the
 * newest snapshot fitted under given settings, the transactions stored since
 * a snapshot's data were read (by every writer), and the notification a
 * saved snapshot sends (LISTEN/NOTIFY on STORE_SNAPSHOT_CHANNEL; the NOTIFY
 * itself is sent by store_snapshot_save, in the transaction that saves). */
#ifndef LTVD_STORE_FLEET_H
#define LTVD_STORE_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"

/* The channel a saved snapshot is announced on; the payload is
 * "<tenant> <snapshot id>", or "<tenant> 0" for a change of the tenant itself. */
#define STORE_SNAPSHOT_CHANNEL "ltvd_snapshot"

/* The fit lock of one tenant, as taken by store_fit_lock_try. */
typedef struct store_fit_lock {
    bool held;           /* this session holds it */
    unsigned generation; /* db->generation it was taken on (a reconnect loses it) */
    double started_at;   /* UTC seconds (database clock) when it was taken */
    int64_t data_xmin;   /* the transaction horizon then (pg_snapshot_xmin) */
} store_fit_lock;

/* Tries to take tenant's fit lock on db's session without waiting
 * (pg_try_advisory_lock of hashtext('ltvd-fit:' || tenant)); NULL tenant is
 * STORE_TENANT_DEFAULT. Returns 0 with out->held saying whether it was
 * taken (and, when it was, the time and horizon), or -1 with db->err set. */
int store_fit_lock_try(store_db *db, const char *tenant, store_fit_lock *out);

/* Releases a lock taken by store_fit_lock_try (nothing when !l->held, or
 * when the session that held it is gone: then the server released it).
 * Clears l->held. Returns 0, or -1 with db->err set. */
int store_fit_lock_release(store_db *db, const char *tenant, store_fit_lock *l);

/* The id of tenant's newest snapshot fitted under these settings (the
 * configured model, period "day"/"week", and the configured as_of day or
 * none), into *id (0 when there is none). Returns 0, or -1 with db->err. */
int store_snapshot_newest_id(store_db *db, const char *tenant, const char *settings_model,
                             const char *period, bool as_of_set, int64_t as_of_day,
                             int64_t *id);

/* Counts tenant's transactions stored (by any process) since snapshot_id's
 * data were read (ingested_xid >= its data_xmin), up to limit (the count
 * stops there: the cost is bounded by limit rows). Returns 1 with *n set,
 * 0 when the snapshot is unknown or records no data_xmin (from before
 * migration 008), -1 with db->err set. */
int store_rows_since_snapshot(store_db *db, const char *tenant, int64_t snapshot_id,
                              int64_t limit, int64_t *n);

/* LISTENs on STORE_SNAPSHOT_CHANNEL in db's session (again after every
 * reconnect: see db->generation). Returns 0, or -1 with db->err set. */
int store_snapshot_listen(store_db *db);

/* Called for each announcement: tenant's snapshot id was saved; or, with id
 * 0, tenant was created, changed or deleted; or, with id -1, its customer
 * was erased (store_tenant_announce). */
typedef void (*store_notice_fn)(const char *tenant, int64_t id, const char *customer,
                                void *arg);

/* Waits up to timeout_ms for notifications on db (listening) and hands
 * every one that came to fn. Returns 1 when there was one, 0 when none
 * came, -1 when the connection failed (db->err set; reconnect and listen
 * again). */
int store_snapshot_wait(store_db *db, long timeout_ms, store_notice_fn fn, void *arg);

/* Called with each tenant's newest snapshot id. */
typedef void (*store_newest_fn)(const char *tenant, int64_t id, void *arg);

/* Every tenant's newest snapshot id, whatever its settings (the poll of a
 * process that hears no announcement). Returns 0, or -1 with db->err. */
int store_snapshot_newest_all(store_db *db, store_newest_fn fn, void *arg);

/* Announces on STORE_SNAPSHOT_CHANNEL that tenant was created, changed or
 * deleted (payload "<tenant> 0"), or, customer not NULL, that its customer
 * was erased ("<tenant> erased <customer>"); sent at COMMIT when in a
 * transaction. Returns 0, or -1 with db->err. */
int store_tenant_announce(store_db *db, const char *tenant, const char *customer);

#endif

/* The snapshot follower: serves the model snapshots other processes of the
 * fleet fit. A base/ticker thread with its own connection LISTENs on the
 * snapshot channel (store/fleet.h) and, when one is announced or every
 * snapshot_poll_ms in case an announcement was lost (a reconnect), looks
 * up the newest snapshot fitted under this process's settings; a newer one
 * than the served is loaded and served when it passes the checks of
 * start-up (app_snapshot_usable: the settings, identifiable parameters, a
 * sample of customers scores). One that fails them is logged once and
 * never served; the worker then refits. On a connection that refuses
 * LISTEN (a hot standby, which hears no NOTIFY of the primary anyway) the
 * look alone. Never on a request thread. */
#ifndef LTVD_APP_FOLLOW_H
#define LTVD_APP_FOLLOW_H

#include <stdint.h>

#include "app/app.h"

typedef struct app_follow app_follow;

/* Starts following for a (config snapshot_poll_ms; the tenant
 * STORE_TENANT_DEFAULT). Returns NULL when the thread cannot start; a
 * database that cannot be reached is retried on every look. */
app_follow *app_follow_start(app *a);

/* Stops the thread (waits for a look in progress) and closes its
 * connection. NULL is fine. */
void app_follow_stop(app_follow *f);

/* One look, synchronously, on db: serves the newest snapshot fitted under
 * a's settings when it is newer than the served one, not *rejected, and
 * usable. Returns 1 when it served one, 0 when there was nothing to serve
 * (or it was not usable: logged once, its id into *rejected), -1 when
 * PostgreSQL failed (db->err set). For tests and the thread. */
int app_follow_once(app *a, store_db *db, int64_t *rejected);

#endif

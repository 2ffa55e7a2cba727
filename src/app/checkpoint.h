/* Checkpoints of the tenants' customer summaries (store/checkpoint.h):
 * start-up loads each tenant's newest one instead of aggregating its
 * customers' days, then catches up from the checkpoint's horizon with the
 * catch-up of app/sync.h (exact: rows stored since are re-read); a ticker
 * writes new ones every cache_checkpoint_interval_s (never in a read-only
 * process), one process per tenant at a time. */
#ifndef LTVD_APP_CHECKPOINT_H
#define LTVD_APP_CHECKPOINT_H

#include "app/app.h"

typedef struct app_checkpoint app_checkpoint;

/* Start-up, on db (the rebuild's connection), after the tenants are
 * loaded and a->sync_since is read: serves each tenant its newest
 * checkpoint taken under its current as_of; when at least one was loaded,
 * rebuilds the others one by one (app_tenant_rebuild), then runs the
 * catch-up once from the lowest horizon (and a->sync_since), leaving
 * a->sync_since where it got to. A checkpoint that turns out unusable is
 * logged and its tenant rebuilt. Returns the number of tenants served from
 * a checkpoint (0: nothing was changed, the caller rebuilds as before),
 * or -1 with err. */
int app_checkpoint_load(app *a, store_db *db, char err[CONFIG_ERR_MAX]);

/* Starts the writer (every cache_checkpoint_interval_s; the first look at
 * once, writing only tenants whose newest checkpoint is older than that).
 * NULL when off (interval 0, or a read-only process) or the thread cannot
 * start (logged). Stop with app_checkpoint_stop (NULL is fine). */
app_checkpoint *app_checkpoint_start(app *a);
void app_checkpoint_stop(app_checkpoint *c);

/* Writes a checkpoint of every tenant now on its own connection (tests,
 * and the writer's tick), skipping those whose newest one is younger than
 * min_age_s; a tenant that fails is logged and the others still written.
 * Returns the number written, or -1 when PostgreSQL cannot be reached
 * (logged). */
int app_checkpoint_write_all(app *a, double min_age_s);

#endif

/* Whether this process writes (docs/operations.md, "Read replicas"). It is
 * decided once, at start-up, before anything is written: read-only when the
 * configuration says so (read_only) or the database does (a streaming
 * replica in recovery, or a session whose transactions are read-only). A
 * read-only process never writes to PostgreSQL: it applies no migration
 * (it checks the schema is at its version instead, and says how far behind
 * it is), starts no refit worker, and every write request is answered 503
 * `read-only` (the router asks app_read_only), nothing stored. Reads are
 * served from its cache, which the catch-up (app/sync.h) keeps up to date
 * with what the writers store, on a replica as on a primary. */
#ifndef LTVD_APP_MODE_H
#define LTVD_APP_MODE_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"

/* Decides the mode on db (the start-up connection), then prepares the
 * schema: a writing process applies the pending migrations of
 * a->migrations_dir, a read-only one checks that none is pending. Sets
 * a->read_only (and why) before it returns. Returns 0, or -1 with err (the
 * database failed, a migration failed, or a read-only process found the
 * schema missing or behind: err says which and what to do). */
int app_mode_prepare(app *a, store_db *db, char err[CONFIG_ERR_MAX]);

/* The connection the start-up rebuild and model snapshot are read on: boot
 * itself, or, for a writing process with DATABASE_READ_URL set, a new one
 * to that database (a streaming replica, its schema checked as a
 * read-only process checks its own). Whatever the replica lags, the cache
 * ends up whole: the catch-up, on DATABASE_URL, re-reads every customer
 * changed by a transaction the replica had not replayed when the rebuild
 * began (its horizon is read on the same connection). Returns it (close it
 * when it is not boot), or NULL with err. */
store_db *app_mode_rebuild_db(app *a, store_db *boot, char err[CONFIG_ERR_MAX]);

/* An http_readiness for the router and /readyz (cls is the app): true when
 * this process cannot write, with the read-only problem's detail in why
 * (why it is read-only, that nothing was stored, and where writes go).
 * False until start-up is over, and for a writing process. */
bool app_read_only(void *cls, char *why, size_t why_len);

#endif

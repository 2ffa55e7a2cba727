/* The background readiness check of the database: a thread that, every
 * readiness_interval_ms, pings PostgreSQL on a connection of its own and
 * counts the pending migrations (and, in a writing process, checks that
 * the database still takes writes: app/mode.h), each check bounded (READINESS_WAIT_MS,
 * its connect included). /readyz answers from the last check (app_ready) and never waits
 * on PostgreSQL; a check that gets no answer in time makes the service not ready, and so
 * does a check that has not completed for a while (the thread itself stuck). Each check
 * also records PostgreSQL as failing or answering (app_db_failed / app_db_ok). */
#ifndef LTVD_APP_READINESS_H
#define LTVD_APP_READINESS_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"

/* The longest wait of one check, in ms. */
#define READINESS_WAIT_MS 2000

typedef struct app_readiness app_readiness;

/* Runs a first check at once (so the answer is known when this returns),
 * then starts the thread. NULL when out of memory or no thread. */
app_readiness *app_readiness_start(app *a);

/* Stops and joins the thread, closes its connection. NULL is fine. */
void app_readiness_stop(app_readiness *r);

/* The last check's verdict on the database: true when it answered, no
 * migration is pending and, for a writing process, it takes writes; else
 * false with why. r NULL: not ready. */
bool app_readiness_db_ok(app_readiness *r, char *why, size_t why_len);

#endif

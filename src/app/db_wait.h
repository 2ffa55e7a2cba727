/* The request threads' waits on PostgreSQL, and their bounds
 * (docs/reliability.md). Only two kinds of request may wait on PostgreSQL:
 * POST /v1/transactions (app/ingest.h) and the as_of recomputation of one
 * customer's summary (app_customer_as_of). Each takes one of
 * db_request_threads slots (a counting semaphore that never waits: with
 * none free the request is answered 503 at once, so the other threads stay
 * free for /healthz and reads from the cache) and a pooled connection, and
 * all its waits on PostgreSQL end by db_request_timeout_ms. */
#ifndef LTVD_APP_DB_WAIT_H
#define LTVD_APP_DB_WAIT_H

#include <stddef.h>
#include <stdint.h>

#include "app/app.h"

/* Longest message of a failed wait. */
#define APP_DB_DETAIL_MAX 256

/* The connection bounds of the configuration (db_* keys), for the pool,
 * the API keys' and the catch-up's connections. */
void app_db_limits(const ltvd_config *c, store_db_limits *out);

/* How many request threads may wait on PostgreSQL at once. */
long app_db_slots(const ltvd_config *c);

/* Takes a slot and a pooled connection whose waits end by
 * db_request_timeout_ms from now. Returns it (give it back with
 * app_db_release), or NULL with the reason in detail (every slot taken, no
 * connection free in time): nothing was sent to PostgreSQL. */
store_db *app_db_acquire(app *a, char detail[APP_DB_DETAIL_MAX]);

/* Gives back db and its slot. NULL is fine. */
void app_db_release(app *a, store_db *db);

/* Why a request that needed PostgreSQL was answered 503 (for /metrics). */
typedef enum app_db_refusal {
    APP_DB_BUSY,    /* no slot or no pooled connection free: nothing sent */
    APP_DB_TIMEOUT, /* a bound ran out (client wait, statement or lock timeout) */
    APP_DB_FAILED,  /* any other failure (connection lost, server error) */
} app_db_refusal;

/* Counts a refusal of that kind. */
void app_db_count(app *a, app_db_refusal why);

/* Records a statement that failed on db: PostgreSQL counts as down when
 * the connection broke (a lock or statement timeout is no outage), and the
 * refusal is counted as APP_DB_TIMEOUT or APP_DB_FAILED. */
void app_db_refused(app *a, const store_db *db);

/* What app_customer_as_of found. */
typedef enum app_as_of_result {
    APP_AS_OF_OK = 0,      /* *out set */
    APP_AS_OF_NOT_YET,     /* the first purchase is after the day */
    APP_AS_OF_UNAVAILABLE, /* PostgreSQL failed, timed out or is busy: detail says */
} app_as_of_result;

/* Sets *out to the summary of id as of day: *cached itself when its last
 * purchase is not after day (no database), else recomputed from
 * customer_days within the bounds above. */
app_as_of_result app_customer_as_of(app_tenant *t, const char *id,
                                    const cache_summary *cached, int64_t day,
                                    cache_summary *out, char detail[APP_DB_DETAIL_MAX]);

#endif

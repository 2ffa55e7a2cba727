/* The request threads' waits on PostgreSQL: slots, bounds and the as_of
 * recomputation (see db_wait.h). */
#include "app/db_wait.h"

#include <stdio.h>

#include "app/apply.h"
#include "base/slots.h"
#include "store/customers.h"

/* A client-side wait goes on this much longer than statement_timeout, so
 * that a PostgreSQL that answers gets to say why itself. */
#define WAIT_GRACE_MS 1000

void app_db_limits(const ltvd_config *c, store_db_limits *out)
{
    *out = (store_db_limits){
        .connect_timeout_s = c->db_connect_timeout_s,
        .statement_timeout_ms = c->db_statement_timeout_ms,
        .lock_timeout_ms = c->db_lock_timeout_ms,
        .idle_in_tx_timeout_ms = c->db_idle_in_transaction_timeout_ms,
        .keepalives_idle_s = c->db_keepalives_idle_s,
        .keepalives_interval_s = c->db_keepalives_interval_s,
        .keepalives_count = c->db_keepalives_count,
        .tcp_user_timeout_ms = c->db_tcp_user_timeout_ms,
        .wait_ms = c->db_statement_timeout_ms > 0
                       ? c->db_statement_timeout_ms + WAIT_GRACE_MS
                       : c->db_request_timeout_ms,
    };
}

long app_db_slots(const ltvd_config *c)
{
    long n = config_offload_threads(c); /* the threads such requests run on */
    if (c->db_request_threads > 0)
        return c->db_request_threads < n ? c->db_request_threads : n;
    /* one offload thread stays free for lists and as_of reads from memory */
    return n > 1 ? n - 1 : 1;
}

void app_db_count(app *a, app_db_refusal why)
{
    atomic_uint_fast64_t *n = why == APP_DB_BUSY      ? &a->n_db_busy
                              : why == APP_DB_TIMEOUT ? &a->n_db_timeout
                                                      : &a->n_db_failed;
    atomic_fetch_add(n, 1);
}

void app_db_refused(app *a, const store_db *db)
{
    if (store_db_broken(db))
        app_db_failed(a);
    app_db_count(a, store_db_timed_out(db) ? APP_DB_TIMEOUT : APP_DB_FAILED);
}

store_db *app_db_acquire(app *a, char detail[APP_DB_DETAIL_MAX])
{
    if (!base_slot_take(&a->db_waiting, a->db_slots)) {
        app_db_count(a, APP_DB_BUSY);
        snprintf(detail, APP_DB_DETAIL_MAX,
                 "all %ld request slots for the database are taken", a->db_slots);
        return NULL;
    }
    long wait = a->config->db_request_timeout_ms < APP_POOL_WAIT_MS
                    ? a->config->db_request_timeout_ms
                    : APP_POOL_WAIT_MS;
    store_db *db = store_pool_acquire(a->pool, wait);
    if (db == NULL) {
        base_slot_give(&a->db_waiting);
        app_db_count(a, APP_DB_BUSY);
        snprintf(detail, APP_DB_DETAIL_MAX, "%s",
                 app_db_down_since(a) != 0
                     ? "the database is unavailable"
                     : "no database connection became free in time");
        return NULL;
    }
    store_db_set_deadline(db, a->config->db_request_timeout_ms);
    /* left broken by an earlier failure: reconnect, within the deadline */
    if (store_db_broken(db) && store_db_reconnect(db) != 0) {
        snprintf(detail, APP_DB_DETAIL_MAX, "the database is unavailable: %.200s",
                 store_db_error(db));
        app_db_failed(a); /* could not even reconnect */
        app_db_refused(a, db);
        app_db_release(a, db);
        return NULL;
    }
    return db;
}

void app_db_release(app *a, store_db *db)
{
    if (db == NULL)
        return;
    store_pool_release(a->pool, db);
    base_slot_give(&a->db_waiting);
}

/* ------------------------------------------------------------ as_of */

/* Keeps the one summary store_customers_as_of delivers. */
static int keep_summary(const store_customer *c, void *arg)
{
    return app_summary_from_store(c, arg) ? 0 : 1;
}

app_as_of_result app_customer_as_of(app_tenant *t, const char *id,
                                    const cache_summary *cached, int64_t day,
                                    cache_summary *out, char detail[APP_DB_DETAIL_MAX])
{
    app *a = t->app;
    if (cached->first_day > day)
        return APP_AS_OF_NOT_YET;
    if (cached->last_day <= day) {
        *out = *cached;
        return APP_AS_OF_OK;
    }
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_AS_OF_UNAVAILABLE;
    cache_summary s = {0};
    int rc = store_customers_as_of(db, t->id, &id, 1, day, keep_summary, &s);
    if (rc != 0) {
        snprintf(detail, APP_DB_DETAIL_MAX,
                 "the summary as of that day needs the database%s",
                 store_db_timed_out(db) ? ", which did not answer in time" : "");
        app_db_refused(a, db);
    } else {
        app_db_ok(a);
    }
    app_db_release(a, db);
    if (rc != 0)
        return APP_AS_OF_UNAVAILABLE;
    if (s.n_days == 0) /* stored days after the cache's first day only: raced */
        return APP_AS_OF_NOT_YET;
    *out = s;
    return APP_AS_OF_OK;
}

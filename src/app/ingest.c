/* POST /v1/transactions after parsing: store, apply to the cache, count
 * (see ingest.h). */
#include "app/ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "store/ingest.h"
#include "store/mode.h"

/* The detail of a batch PostgreSQL did not take. */
static void failure_detail(store_db *db, char detail[APP_DB_DETAIL_MAX])
{
    snprintf(detail, APP_DB_DETAIL_MAX,
             "the batch was not acknowledged (%.120s); resending it is safe: "
             "items already stored count as duplicates",
             store_db_timed_out(db) ? "the database did not answer in time"
                                    : store_db_error(db));
}

/* Whether the batch failed because the database does not take writes
 * although this process was started on one that did (a failover turned it
 * into a standby, or its sessions were made read-only): the failure's
 * SQLSTATE (25006 read_only_sql_transaction, or 55000 for "cannot execute
 * ... during recovery"), confirmed by asking the database, on the failure
 * path only. Then the detail says so: resending here cannot help. */
static bool refused_read_only(app *a, store_db *db, char detail[APP_DB_DETAIL_MAX])
{
    store_mode m;
    if ((strcmp(db->sqlstate, "25006") != 0 && strcmp(db->sqlstate, "55000") != 0) ||
        store_mode_get(db, &m) != 0 || !(m.in_recovery || m.read_only))
        return false;
    snprintf(detail, APP_DB_DETAIL_MAX,
             "this ltvd process cannot write: its database no longer takes writes "
             "(%s); nothing was stored; send writes to %.60s",
             m.in_recovery ? "a standby in recovery, after a failover?"
                           : "a read-only session",
             a->config->write_url[0] != '\0' ? a->config->write_url
                                             : "a process connected to the primary");
    return true;
}

/* Stores items[0..n) on db; on success applies them to the cache and
 * releases the gate. */
static app_ingest_status store_and_apply(app_tenant *t, store_db *db,
                                         const store_item *items, size_t n,
                                         app_ingest_result *out)
{
    app *a = t->app;
    store_batch_result r = {0};
    store_batch_opts opts = {t->id, &a->gate, app_days_hint, t};
    if (store_insert_batch(db, items, n, &opts, &r) != 0) {
        if (refused_read_only(a, db, out->detail))
            return APP_INGEST_READ_ONLY;
        if (strcmp(db->sqlstate, PG_FOREIGN_KEY_VIOLATION) == 0) { /* deleted meanwhile */
            snprintf(out->detail, APP_DB_DETAIL_MAX, "no tenant %s", t->id);
            return APP_INGEST_NO_TENANT;
        }
        app_db_refused(a, db); /* an outage only when the connection broke */
        failure_detail(db, out->detail);
        return APP_INGEST_UNAVAILABLE;
    }
    /* committed: from here on the batch is stored whatever happens */
    app_db_ok(a);
    int crc = app_batch_committed(t, &r);
    pthread_rwlock_unlock(&a->gate);
    app_note_ingested(t, r.n_new, r.n_duplicate);
    out->n_new = r.n_new;
    out->n_duplicate = r.n_duplicate;
    store_batch_result_free(&r);
    if (crc != CACHE_OK) {
        snprintf(out->detail, APP_DB_DETAIL_MAX,
                 "stored, but the cache could not be updated");
        return APP_INGEST_CACHE_FAILED;
    }
    return APP_INGEST_OK;
}

app_ingest_status app_ingest_batch(app_tenant *t, const ingest_batch *b,
                                   app_ingest_result *out)
{
    app *a = t->app;
    *out = (app_ingest_result){0};
    store_item *items = malloc((b->n > 0 ? b->n : 1) * sizeof *items);
    if (items == NULL) {
        snprintf(out->detail, APP_DB_DETAIL_MAX, "out of memory");
        return APP_INGEST_NO_MEMORY;
    }
    for (size_t i = 0; i < b->n; i++)
        ingest_item_to_store(&b->items[i], &items[i]);
    char why[APP_DB_DETAIL_MAX];
    store_db *db = app_db_acquire(a, why);
    app_ingest_status st;
    if (db == NULL) {
        snprintf(out->detail, APP_DB_DETAIL_MAX,
                 "%.180s; nothing was sent, resending the batch is safe", why);
        st = APP_INGEST_UNAVAILABLE;
    } else {
        st = store_and_apply(t, db, items, b->n, out);
        app_db_release(a, db);
    }
    free(items);
    return st;
}

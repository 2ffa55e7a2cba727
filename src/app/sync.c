/* The cache catch-up (see sync.h): a base/ticker that reads, every
 * cache_sync_ms, what other writers stored since its last look. */
#include "app/sync.h"

#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "app/db_wait.h"
#include "base/ticker.h"
#include "log/log.h"

/* Customers re-read per snapshot (one statement, one cache write). */
#define SYNC_CHUNK 1000
/* The longest the snapshot of a read may take, the gate held for writing. */
#define SYNC_GATE_WAIT_MS 1000

struct app_sync {
    app *a;
    ticker *ticker;             /* calls sync_tick every interval */
    store_db *db;               /* the catch-up's own connection, NULL while down */
    store_db_limits lim;        /* its bounds */
    char since[STORE_TIME_MAX]; /* the transaction horizon read up to */
};

/* A growing list of owned strings. */
typedef struct id_list {
    char **v;
    size_t n, cap;
} id_list;

static int collect_id(const char *id, void *arg)
{
    id_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = strdup(id)) == NULL)
        return 1;
    l->n++;
    return 0;
}

/* Summaries read for a chunk. */
typedef struct summary_list {
    store_customer *v;
    size_t n;
} summary_list;

static int collect_summary(const store_customer *c, void *arg)
{
    summary_list *l = arg;
    l->v[l->n] = *c;
    if ((l->v[l->n].customer_id = strdup(c->customer_id)) == NULL)
        return 1;
    l->n++;
    return 0;
}

/* Re-reads ids[0..n) and replaces them in the cache (the protocol in
 * apply.h): the snapshot is taken under the gate, the read runs outside it. */
static int replace_chunk(app *a, store_db *db, const char *const *ids, size_t n)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1; /* not under the gate: every batch's COMMIT would wait */
    summary_list l = {calloc(n, sizeof *l.v), 0};
    if (l.v == NULL)
        return -1;
    /* every batch's COMMIT waits while the gate is held: keep it short even
     * when PostgreSQL hangs */
    store_db_set_deadline(db, SYNC_GATE_WAIT_MS);
    pthread_rwlock_wrlock(&a->gate);
    int rc = store_db_begin_read(db);
    if (rc == 0)
        app_window_open(a);
    pthread_rwlock_unlock(&a->gate);
    store_db_set_deadline(db, 0);
    if (rc != 0)
        goto cleanup;
    int64_t day = a->config->has_as_of ? a->config->as_of_day : STORE_AS_OF_NOW;
    rc = store_customers_as_of(db, ids, n, day, collect_summary, &l);
    if (rc == 0)
        rc = app_cache_replace(a, l.v, l.n) == CACHE_OK ? 0 : -1;
    else
        rc = -1;
    app_window_close(a);
    if (store_db_end_read(db) != 0)
        rc = -1;
cleanup:
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].customer_id);
    free(l.v);
    return rc;
}

int app_sync_once(app *a, store_db *db, char since[STORE_TIME_MAX])
{
    char next[STORE_TIME_MAX];
    if (store_customers_horizon(db, next) != 0)
        return -1;
    uint64_t *own = NULL;
    size_t n_own = app_own_xids(a, &own);
    id_list ids = {0};
    int rc = own == NULL
                 ? -1
                 : store_customers_changed(db, since, own, n_own, collect_id, &ids);
    free(own);
    for (size_t i = 0; rc == 0 && i < ids.n; i += SYNC_CHUNK) {
        size_t k = ids.n - i < SYNC_CHUNK ? ids.n - i : SYNC_CHUNK;
        rc = replace_chunk(a, db, (const char *const *)ids.v + i, k);
    }
    if (rc == 0) {
        /* told once the whole read is in, not per chunk: a first model is
         * fitted on everything another writer stored, not its first chunk */
        if (ids.n > 0)
            app_note_changed(a, ids.n);
        memcpy(since, next, STORE_TIME_MAX);
        app_own_xids_forget(a, strtoull(next, NULL, 10));
    } else {
        rc = -1;
    }
    for (size_t i = 0; i < ids.n; i++)
        free(ids.v[i]);
    free(ids.v);
    return rc;
}

/* One catch-up (a ticker_fn): connects when needed, reads what other
 * writers stored since the last look, and records whether PostgreSQL
 * answered. */
static long sync_tick(void *arg)
{
    app_sync *s = arg;
    char err[STORE_ERR_MAX];
    if (s->db == NULL && (s->db = store_db_open_limited(s->a->config->database_url,
                                                        &s->lim, err)) == NULL) {
        app_db_failed(s->a);
        log_write(LOG_WARN, "cache catch-up: %s", err);
    } else if (app_sync_once(s->a, s->db, s->since) != 0) {
        if (store_db_broken(s->db))
            app_db_failed(s->a);
        log_write(LOG_WARN, "cache catch-up: %s (retried)", store_db_error(s->db));
    } else {
        app_db_ok(s->a);
    }
    return -1;
}

app_sync *app_sync_start(app *a, long interval_ms)
{
    app_sync *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->a = a;
    memcpy(s->since, a->sync_since, sizeof s->since);
    app_db_limits(a->config, &s->lim);
    s->ticker = ticker_start(interval_ms, interval_ms, sync_tick, s);
    if (s->ticker == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void app_sync_stop(app_sync *s)
{
    if (s == NULL)
        return;
    ticker_stop(s->ticker);
    store_db_close(s->db);
    free(s);
}

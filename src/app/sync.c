/* The cache catch-up (see sync.h): a base/ticker that reads, every
 * cache_sync_ms, what other writers stored since its last look. */
#include "app/sync.h"

#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "app/db_wait.h"
#include "app/subs.h"
#include "app/tenant_admin.h"
#include "app/tenants.h"
#include "base/ticker.h"
#include "log/log.h"
#include "store/acquisition.h"
#include "store/tenants.h"

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
    char tenants_sig[STORE_TENANTS_SIG_MAX]; /* the tenants table at the last look */
};

/* A changed customer: "<tenant>\0<customer id>" in one allocation. */
typedef struct changed {
    char *tenant;
    const char *id;
} changed;

/* A growing list of them. */
typedef struct id_list {
    changed *v;
    size_t n, cap;
} id_list;

static int collect_id(const char *tenant, const char *id, void *arg)
{
    id_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        changed *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        l->v = v;
        l->cap = cap;
    }
    size_t tl = strlen(tenant) + 1, il = strlen(id) + 1;
    char *p = malloc(tl + il);
    if (p == NULL)
        return 1;
    memcpy(p, tenant, tl);
    memcpy(p + tl, id, il);
    l->v[l->n++] = (changed){p, p + tl};
    return 0;
}

static int by_tenant(const void *x, const void *y)
{
    return strcmp(((const changed *)x)->tenant, ((const changed *)y)->tenant);
}

/* Summaries read for a chunk. */
typedef struct summary_list {
    store_customer *v;
    size_t n;
} summary_list;

static int collect_summary(const store_customer *c, void *arg)
{
    summary_list *l = arg;
    store_customer *s = &l->v[l->n];
    *s = *c; /* the strings are valid during the call only */
    s->channel = c->channel != NULL ? strdup(c->channel) : NULL;
    s->campaign = c->campaign != NULL ? strdup(c->campaign) : NULL;
    s->customer_id = strdup(c->customer_id);
    l->n++; /* freed by the caller, whatever failed */
    return s->customer_id == NULL || (c->channel != NULL && s->channel == NULL) ||
                   (c->campaign != NULL && s->campaign == NULL)
               ? 1
               : 0;
}

/* Re-reads t's customers ids[0..n) and replaces them in its cache (the
 * protocol in apply.h): the snapshot is taken under the gate, the read runs
 * outside it. */
static int replace_chunk(app_tenant *t, store_db *db, const char *const *ids, size_t n)
{
    app *a = t->app;
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
    const ltvd_config *cfg = app_tenant_config(t);
    int64_t day = cfg->has_as_of ? cfg->as_of_day : STORE_AS_OF_NOW;
    rc = store_customers_as_of(db, t->id, ids, n, day, collect_summary, &l);
    if (rc == 0)
        rc = app_cache_replace(t, l.v, l.n) == CACHE_OK ? 0 : -1;
    else
        rc = -1;
    app_window_close(a);
    if (store_db_end_read(db) != 0)
        rc = -1;
cleanup:
    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].customer_id);
        free(l.v[i].channel);
        free(l.v[i].campaign);
    }
    free(l.v);
    return rc;
}

/* An erasure since the last look: the customer is dropped from memory
 * (again, when this process erased it or heard the announcement). */
static int forget_one(const char *tenant, const char *customer, void *arg)
{
    app_tenant *t = app_tenant_find(arg, tenant);
    if (t != NULL)
        app_customer_forget(t, customer);
    app_tenant_release(t);
    return 0;
}

/* Attributes written since the last look (by any process: setting what
 * PostgreSQL holds is right whoever wrote it), after the summaries so a
 * customer new to this process is there to take them. A PUT of this
 * process committed while this read ran may be overwritten by the older
 * value read; its row is at or after the next horizon, so the next look
 * sets it again. */
static int attrs_one(const store_attr_row *r, void *arg)
{
    app_tenant *t = app_tenant_find(arg, r->tenant_id);
    if (t != NULL &&
        app_customer_attrs(t, r->customer_id, r->channel, r->campaign) == CACHE_ENOMEM) {
        app_tenant_release(t);
        return 1;
    }
    app_tenant_release(t);
    return 0;
}

int app_sync_once(app *a, store_db *db, char since[STORE_TIME_MAX])
{
    char next[STORE_TIME_MAX];
    if (store_customers_horizon(db, next) != 0)
        return -1;
    /* the erasures first: a customer who bought again after one is then
     * re-read below, afresh */
    if (store_erasures_since(db, since, forget_one, a) != 0)
        return -1;
    uint64_t *own = NULL;
    size_t n_own = app_own_xids(a, &own);
    id_list ids = {0};
    int rc = own == NULL
                 ? -1
                 : store_customers_changed(db, since, own, n_own, collect_id, &ids);
    free(own);
    if (rc == 0 && ids.n > 1) /* qsort's array may not be NULL (none changed) */
        qsort(ids.v, ids.n, sizeof *ids.v, by_tenant);
    const char **chunk = calloc(SYNC_CHUNK, sizeof *chunk);
    if (chunk == NULL)
        rc = -1;
    for (size_t i = 0, end; rc == 0 && i < ids.n; i = end) {
        for (end = i + 1; end < ids.n && strcmp(ids.v[end].tenant, ids.v[i].tenant) == 0;)
            end++;
        /* a tenant this process does not know yet is loaded whole (its rows
         * then come from that read): created by another process */
        bool loaded = false;
        app_tenant *t = app_tenant_find(a, ids.v[i].tenant);
        if (t == NULL && (rc = app_tenant_discover(a, db, ids.v[i].tenant, &t)) == 0)
            loaded = t != NULL;
        for (size_t j = i; rc == 0 && t != NULL && !loaded && j < end; j += SYNC_CHUNK) {
            size_t k = end - j < SYNC_CHUNK ? end - j : SYNC_CHUNK;
            for (size_t c = 0; c < k; c++)
                chunk[c] = ids.v[j + c].id;
            rc = replace_chunk(t, db, chunk, k);
        }
        /* told once the tenant's whole read is in, not per chunk: a first
         * model is fitted on everything another writer stored */
        if (rc == 0 && t != NULL)
            app_note_changed(t, end - i);
        app_tenant_release(t);
    }
    free(chunk);
    if (rc == 0 && store_attrs_changed(db, since, attrs_one, a) != 0)
        rc = -1;
    if (rc == 0) {
        memcpy(since, next, STORE_TIME_MAX);
        app_own_xids_forget(a, strtoull(next, NULL, 10));
    } else {
        rc = -1;
    }
    for (size_t i = 0; i < ids.n; i++)
        free(ids.v[i].tenant);
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
    } else if (app_tenants_reconcile(s->a, s->db, s->tenants_sig) != 0 ||
               app_sync_once(s->a, s->db, s->since) != 0 ||
               app_subs_sync(s->a, s->db) != 0) {
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

void app_sync_wake(app_sync *s)
{
    if (s != NULL)
        ticker_wake(s->ticker);
}

void app_sync_stop(app_sync *s)
{
    if (s == NULL)
        return;
    ticker_stop(s->ticker);
    store_db_close(s->db);
    free(s);
}

/* Checkpoints of the tenants' summaries (see checkpoint.h): loaded at
 * start-up in place of the rebuild's aggregate, written by a ticker. */
#include "app/checkpoint.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "app/db_wait.h"
#include "app/sync.h"
#include "app/tenant_admin.h"
#include "app/tenants.h"
#include "base/clock.h"
#include "base/ticker.h"
#include "log/log.h"
#include "store/checkpoint.h"

struct app_checkpoint {
    app *a;
    ticker *ticker;
    pthread_mutex_t mu; /* guards stop and stopped */
    store_stop *stop;   /* of the write under way, NULL between */
    bool stopped;       /* app_checkpoint_stop has begun */
};

/* ------------------------------------------------------------ start-up */

/* The newest checkpoint of each tenant (store_checkpoint_newest). */
typedef struct found {
    store_checkpoint *v;
    size_t n, cap;
} found;

static int collect(const store_checkpoint *c, void *arg)
{
    found *f = arg;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        store_checkpoint *v = realloc(f->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = *c;
    return 0;
}

/* A checkpoint's customers into a tenant's cache. */
typedef struct load_ctx {
    app_tenant *t;
    unsigned long long n;
} load_ctx;

static int load_one(const store_customer *c, void *arg)
{
    load_ctx *x = arg;
    if (app_cache_load(x->t->cache, c) != CACHE_OK)
        return 1;
    x->n++;
    atomic_fetch_add_explicit(&x->t->app->n_loaded, 1, memory_order_relaxed);
    return 0;
}

/* Empties t's cache after a checkpoint failed half-way (start-up: nothing
 * else uses it yet). */
static int reset_cache(app_tenant *t, load_ctx *x)
{
    cache *fresh = cache_new(0);
    if (fresh == NULL)
        return -1;
    cache_free(t->cache);
    t->cache = fresh;
    atomic_fetch_sub(&t->app->n_loaded, x->n);
    return 0;
}

static bool horizon_below(const char *x, const char *y)
{
    return strtoull(x, NULL, 10) < strtoull(y, NULL, 10);
}

/* Loads checkpoint c into its tenant. Returns 1 when served (*since
 * lowered to its horizon), 0 when not (the tenant is rebuilt), -1. */
static int load_tenant(app *a, store_db *db, const store_checkpoint *c,
                       char since[STORE_TIME_MAX], char err[CONFIG_ERR_MAX])
{
    app_tenant *t = app_tenants_find(a->tenants, c->tenant_id);
    if (t == NULL)
        return 0;
    const ltvd_config *cfg = app_tenant_config(t);
    int64_t day = cfg->has_as_of ? cfg->as_of_day : STORE_AS_OF_NOW;
    int rc = 0;
    if (day != c->as_of_day) {
        log_write(LOG_INFO, "tenant %s: checkpoint %lld is of another as_of: rebuilt",
                  t->id, (long long)c->id);
        goto cleanup;
    }
    /* a guess of the ids' bytes; the table grows past it if need be */
    if (c->n_customers > 0 && cache_reserve(t->cache, (size_t)c->n_customers,
                                            (size_t)c->n_customers * 16) != CACHE_OK)
        log_write(LOG_WARN, "tenant %s: no room reserved for the checkpoint", t->id);
    load_ctx x = {t, 0};
    char why[STORE_CHECKPOINT_WHY_MAX];
    long long t0 = base_mono_ms();
    rc = store_checkpoint_load(db, c, load_one, &x, why);
    if (rc < 0) {
        snprintf(err, CONFIG_ERR_MAX, "checkpoint: %.200s", store_db_error(db));
        goto cleanup;
    }
    if (rc != 0) {
        log_write(LOG_WARN, "tenant %s: checkpoint %lld not usable (%s): rebuilt", t->id,
                  (long long)c->id, rc == 2 ? "a bad summary, or out of memory" : why);
        rc = reset_cache(t, &x) == 0 ? 0 : -1;
        if (rc != 0)
            snprintf(err, CONFIG_ERR_MAX, "checkpoint: out of memory");
        goto cleanup;
    }
    log_write(LOG_INFO,
              "tenant %s: checkpoint %lld loaded: %llu customers in %.3f s (%.0f s old)",
              t->id, (long long)c->id, x.n, (double)(base_mono_ms() - t0) / 1000.0,
              c->age_s);
    if (horizon_below(c->horizon, since))
        memcpy(since, c->horizon, STORE_TIME_MAX);
    rc = 1;
cleanup:
    app_tenant_release(t);
    return rc;
}

/* Rebuilds the tenants not in done[0..n) (ids of the loaded ones). */
static int rebuild_others(app *a, store_db *db, char **done, size_t n_done)
{
    size_t n;
    app_tenant **v = app_tenants_list(a->tenants, &n);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool loaded = false;
        for (size_t j = 0; !loaded && j < n_done; j++)
            loaded = strcmp(done[j], v[i]->id) == 0;
        if (!loaded)
            rc = app_tenant_rebuild(v[i], db);
    }
    app_tenants_list_free(v, n);
    return rc;
}

int app_checkpoint_load(app *a, store_db *db, char err[CONFIG_ERR_MAX])
{
    found f = {0};
    if (store_checkpoint_newest(db, collect, &f) != 0) {
        /* no table yet (a read-only process ahead of the migration) or
         * out of memory: the rebuild does without */
        log_write(LOG_WARN, "checkpoints not read (%s): rebuilding", store_db_error(db));
        free(f.v);
        return 0;
    }
    char since[STORE_TIME_MAX];
    memcpy(since, a->sync_since, STORE_TIME_MAX);
    char **done = calloc(f.n + 1, sizeof *done);
    size_t n_done = 0;
    int rc = done != NULL ? 0 : -1;
    for (size_t i = 0; rc >= 0 && i < f.n; i++) {
        rc = load_tenant(a, db, &f.v[i], since, err);
        if (rc == 1)
            done[n_done++] = f.v[i].tenant_id;
    }
    if (rc >= 0 && n_done > 0) {
        rc = rebuild_others(a, db, done, n_done);
        if (rc != 0)
            snprintf(err, CONFIG_ERR_MAX, "cache rebuild: %.200s",
                     rc < 0 ? store_db_error(db) : "invalid summary or out of memory");
    }
    /* what was stored since the oldest checkpoint read (or the rebuild) */
    long long t0 = base_mono_ms();
    if (rc >= 0 && n_done > 0 && app_sync_once(a, db, since) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "checkpoint catch-up: %.200s", store_db_error(db));
        rc = -1;
    }
    if (rc >= 0 && n_done > 0) {
        log_write(LOG_INFO, "checkpoints: %zu tenants loaded, caught up in %.3f s",
                  n_done, (double)(base_mono_ms() - t0) / 1000.0);
        memcpy(a->sync_since, since, STORE_TIME_MAX);
    }
    free(done);
    free(f.v);
    return rc < 0 ? -1 : (int)n_done;
}

/* ------------------------------------------------------------ writing */

/* Publishes (or clears, stop NULL) the stop of the write under way; false
 * when c is stopping (then nothing is published). */
static bool publish_stop(app_checkpoint *c, store_stop *stop)
{
    if (c == NULL)
        return true;
    pthread_mutex_lock(&c->mu);
    bool ok = !c->stopped || stop == NULL;
    if (ok)
        c->stop = stop;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* app_checkpoint_write_all, stoppable by app_checkpoint_stop when c is
 * not NULL. */
static int write_all(app *a, double min_age_s, app_checkpoint *c)
{
    store_db_limits lim;
    app_db_limits(a->config, &lim);
    lim.statement_timeout_ms = lim.wait_ms = 0; /* the aggregate takes long */
    char dberr[STORE_ERR_MAX];
    store_db *db = store_db_open_limited(a->config->database_url, &lim, dberr);
    if (db == NULL) {
        log_write(LOG_WARN, "checkpoint: %s", dberr);
        return -1;
    }
    store_stop *stop = store_stop_new(db);
    size_t n;
    app_tenant **v = app_tenants_list(a->tenants, &n);
    int written = 0;
    for (size_t i = 0; stop != NULL && i < n && publish_stop(c, stop); i++) {
        const ltvd_config *cfg = app_tenant_config(v[i]);
        int64_t day = cfg->has_as_of ? cfg->as_of_day : STORE_AS_OF_NOW;
        store_checkpoint ck;
        long long t0 = base_mono_ms();
        int rc = store_checkpoint_write(db, v[i]->id, day, min_age_s, stop, &ck);
        publish_stop(c, NULL);
        if (rc < 0) {
            /* the others may still be written (this one was deleted
             * meanwhile, say); a broken connection is reopened by the next */
            log_write(LOG_WARN, "tenant %s: checkpoint not written: %s", v[i]->id,
                      store_db_error(db));
        } else if (rc == 0) {
            written++;
            log_write(
                LOG_INFO,
                "tenant %s: checkpoint %lld written: %lld customers in %lld chunks, "
                "%.3f s",
                v[i]->id, (long long)ck.id, (long long)ck.n_customers,
                (long long)ck.n_chunks, (double)(base_mono_ms() - t0) / 1000.0);
        }
    }
    app_tenants_list_free(v, n);
    store_stop_free(stop);
    store_db_close(db);
    return written;
}

int app_checkpoint_write_all(app *a, double min_age_s)
{
    return write_all(a, min_age_s, NULL);
}

static long tick(void *arg)
{
    app_checkpoint *c = arg;
    /* a little less than the interval: a fleet's ticks drift */
    double min_age = 0.9 * (double)c->a->config->cache_checkpoint_interval_s;
    write_all(c->a, min_age, c);
    return -1;
}

app_checkpoint *app_checkpoint_start(app *a)
{
    long s = a->config->cache_checkpoint_interval_s;
    if (s <= 0 || a->read_only)
        return NULL;
    app_checkpoint *c = calloc(1, sizeof *c);
    if (c == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->a = a;
    /* the first look soon after start-up (a minute at most): a process
     * that had to rebuild writes the checkpoint the next start-up loads */
    c->ticker = ticker_start(s * 1000, (s < 60 ? s : 60) * 1000, tick, c);
    if (c->ticker == NULL) {
        log_write(LOG_WARN, "checkpoint: the writer thread could not start");
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    return c;
}

void app_checkpoint_stop(app_checkpoint *c)
{
    if (c == NULL)
        return;
    /* a write under way rolls back now rather than at its end */
    pthread_mutex_lock(&c->mu);
    c->stopped = true;
    store_stop_now(c->stop);
    pthread_mutex_unlock(&c->mu);
    ticker_stop(c->ticker);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

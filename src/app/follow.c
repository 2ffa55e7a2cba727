/* The snapshot follower (see follow.h): a ticker that waits for snapshot
 * announcements on its own connection and looks for a newer snapshot when
 * one comes or snapshot_poll_ms has passed. */
#include "app/follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "app/db_wait.h"
#include "app/sync.h"
#include "app/tenants.h"
#include "base/clock.h"
#include "base/ticker.h"
#include "log/log.h"
#include "store/fleet.h"

/* The longest one turn waits for an announcement: bounds how long
 * app_follow_stop waits. */
#define FOLLOW_WAIT_MS 100

struct app_follow {
    app *a;
    ticker *ticker;
    store_db *db;           /* own connection, NULL until it connects */
    store_db_limits lim;    /* its bounds */
    unsigned listening;     /* db->generation LISTEN was sent on (0: not yet) */
    long long next_look_ms; /* base_mono_ms of the next look without announcement */
    bool warned;            /* the database failure was logged */
    int64_t rejected;       /* the newest snapshot looked at and not served */
    bool polling_only;      /* LISTEN was refused (a standby) */
};

/* The served snapshot's version (0: none). */
static int64_t served_version(app_tenant *t)
{
    const cache_model *m = cache_snapshot_acquire(t->cache);
    int64_t v = m != NULL ? (int64_t)m->version : 0;
    cache_snapshot_release(m);
    return v;
}

/* Loads snapshot id and serves it when usable. Returns 1 served, 0 not,
 * -1 database failure. */
static int serve_id(app_tenant *t, store_db *db, int64_t id, int64_t *rejected)
{
    store_snapshot s;
    int rc = store_snapshot_load_before(db, t->id, id + 1, &s);
    if (rc <= 0)
        return rc;
    cache_model m;
    char why[CONFIG_ERR_MAX + 512];
    bool ok = app_model_from_snapshot(&s, &m, why) == 0 &&
              app_snapshot_usable(t, &m, why, sizeof why);
    int64_t loaded = s.id;
    store_snapshot_free(&s);
    if (ok && served_version(t) >= loaded)
        return 0; /* this process fitted it, or a newer one came meanwhile */
    if (ok && cache_snapshot_set(t->cache, &m) == CACHE_OK) {
        log_write(LOG_INFO,
                  "tenant %s: model snapshot %lld (fitted by another process) served",
                  t->id, (long long)loaded);
        return 1;
    }
    if (*rejected != loaded)
        log_write(LOG_WARN, "tenant %s: model snapshot %lld not served: %s", t->id,
                  (long long)loaded, ok ? "out of memory" : why);
    *rejected = loaded;
    return 0;
}

/* Serves t's newest snapshot fitted under its settings when it is newer
 * than the one served and usable. 1 served, 0 not, -1 database failure. */
static int follow_tenant(app_tenant *t, store_db *db, int64_t *rejected)
{
    const ltvd_config *cfg = app_tenant_config(t);
    int64_t newest = 0;
    if (store_snapshot_newest_id(db, t->id,
                                 cfg->model == CONFIG_MODEL_PARETO ? "pareto" : "bgnbd",
                                 cfg->period == CONFIG_PERIOD_WEEK ? "week" : "day",
                                 cfg->has_as_of, cfg->as_of_day, &newest) != 0)
        return -1;
    if (newest <= served_version(t) || newest == *rejected)
        return 0;
    return serve_id(t, db, newest, rejected);
}

int app_follow_once(app *a, store_db *db, int64_t *rejected)
{
    return follow_tenant(a->dflt, db, rejected);
}

/* A look at one tenant (announced, or found newer by the poll). */
typedef struct look_ctx {
    app *a;
    store_db *db;
    int rc;
} look_ctx;

static void look(look_ctx *x, const char *tenant, int64_t id)
{
    app_tenant *t = app_tenants_find(x->a->tenants, tenant);
    if (t != NULL && x->rc >= 0 && id > served_version(t)) {
        int64_t rejected = atomic_load(&t->follow_rejected);
        if (id != rejected && follow_tenant(t, x->db, &rejected) < 0)
            x->rc = -1;
        atomic_store(&t->follow_rejected, rejected);
    }
    app_tenant_release(t);
}

/* An announcement: a snapshot, or a change of the tenants (the catch-up
 * reconciles them), or an erased customer. */
static void heard(const char *tenant, int64_t id, const char *customer, void *arg)
{
    look_ctx *x = arg;
    if (id > 0) {
        look(x, tenant, id);
    } else if (id == 0) {
        app_sync_wake(x->a->sync);
    } else if (customer != NULL) {
        app_tenant *t = app_tenants_find(x->a->tenants, tenant);
        if (t != NULL)
            app_customer_forget(t, customer);
        app_tenant_release(t);
    }
}

static void newest(const char *tenant, int64_t id, void *arg)
{
    look((look_ctx *)arg, tenant, id);
}

/* Connects and LISTENs when needed (again after a reconnect: a look follows
 * at once, for what was announced meanwhile). False when PostgreSQL fails. */
static bool connected(app_follow *f)
{
    char err[STORE_ERR_MAX];
    if (f->db == NULL && (f->db = store_db_open_limited(f->a->config->database_url,
                                                        &f->lim, err)) == NULL) {
        if (!f->warned)
            log_write(LOG_WARN, "snapshot follower: %s (retried)", err);
        f->warned = true;
        return false;
    }
    if (store_db_broken(f->db) && store_db_reconnect(f->db) != 0)
        goto failed;
    if (f->listening != f->db->generation) {
        /* a hot standby refuses LISTEN (and hears no NOTIFY of the
         * primary): there the look every snapshot_poll_ms is all. A
         * read-only process does not even try (a refusal is an ERROR in
         * the standby's log) */
        bool refused = f->a->read_only || store_snapshot_listen(f->db) != 0;
        if (refused && store_db_broken(f->db))
            goto failed;
        if (refused && !f->polling_only)
            log_write(LOG_INFO, "snapshot follower: %s: looking every %ld ms only",
                      f->a->read_only ? "a read-only process" : store_db_error(f->db),
                      f->a->config->snapshot_poll_ms);
        f->polling_only = refused;
        f->listening = f->db->generation;
        f->next_look_ms = 0;
    }
    return true;
failed:
    if (!f->warned)
        log_write(LOG_WARN, "snapshot follower: %s (retried)", store_db_error(f->db));
    f->warned = true;
    return false;
}

/* One turn (a ticker_fn): waits up to FOLLOW_WAIT_MS for an announcement,
 * and looks when one came or the poll is due. */
static long follow_tick(void *arg)
{
    app_follow *f = arg;
    long poll_ms = f->a->config->snapshot_poll_ms;
    if (!connected(f))
        return poll_ms;
    long long wait = f->next_look_ms - base_mono_ms();
    look_ctx x = {f->a, f->db, 0};
    int rc = store_snapshot_wait(f->db,
                                 wait < 0                ? 0
                                 : wait > FOLLOW_WAIT_MS ? FOLLOW_WAIT_MS
                                                         : wait,
                                 heard, &x);
    if (rc < 0) {
        f->listening = 0; /* reconnect and listen again */
        store_db_reconnect(f->db);
        return 0;
    }
    if (rc == 0 && base_mono_ms() < f->next_look_ms)
        return 0;
    f->next_look_ms = base_mono_ms() + poll_ms;
    if (x.rc < 0 || store_snapshot_newest_all(f->db, newest, &x) != 0 || x.rc < 0) {
        if (!f->warned) /* once per outage */
            log_write(LOG_WARN, "snapshot follower: %s (retried)", store_db_error(f->db));
        f->warned = true;
        return poll_ms;
    }
    f->warned = false;
    return 0;
}

app_follow *app_follow_start(app *a)
{
    app_follow *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->a = a;
    app_db_limits(a->config, &f->lim);
    f->ticker = ticker_start(a->config->snapshot_poll_ms, 0, follow_tick, f);
    if (f->ticker == NULL) {
        free(f);
        return NULL;
    }
    return f;
}

void app_follow_stop(app_follow *f)
{
    if (f == NULL)
        return;
    ticker_stop(f->ticker);
    store_db_close(f->db);
    free(f);
}

/* The background readiness check (see readiness.h), on a base/ticker. */
#include "app/readiness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/db_wait.h"
#include "base/clock.h"
#include "base/ticker.h"
#include "log/log.h"
#include "store/migrate.h"
#include "store/mode.h"

struct app_readiness {
    app *a;
    store_db *db;       /* the thread's own; NULL until connected */
    ticker *ticker;     /* runs the checks */
    pthread_mutex_t mu; /* guards ok, why, checked_ms */
    bool ok;
    char why[160];
    long long checked_ms; /* monotonic ms of the last completed check */
};

/* One check on r->db (connecting first when needed), within
 * READINESS_WAIT_MS: PostgreSQL answers, no migration is pending, and, for
 * a writing process, the database still takes writes (not turned into a
 * standby by a failover, app/mode.h). Returns the verdict, with why. */
static bool check_once(app_readiness *r, char why[160])
{
    app *a = r->a;
    store_db_limits lim;
    app_db_limits(a->config, &lim);
    if (lim.wait_ms <= 0 || lim.wait_ms > READINESS_WAIT_MS)
        lim.wait_ms = READINESS_WAIT_MS;
    char err[STORE_ERR_MAX];
    if (r->db == NULL &&
        (r->db = store_db_open_limited(a->config->database_url, &lim, err)) == NULL) {
        snprintf(why, 160, "database unreachable: %.100s", err);
        return false;
    }
    store_db_set_deadline(r->db, READINESS_WAIT_MS);
    int pending = 0;
    store_mode m = {false, false};
    bool ok = store_db_ping(r->db) == 0 &&
              store_migrations_pending(r->db, a->migrations_dir, &pending) == 0 &&
              (a->read_only || store_mode_get(r->db, &m) == 0);
    bool writes = !(m.in_recovery || m.read_only); /* a writing process's database */
    if (!ok)
        snprintf(why, 160, "database unreachable: %.100s", store_db_error(r->db));
    else if (pending > 0)
        snprintf(why, 160, "%d migration(s) pending", pending);
    else if (!writes)
        snprintf(why, 160,
                 "the database no longer takes writes (%s): restart this process against "
                 "the primary, or with read_only",
                 m.in_recovery ? "a standby" : "read-only session");
    store_db_set_deadline(r->db, 0);
    return ok && pending == 0 && writes;
}

/* Runs a check and publishes it. */
static void check_and_publish(app_readiness *r)
{
    char why[160] = "";
    bool ok = check_once(r, why);
    /* pending migrations are no outage; no answer is */
    if (ok || strncmp(why, "database unreachable", 20) != 0)
        app_db_ok(r->a);
    else
        app_db_failed(r->a);
    pthread_mutex_lock(&r->mu);
    if (r->checked_ms != 0 && r->ok != ok)
        log_write(ok ? LOG_INFO : LOG_WARN, "readiness: %s", ok ? "ready" : why);
    r->ok = ok;
    snprintf(r->why, sizeof r->why, "%s", why);
    r->checked_ms = base_mono_ms();
    pthread_mutex_unlock(&r->mu);
}

/* A ticker_fn: one check every readiness_interval_ms. */
static long readiness_tick(void *arg)
{
    check_and_publish(arg);
    return -1;
}

app_readiness *app_readiness_start(app *a)
{
    app_readiness *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->a = a;
    pthread_mutex_init(&r->mu, NULL);
    check_and_publish(r);
    long interval = a->config->readiness_interval_ms;
    r->ticker = ticker_start(interval, interval, readiness_tick, r);
    if (r->ticker == NULL) {
        store_db_close(r->db);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    return r;
}

void app_readiness_stop(app_readiness *r)
{
    if (r == NULL)
        return;
    ticker_stop(r->ticker);
    store_db_close(r->db);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

bool app_readiness_db_ok(app_readiness *r, char *why, size_t why_len)
{
    if (r == NULL) {
        snprintf(why, why_len, "the readiness check is not running");
        return false;
    }
    pthread_mutex_lock(&r->mu);
    bool ok = r->ok;
    long long age = base_mono_ms() - r->checked_ms;
    /* a check stuck past its own bound says nothing good */
    long long stale = r->a->config->readiness_interval_ms + 2 * READINESS_WAIT_MS;
    if (ok && age > stale) {
        ok = false;
        snprintf(why, why_len, "database unreachable: no check completed for %lld ms",
                 age);
    } else if (!ok) {
        snprintf(why, why_len, "%s", r->why);
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

/* Read-only or writing: the decision at start-up and what follows from it
 * for the schema (see mode.h). */
#include "app/mode.h"

#include <stdio.h>
#include <string.h>

#include "app/db_wait.h"
#include "log/log.h"
#include "store/migrate.h"
#include "store/mode.h"

/* Sets a->read_only, and why into a->read_only_why ("" when it writes).
 * Returns 0, or -1 with err when the database could not say. */
static int decide(app *a, store_db *db, char err[CONFIG_ERR_MAX])
{
    store_mode m;
    if (store_mode_get(db, &m) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "database mode: %.200s", store_db_error(db));
        return -1;
    }
    const char *why = a->config->read_only ? "as configured (read_only = true)"
                      : m.in_recovery      ? "as its database is a streaming replica "
                                             "(a standby in recovery)"
                      : m.read_only        ? "as its database session is read-only "
                                             "(default_transaction_read_only)"
                                           : NULL;
    a->read_only = why != NULL;
    snprintf(a->read_only_why, sizeof a->read_only_why, "%s", why != NULL ? why : "");
    return 0;
}

/* The schema check of a database ltvd does not migrate (what: the
 * message's prefix): every migration of this ltvd must already be applied
 * (on the primary, and replayed by a replica). */
static int check_schema(app *a, store_db *db, const char *what, char err[CONFIG_ERR_MAX])
{
    store_schema_state st;
    if (store_migrations_check(db, a->migrations_dir, &st) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "%s: schema check: %.180s", what,
                 store_db_error(db));
        return -1;
    }
    if (st.no_table) {
        snprintf(err, CONFIG_ERR_MAX,
                 "%s: the database has no ltvd schema (no schema_migrations): run "
                 "`ltvd migrate` against the primary; a replica replays it",
                 what);
        return -1;
    }
    if (st.pending > 0) {
        snprintf(err, CONFIG_ERR_MAX,
                 "%s: the database schema is behind this ltvd: %d of %d migrations not "
                 "applied (the first: %.60s): run `ltvd migrate` against the primary and "
                 "wait for a replica to replay it",
                 what, st.pending, st.known, st.first_pending);
        return -1;
    }
    return 0;
}

int app_mode_prepare(app *a, store_db *db, char err[CONFIG_ERR_MAX])
{
    if (decide(a, db, err) != 0)
        return -1;
    if (a->read_only) {
        log_write(LOG_INFO,
                  "read-only, %s: no migrations, no refit worker, writes answered 503 "
                  "read-only",
                  a->read_only_why);
        return check_schema(a, db, "read-only", err);
    }
    int applied = 0;
    if (store_migrate(db, a->migrations_dir, &applied) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "migrate: %.200s", store_db_error(db));
        return -1;
    }
    return 0;
}

store_db *app_mode_rebuild_db(app *a, store_db *boot, char err[CONFIG_ERR_MAX])
{
    const char *url = a->config->database_read_url;
    if (a->read_only || url[0] == '\0')
        return boot;
    store_db_limits lim;
    app_db_limits(a->config, &lim);
    lim.statement_timeout_ms = lim.wait_ms = 0; /* as the start-up connection's */
    char dberr[STORE_ERR_MAX];
    store_db *db = store_db_open_limited(url, &lim, dberr);
    if (db == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "DATABASE_READ_URL: %.200s", dberr);
        return NULL;
    }
    if (check_schema(a, db, "DATABASE_READ_URL", err) != 0) {
        store_db_close(db);
        return NULL;
    }
    log_write(LOG_INFO, "cache rebuild and model snapshot from DATABASE_READ_URL");
    return db;
}

bool app_read_only(void *cls, char *why, size_t len)
{
    app *a = cls;
    char ignored[8];
    /* before that, read_only is not published (the router answers 503
     * `starting` anyway) */
    if (!app_started(a, ignored, sizeof ignored) || !a->read_only)
        return false;
    if (a->config->write_url[0] != '\0')
        snprintf(why, len,
                 "this ltvd process is read-only, %s: it cannot write, and nothing "
                 "was stored; send writes to %s",
                 a->read_only_why, a->config->write_url);
    else
        snprintf(why, len,
                 "this ltvd process is read-only, %s: it cannot write, and nothing "
                 "was stored; send writes to an ltvd process connected to the primary "
                 "database",
                 a->read_only_why);
    return true;
}

/* One libpq connection: connect, ping, reconnect, lazily prepared statements
 * and the retrying transaction helper every store_ module goes through.
 * The connection is nonblocking and every wait for the server is a poll
 * with a deadline (see db.h, "Bounded waits"). */
#define _GNU_SOURCE /* pthread_rwlock_clockrdlock (glibc 2.30): a monotonic wait */
#include "store/db.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

#define TX_ATTEMPTS 10

/* ---- bounded waits ---------------------------------------------------------- */

/* When the wait that starts now must end (monotonic ms): wait_ms from now
 * or the deadline, the earlier; -1 when neither is set. */
static long long wait_until(const store_db *db, long wait_ms)
{
    long long until = wait_ms > 0 ? base_mono_ms() + wait_ms : -1;
    if (db->deadline_ms > 0 && (until < 0 || db->deadline_ms < until))
        until = db->deadline_ms;
    return until;
}

/* Drops the connection after a wait ran out: nothing can be said to it any
 * more (it may be mid-statement), and the server rolls back when it sees
 * the socket closed. Returns -1. */
static int timed_out(store_db *db, const char *what)
{
    snprintf(db->err, sizeof db->err, "%s: no answer from PostgreSQL in time", what);
    db->sqlstate[0] = '\0';
    db->timed_out = true;
    if (db->conn != NULL) {
        PQsetnonblocking(db->conn, 1); /* the goodbye must not block either */
        PQfinish(db->conn);
        db->conn = NULL;
    }
    return -1;
}

/* Waits until fd is ready for events or until `until` (< 0: no end).
 * Returns the revents, 0 on timeout, -1 on a poll error. */
static int wait_fd(int fd, short events, long long until)
{
    for (;;) {
        int ms = -1;
        if (until >= 0) {
            long long left = until - base_mono_ms();
            if (left <= 0)
                return 0;
            ms = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return p.revents != 0 ? p.revents : events;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* Sends what libpq holds for the server. Returns 0, or -1 (db->err set). */
static int flush_out(store_db *db, long long until, const char *what)
{
    for (;;) {
        int f = PQflush(db->conn);
        if (f == 0)
            return 0;
        if (f < 0)
            return store_db_fail(db, NULL, what);
        int ev = wait_fd(PQsocket(db->conn), POLLIN | POLLOUT, until);
        if (ev == 0)
            return timed_out(db, what);
        if (ev < 0 || ((ev & POLLIN) && !PQconsumeInput(db->conn)))
            return store_db_fail(db, NULL, what);
    }
}

/* Waits until a result (or the end of the results) can be read. */
static int await_result(store_db *db, long long until, const char *what)
{
    while (PQisBusy(db->conn)) {
        int ev = wait_fd(PQsocket(db->conn), POLLIN, until);
        if (ev == 0)
            return timed_out(db, what);
        if (ev < 0 || !PQconsumeInput(db->conn))
            return store_db_fail(db, NULL, what);
    }
    return 0;
}

static bool is_copy(ExecStatusType st)
{
    return st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
}

static bool is_failure(ExecStatusType st)
{
    return st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE ||
           st == PGRES_NONFATAL_ERROR;
}

/* Sends what was queued and collects the command's results: the first
 * failed one, else the last; a COPY's at once. NULL: db->err set. */
static PGresult *collect(store_db *db, long long until, const char *what)
{
    if (flush_out(db, until, what) != 0)
        return NULL;
    PGresult *keep = NULL;
    for (;;) {
        if (await_result(db, until, what) != 0) {
            PQclear(keep);
            return NULL;
        }
        PGresult *r = PQgetResult(db->conn);
        if (r == NULL)
            break;
        ExecStatusType st = PQresultStatus(r);
        if (is_copy(st)) {
            PQclear(keep);
            return r;
        }
        if (keep != NULL && is_failure(PQresultStatus(keep))) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
    if (keep == NULL)
        store_db_fail(db, NULL, what);
    return keep;
}

PGresult *store_db_query(store_db *db, const char *sql, int n_params,
                         const char *const *values)
{
    db->timed_out = false;
    if (db->conn == NULL) {
        store_db_fail(db, NULL, sql);
        return NULL;
    }
    long long until = wait_until(db, db->lim.wait_ms);
    int sent =
        n_params == 0 && values == NULL
            ? PQsendQuery(db->conn, sql)
            : PQsendQueryParams(db->conn, sql, n_params, NULL, values, NULL, NULL, 0);
    if (!sent) {
        store_db_fail(db, NULL, sql);
        return NULL;
    }
    return collect(db, until, sql);
}

int store_db_copy_data(store_db *db, const char *data, size_t len, const char *what)
{
    db->timed_out = false;
    if (db->conn == NULL)
        return store_db_fail(db, NULL, what);
    long long until = wait_until(db, db->lim.wait_ms);
    /* nonblocking: both only queue (growing libpq's buffer); collect sends */
    if (len > (size_t)INT32_MAX || PQputCopyData(db->conn, data, (int)len) != 1 ||
        PQputCopyEnd(db->conn, NULL) != 1)
        return store_db_fail(db, NULL, what);
    PGresult *res = collect(db, until, what);
    int rc = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0 && res != NULL)
        store_db_fail(db, res, what);
    PQclear(res);
    return rc;
}

void store_db_set_deadline(store_db *db, long ms)
{
    db->deadline_ms = ms > 0 ? base_mono_ms() + ms : 0;
    db->timed_out = false;
}

bool store_db_timed_out(const store_db *db)
{
    return db->timed_out || strcmp(db->sqlstate, PG_QUERY_CANCELED) == 0 ||
           strcmp(db->sqlstate, PG_LOCK_NOT_AVAILABLE) == 0;
}

/* ---- connection ------------------------------------------------------- */

/* Notices ("relation ... already exists, skipping") are not errors and
 * must not reach stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Completes PQconnectStartParams within the connect timeout (and the
 * deadline). */
static int connect_poll(store_db *db, PGconn *conn, char err[STORE_ERR_MAX])
{
    long long until = wait_until(db, db->lim.connect_timeout_s * 1000);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            snprintf(err, STORE_ERR_MAX, "connect: %s", PQerrorMessage(conn));
            return -1;
        }
        int ev = wait_fd(PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                         until);
        if (ev == 0) {
            snprintf(err, STORE_ERR_MAX, "connect: no answer from PostgreSQL in time");
            db->timed_out = true;
            return -1;
        }
        st = PQconnectPoll(conn);
    }
    return 0;
}

/* The session settings: UTC (so timestamptz text and ::date mean UTC),
 * and the server-side timeouts of the limits. */
static int set_session(store_db *db, char err[STORE_ERR_MAX])
{
    char sql[320];
    const store_db_limits *l = &db->lim;
    int n = snprintf(sql, sizeof sql, "SET TimeZone = 'UTC'");
    if (l->statement_timeout_ms > 0)
        n += snprintf(sql + n, sizeof sql - (size_t)n, "; SET statement_timeout = %ld",
                      l->statement_timeout_ms);
    if (l->lock_timeout_ms > 0)
        n += snprintf(sql + n, sizeof sql - (size_t)n, "; SET lock_timeout = %ld",
                      l->lock_timeout_ms);
    if (l->idle_in_tx_timeout_ms > 0)
        snprintf(sql + n, sizeof sql - (size_t)n,
                 "; SET idle_in_transaction_session_timeout = %ld",
                 l->idle_in_tx_timeout_ms);
    if (store_db_exec(db, sql, PGRES_COMMAND_OK) != 0) {
        snprintf(err, STORE_ERR_MAX, "connect: %.480s", db->err);
        return -1;
    }
    return 0;
}

/* Opens db->conn to url. Connection parameters go before the URL's, so a
 * value in the URL (processed later) wins. */
static int connect_url(store_db *db, const char *url, char err[STORE_ERR_MAX])
{
    const store_db_limits *l = &db->lim;
    char v[6][24];
    const char *keys[10], *vals[10];
    int k = 0;
    snprintf(v[0], sizeof v[0], "%ld",
             l->connect_timeout_s > 0 ? l->connect_timeout_s : 10);
    keys[k] = "connect_timeout", vals[k++] = v[0];
    if (l->keepalives_idle_s > 0) {
        snprintf(v[1], sizeof v[1], "%ld", l->keepalives_idle_s);
        snprintf(v[2], sizeof v[2], "%ld", l->keepalives_interval_s);
        snprintf(v[3], sizeof v[3], "%ld", l->keepalives_count);
        keys[k] = "keepalives", vals[k++] = "1";
        keys[k] = "keepalives_idle", vals[k++] = v[1];
        keys[k] = "keepalives_interval", vals[k++] = v[2];
        keys[k] = "keepalives_count", vals[k++] = v[3];
    }
    if (l->tcp_user_timeout_ms > 0) {
        snprintf(v[4], sizeof v[4], "%ld", l->tcp_user_timeout_ms);
        keys[k] = "tcp_user_timeout", vals[k++] = v[4];
    }
    keys[k] = "application_name", vals[k++] = "ltvd";
    keys[k] = "dbname", vals[k++] = url;
    keys[k] = NULL, vals[k] = NULL;
    db->conn = PQconnectStartParams(keys, vals, 1);
    if (db->conn == NULL) {
        snprintf(err, STORE_ERR_MAX, "connect: out of memory");
        return -1;
    }
    if (PQstatus(db->conn) == CONNECTION_BAD) {
        snprintf(err, STORE_ERR_MAX, "connect: %s", PQerrorMessage(db->conn));
        goto failed;
    }
    if (connect_poll(db, db->conn, err) != 0)
        goto failed;
    PQsetNoticeProcessor(db->conn, quiet, NULL);
    if (PQsetnonblocking(db->conn, 1) != 0) {
        snprintf(err, STORE_ERR_MAX, "connect: %s", PQerrorMessage(db->conn));
        goto failed;
    }
    if (set_session(db, err) != 0)
        goto failed;
    return 0;
failed:
    /* libpq messages end in a newline; ours do not. */
    err[strcspn(err, "\n")] = '\0';
    if (db->conn != NULL) {
        PQsetnonblocking(db->conn, 1);
        PQfinish(db->conn);
    }
    db->conn = NULL;
    return -1;
}

store_db *store_db_open(const char *url, char err[STORE_ERR_MAX])
{
    return store_db_open_limited(url, NULL, err);
}

store_db *store_db_open_limited(const char *url, const store_db_limits *lim,
                                char err[STORE_ERR_MAX])
{
    store_db *db = calloc(1, sizeof *db);
    if (db == NULL || (db->url = strdup(url)) == NULL) {
        snprintf(err, STORE_ERR_MAX, "out of memory");
        free(db);
        return NULL;
    }
    if (lim != NULL)
        db->lim = *lim;
    if (connect_url(db, url, err) != 0) {
        store_db_close(db);
        return NULL;
    }
    db->generation = 1;
    return db;
}

void store_db_close(store_db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL) {
        PQsetnonblocking(db->conn, 1);
        PQfinish(db->conn);
    }
    free(db->url);
    free(db);
}

const char *store_db_error(const store_db *db)
{
    return db->err;
}

int store_db_reconnect(store_db *db)
{
    if (db->conn != NULL) {
        PQsetnonblocking(db->conn, 1);
        PQfinish(db->conn);
        db->conn = NULL;
    }
    db->n_prepared = 0;
    db->stage_ready = false;
    db->generation++;
    char err[STORE_ERR_MAX];
    if (connect_url(db, db->url, err) != 0) {
        memcpy(db->err, err, sizeof err);
        return -1;
    }
    return 0;
}

bool store_db_broken(const store_db *db)
{
    return db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK;
}

int store_db_ping(store_db *db)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (store_db_broken(db) && store_db_reconnect(db) != 0)
            continue;
        if (store_db_exec(db, "SELECT 1", PGRES_TUPLES_OK) == 0)
            return 0;
    }
    return -1;
}

/* ---- errors and statements ---------------------------------------------- */

int store_db_fail(store_db *db, const PGresult *res, const char *what)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state != NULL ? state : "");
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    if (msg[0] == '\0' && db->conn == NULL && db->timed_out)
        msg = "no answer from PostgreSQL in time";
    if (msg[0] == '\0')
        msg = db->conn != NULL ? PQerrorMessage(db->conn) : "no connection";
    if (msg[0] == '\0')
        msg = "out of memory";
    snprintf(db->err, sizeof db->err, "%s: %s", what, msg);
    db->err[strcspn(db->err, "\n")] = '\0';
    return -1;
}

int store_db_exec(store_db *db, const char *sql, ExecStatusType expect)
{
    PGresult *res = store_db_query(db, sql, 0, NULL);
    if (res == NULL)
        return -1;
    int rc = PQresultStatus(res) == expect ? 0 : store_db_fail(db, res, sql);
    PQclear(res);
    return rc;
}

static bool is_prepared(const store_db *db, const char *name)
{
    for (int i = 0; i < db->n_prepared; i++)
        if (strcmp(db->prepared[i], name) == 0)
            return true;
    return false;
}

PGresult *store_db_exec_prepared(store_db *db, const char *name, const char *sql,
                                 int n_params, const char *const *values)
{
    db->timed_out = false;
    if (db->conn == NULL) {
        store_db_fail(db, NULL, name);
        return NULL;
    }
    if (!is_prepared(db, name)) {
        if (db->n_prepared == STORE_MAX_PREPARED) {
            snprintf(db->err, sizeof db->err, "%s: too many prepared statements", name);
            return NULL;
        }
        long long until = wait_until(db, db->lim.wait_ms);
        PGresult *res = PQsendPrepare(db->conn, name, sql, n_params, NULL)
                            ? collect(db, until, name)
                            : NULL;
        if (res == NULL && db->conn != NULL && !db->timed_out)
            store_db_fail(db, NULL, name);
        if (res == NULL)
            return NULL;
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            store_db_fail(db, res, name);
            PQclear(res);
            return NULL;
        }
        PQclear(res);
        db->prepared[db->n_prepared++] = name;
    }
    long long until = wait_until(db, db->lim.wait_ms);
    if (!PQsendQueryPrepared(db->conn, name, n_params, values, NULL, NULL, 0)) {
        store_db_fail(db, NULL, name);
        return NULL;
    }
    return collect(db, until, name);
}

bool store_db_retryable(const store_db *db)
{
    return strcmp(db->sqlstate, PG_SERIALIZATION_FAILURE) == 0 ||
           strcmp(db->sqlstate, PG_DEADLOCK_DETECTED) == 0;
}

/* ---- transactions -------------------------------------------------------- */

static bool past_deadline(const store_db *db)
{
    return db->deadline_ms > 0 && base_mono_ms() >= db->deadline_ms;
}

/* Takes gate for reading, waiting no longer than the deadline. */
static int gate_rdlock(store_db *db, pthread_rwlock_t *gate)
{
    if (db->deadline_ms <= 0)
        return pthread_rwlock_rdlock(gate);
    struct timespec until = base_mono_after_ms(db->deadline_ms - base_mono_ms());
    return pthread_rwlock_clockrdlock(gate, CLOCK_MONOTONIC, &until);
}

/* Sleeps a little longer at each attempt, with jitter, so that two
 * transactions that collided do not collide again in lock step. */
static void backoff(int attempt)
{
    long ms = (1L << (attempt < 6 ? attempt : 6)) + rand() % 5;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Rolls back after a failure (keeping its message); a broken connection
 * has nothing to roll back. */
static void rollback(store_db *db)
{
    if (store_db_broken(db))
        return;
    char saved[STORE_ERR_MAX], state[6];
    bool was_timed_out = db->timed_out;
    memcpy(saved, db->err, sizeof saved);
    memcpy(state, db->sqlstate, sizeof state);
    PQclear(store_db_query(db, "ROLLBACK", 0, NULL));
    if (!db->timed_out) {
        memcpy(db->err, saved, sizeof saved);
        memcpy(db->sqlstate, state, sizeof state);
        db->timed_out = was_timed_out;
    }
}

/* What to do after an attempt failed before COMMIT: true to try again. A
 * bound that ran out is final: trying again would wait as long again. */
static bool recover(store_db *db)
{
    if (store_db_timed_out(db) || past_deadline(db)) {
        rollback(db);
        return false;
    }
    if (store_db_broken(db)) {
        char saved[STORE_ERR_MAX];
        memcpy(saved, db->err, sizeof saved);
        if (store_db_reconnect(db) != 0)
            return false;
        memcpy(db->err, saved, sizeof saved);
        return true;
    }
    bool again = store_db_retryable(db);
    rollback(db);
    return again;
}

int store_db_begin_read(store_db *db)
{
    if (store_db_broken(db)) {
        snprintf(db->err, sizeof db->err, "connection lost");
        return -1;
    }
    if (store_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                      PGRES_COMMAND_OK) != 0)
        return -1;
    /* the snapshot is taken by the first statement */
    if (store_db_exec(db, "SELECT 1", PGRES_TUPLES_OK) != 0) {
        rollback(db);
        return -1;
    }
    return 0;
}

int store_db_end_read(store_db *db)
{
    return store_db_exec(db, "COMMIT", PGRES_COMMAND_OK);
}

int store_db_transaction(store_db *db, bool serializable, store_tx_fn fn, void *arg)
{
    return store_db_transaction_gated(db, serializable, fn, arg, NULL);
}

int store_db_transaction_gated(store_db *db, bool serializable, store_tx_fn fn, void *arg,
                               pthread_rwlock_t *commit_gate)
{
    const char *begin = serializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN";
    bool again = false;
    for (int attempt = 0; attempt < TX_ATTEMPTS; attempt++) {
        if (attempt > 0 && !again)
            backoff(attempt);
        again = false;
        db->sqlstate[0] = '\0';
        if (past_deadline(db)) {
            snprintf(db->err, sizeof db->err, "gave up: the deadline has passed");
            db->timed_out = true;
            return -1;
        }
        if (store_db_broken(db) && store_db_reconnect(db) != 0)
            return -1;
        if (store_db_exec(db, begin, PGRES_COMMAND_OK) != 0) {
            if (recover(db))
                continue;
            return -1;
        }
        store_tx_status st = fn(db, arg);
        if (st == STORE_TX_AGAIN) {
            rollback(db);
            again = true;
            continue;
        }
        if (st != STORE_TX_OK) {
            if (st == STORE_TX_RETRY || recover(db)) {
                if (st == STORE_TX_RETRY)
                    rollback(db);
                continue;
            }
            return -1;
        }
        if (commit_gate != NULL && gate_rdlock(db, commit_gate) != 0) {
            snprintf(db->err, sizeof db->err,
                     "COMMIT: the cache catch-up held the gate "
                     "past the deadline");
            db->timed_out = true;
            rollback(db);
            return -1;
        }
        PGresult *res = store_db_query(db, "COMMIT", 0, NULL);
        ExecStatusType status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK) {
            PQclear(res);
            return 0; /* the gate stays held: the caller's to release */
        }
        if (commit_gate != NULL)
            pthread_rwlock_unlock(commit_gate);
        store_db_fail(db, res, "COMMIT");
        PQclear(res);
        if (store_db_broken(db)) {
            /* The server may or may not have committed: not ours to guess
             * (a batch's rows then reach the cache through the catch-up). */
            snprintf(db->err, sizeof db->err, "COMMIT: connection lost, outcome unknown");
            return -1;
        }
        if (!store_db_retryable(db)) {
            rollback(db);
            return -1;
        }
    }
    size_t len = strlen(db->err);
    snprintf(db->err + len, sizeof db->err - len, " (gave up after %d attempts)",
             TX_ATTEMPTS);
    return -1;
}

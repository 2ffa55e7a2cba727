/* One libpq connection: connect, ping, reconnect, lazily prepared statements
 * and the retrying transaction helper every store_ module goes through. */
#include "store/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TX_ATTEMPTS 10

/* ---- connection ------------------------------------------------------- */

/* Notices ("relation ... already exists, skipping") are not errors and
 * must not reach stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Opens a connection to url; session settings every module relies on
 * (UTC, so timestamptz text and ::date mean UTC) are applied here. */
static PGconn *connect_url(const char *url, char err[STORE_ERR_MAX])
{
    /* connect_timeout first: a value in the URL, processed later, wins. */
    const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
    const char *vals[] = {"10", url, "ltvd", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL) {
        snprintf(err, STORE_ERR_MAX, "connect: out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, STORE_ERR_MAX, "connect: %s", PQerrorMessage(conn));
        goto failed;
    }
    PQsetNoticeProcessor(conn, quiet, NULL);
    PGresult *res = PQexec(conn, "SET TimeZone = 'UTC'");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, STORE_ERR_MAX, "connect: SET TimeZone: %s", PQerrorMessage(conn));
        PQclear(res);
        goto failed;
    }
    PQclear(res);
    return conn;
failed:
    /* libpq messages end in a newline; ours do not. */
    err[strcspn(err, "\n")] = '\0';
    PQfinish(conn);
    return NULL;
}

store_db *store_db_open(const char *url, char err[STORE_ERR_MAX])
{
    store_db *db = calloc(1, sizeof *db);
    if (db == NULL || (db->url = strdup(url)) == NULL) {
        snprintf(err, STORE_ERR_MAX, "out of memory");
        free(db);
        return NULL;
    }
    db->conn = connect_url(url, err);
    if (db->conn == NULL) {
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
    if (db->conn != NULL)
        PQfinish(db->conn);
    free(db->url);
    free(db);
}

const char *store_db_error(const store_db *db)
{
    return db->err;
}

int store_db_reconnect(store_db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->n_prepared = 0;
    db->stage_ready = false;
    db->generation++;
    db->conn = connect_url(db->url, db->err);
    return db->conn != NULL ? 0 : -1;
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
    if (db->conn == NULL)
        return store_db_fail(db, NULL, sql);
    PGresult *res = PQexec(db->conn, sql);
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
    if (db->conn == NULL) {
        store_db_fail(db, NULL, name);
        return NULL;
    }
    if (!is_prepared(db, name)) {
        if (db->n_prepared == STORE_MAX_PREPARED) {
            snprintf(db->err, sizeof db->err, "%s: too many prepared statements", name);
            return NULL;
        }
        PGresult *res = PQprepare(db->conn, name, sql, n_params, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            store_db_fail(db, res, name);
            PQclear(res);
            return NULL;
        }
        PQclear(res);
        db->prepared[db->n_prepared++] = name;
    }
    PGresult *res = PQexecPrepared(db->conn, name, n_params, values, NULL, NULL, 0);
    if (res == NULL)
        store_db_fail(db, NULL, name);
    return res;
}

bool store_db_retryable(const store_db *db)
{
    return strcmp(db->sqlstate, "40001") == 0 || strcmp(db->sqlstate, "40P01") == 0;
}

/* ---- transactions -------------------------------------------------------- */

/* Sleeps a little longer at each attempt, with jitter, so that two
 * transactions that collided do not collide again in lock step. */
static void backoff(int attempt)
{
    long ms = (1L << (attempt < 6 ? attempt : 6)) + rand() % 5;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Rolls back after a failure; a broken connection has nothing to roll back. */
static void rollback(store_db *db)
{
    if (store_db_broken(db))
        return;
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    PQclear(res);
}

/* What to do after an attempt failed before COMMIT: true to try again. */
static bool recover(store_db *db)
{
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
        if (commit_gate != NULL)
            pthread_rwlock_rdlock(commit_gate);
        PGresult *res = PQexec(db->conn, "COMMIT");
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_COMMAND_OK) {
            PQclear(res);
            return 0; /* the gate stays held: the caller's to release */
        }
        if (commit_gate != NULL)
            pthread_rwlock_unlock(commit_gate);
        store_db_fail(db, res, "COMMIT");
        PQclear(res);
        if (store_db_broken(db)) {
            /* The server may or may not have committed: not ours to guess. */
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

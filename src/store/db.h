/* One PostgreSQL connection (libpq) with what every store_ module needs:
 * connect from a DATABASE_URL, ping, reconnect after a broken connection,
 * statements prepared lazily (and again after a reconnect), and a
 * transaction helper that retries serialization failures and deadlocks.
 * A store_db is used by one thread at a time. Errors are returned as -1 with
 * a message readable through store_db_error().
 *
 * Bounded waits (docs/reliability.md): a connection opened with limits
 * (store_db_open_limited) sets statement_timeout, lock_timeout and
 * idle_in_transaction_session_timeout in its session and TCP keepalives and
 * tcp_user_timeout on its socket, and every wait for the server (connect,
 * send, result) is bounded on the client side too, by limits.wait_ms and by
 * a deadline the caller may set (store_db_set_deadline): a server that hangs
 * (SIGSTOP, a frozen VM) enforces none of its own timeouts and its kernel
 * still acknowledges keepalives. A wait that runs out drops the connection
 * (the server rolls back whatever was open when it notices) and fails with
 * store_db_timed_out() true; the next use reconnects. All statements go
 * through the functions below (never PQexec on db->conn) so none escapes
 * the bound. */
#ifndef LTVD_STORE_DB_H
#define LTVD_STORE_DB_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

/* The tenant the unprefixed /v1 paths address, and every row of a
 * database from before tenants (migration 009). */
#define STORE_TENANT_DEFAULT "default"
/* Longest tenant id ([a-z0-9][a-z0-9_-]{0,62}). */
#define STORE_TENANT_MAX 63

#define STORE_ERR_MAX 512
#define STORE_MAX_PREPARED 48

/* The bounds of a connection's waits; zero fields mean "none" (the server's
 * defaults, waits without end). store_db_limits_none() gives all zero but
 * connect_timeout_s 10. */
typedef struct store_db_limits {
    long connect_timeout_s;     /* connecting, client side */
    long statement_timeout_ms;  /* SET statement_timeout */
    long lock_timeout_ms;       /* SET lock_timeout */
    long idle_in_tx_timeout_ms; /* SET idle_in_transaction_session_timeout */
    long keepalives_idle_s;     /* TCP keepalives (libpq keepalives_*) */
    long keepalives_interval_s;
    long keepalives_count;
    long tcp_user_timeout_ms; /* libpq tcp_user_timeout */
    long wait_ms;             /* client side: longest wait for one answer */
} store_db_limits;

typedef struct store_db {
    PGconn *conn;
    store_db_limits lim;   /* as opened */
    long long deadline_ms; /* CLOCK_MONOTONIC ms after which no wait goes on; 0 none */
    bool timed_out;        /* the last failure was a wait that ran out */
    char *url;             /* owned copy of the DATABASE_URL */
    const char *prepared[STORE_MAX_PREPARED]; /* statement names (static strings)
                                                 prepared on this connection */
    int n_prepared;
    bool stage_ready;    /* ingest.c's temp staging table exists in this session */
    unsigned generation; /* incremented by every (re)connect */
    char sqlstate[6];    /* SQLSTATE of the last failure ("" if none or unknown) */
    char err[STORE_ERR_MAX];
} store_db;

/* What a transaction body returns to store_db_transaction. */
typedef enum store_tx_status {
    STORE_TX_OK = 0, /* commit */
    STORE_TX_ERROR,  /* roll back and fail; the body has set db->err */
    STORE_TX_RETRY,  /* roll back and run again (the body saw a retryable error) */
    STORE_TX_AGAIN,  /* roll back and run again at once: the body chose another way
                        (it must not answer AGAIN forever) */
} store_tx_status;

typedef store_tx_status (*store_tx_fn)(store_db *db, void *arg);

/* Connects to url (anything PQconnectdb accepts: postgresql://... or
 * key=value). The session runs in UTC. Returns a new handle (free with
 * store_db_close), or NULL with a message in err when out of memory or the
 * server cannot be reached. */
store_db *store_db_open(const char *url, char err[STORE_ERR_MAX]);
void store_db_close(store_db *db);

/* store_db_open with the bounds of lim (copied; NULL: none, as
 * store_db_open). */
store_db *store_db_open_limited(const char *url, const store_db_limits *lim,
                                char err[STORE_ERR_MAX]);

/* From now on, no wait for the server goes past ms milliseconds from now
 * (ms <= 0: no deadline); also clears the timed-out mark. A connection is
 * handed from one piece of work to the next with its deadline cleared. */
void store_db_set_deadline(store_db *db, long ms);

/* True when the last failure was a bound running out: a client-side wait
 * (the connection was dropped), or the server's statement_timeout or
 * lock_timeout (SQLSTATE 57014, 55P03). */
bool store_db_timed_out(const store_db *db);

/* Runs sql with n_params text parameters (n_params 0 and values NULL:
 * several statements may be given, as with PQexec) within the bounds.
 * Returns the result (the first failed one, else the last; the caller
 * PQclear's it), or NULL with db->err set when the connection failed or a
 * wait ran out. A COPY FROM STDIN answers PGRES_COPY_IN: follow with
 * store_db_copy_data. */
PGresult *store_db_query(store_db *db, const char *sql, int n_params,
                         const char *const *values);

/* Sends data[0..len) and the end of the COPY that store_db_query started,
 * and waits for its result. Returns 0, or -1 with db->err set. */
int store_db_copy_data(store_db *db, const char *data, size_t len, const char *what);

/* The last error message (never NULL; "" when none). */
const char *store_db_error(const store_db *db);

/* Returns 0 when the server answers a query. A broken connection is
 * re-established once before giving up (-1). */
int store_db_ping(store_db *db);

/* Drops and re-opens the connection (prepared statements and session state
 * are forgotten). Returns 0 or -1. */
int store_db_reconnect(store_db *db);

/* The SQLSTATEs the store acts on (PostgreSQL, Appendix A). */
#define PG_FOREIGN_KEY_VIOLATION "23503"
#define PG_UNIQUE_VIOLATION "23505"
#define PG_SERIALIZATION_FAILURE "40001"
#define PG_DEADLOCK_DETECTED "40P01"
#define PG_LOCK_NOT_AVAILABLE "55P03"
#define PG_QUERY_CANCELED "57014"

/* Sets db->err (and db->sqlstate) from res, or from the connection when res
 * is NULL, prefixed by what failed. Returns -1, for `return store_db_fail(...)`. */
int store_db_fail(store_db *db, const PGresult *res, const char *what);

/* Runs sql (no parameters) expecting `expect` (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK). Returns 0, or -1 with db->err set. */
int store_db_exec(store_db *db, const char *sql, ExecStatusType expect);

/* Executes the statement `name` (a string with static lifetime), preparing
 * it with sql first when this connection has not yet. Parameters are text.
 * Returns the result (caller PQclear's it) or NULL (out of memory or a
 * broken connection; db->err set). Check its status like PQexecPrepared's. */
PGresult *store_db_exec_prepared(store_db *db, const char *name, const char *sql,
                                 int n_params, const char *const *values);

/* True when the last failure recorded by store_db_fail was a serialization
 * failure (40001) or a deadlock (40P01): the transaction can be run again. */
bool store_db_retryable(const store_db *db);

/* True when the connection is gone (server restart, terminated backend). */
bool store_db_broken(const store_db *db);

/* Runs fn inside BEGIN ... COMMIT (isolation READ COMMITTED unless
 * serializable is true), up to a few attempts: it is run again after
 * serialization failures and deadlocks (in fn, as recorded by store_db_fail,
 * or at COMMIT) and after a
 * connection that broke before COMMIT was sent (reconnecting first). fn must
 * therefore be safe to re-run and keep no state across attempts. A connection
 * that breaks during COMMIT leaves the outcome unknown: that is an error, not
 * retried. Returns 0 once committed, -1 otherwise (db->err set). */
int store_db_transaction(store_db *db, bool serializable, store_tx_fn fn, void *arg);

/* Begins a read-only REPEATABLE READ transaction and takes its snapshot
 * at once, so what the following statements see is fixed when this
 * returns 0 (-1: db->err set). It never reconnects (a broken connection is
 * an error at once: callers holding a lock reconnect before taking it).
 * store_db_end_read commits it. */
int store_db_begin_read(store_db *db);
int store_db_end_read(store_db *db);

/* store_db_transaction, with commit_gate (when not NULL) taken for reading
 * just before each COMMIT is sent. On success (0) the gate is still held and
 * the caller releases it once it has acted on the commit; on failure (-1) it
 * has been released. Lets a caller make "committed and applied elsewhere" one
 * step for whoever takes the gate for writing (the cache catch-up, app/). */
int store_db_transaction_gated(store_db *db, bool serializable, store_tx_fn fn, void *arg,
                               pthread_rwlock_t *commit_gate);

#endif

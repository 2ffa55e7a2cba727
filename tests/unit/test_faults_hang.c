/* suite_faults_hang: a PostgreSQL that hangs instead of refusing, and a row
 * lock held by another session, against the real `ltvd serve`
 * (docs/reliability.md).
 *
 * frozen: a cluster of the test's own (testfaults.h) whose postmaster and
 * every backend are stopped with SIGSTOP under load (two clients posting
 * batches, one sending unknown API keys, /readyz and as_of reads). While it
 * is frozen: /healthz, reads from the cache and requests with unknown key
 * ids (401) answer within 2 s each, /readyz turns 503 within 5 s, a POST and
 * an as_of read that needs PostgreSQL answer 503 with Retry-After within
 * the configured bound (db_request_timeout_ms 2 s; checked as < 5 s). After
 * SIGCONT the same process takes batches again and is ready within 10 s,
 * every acknowledged batch is stored whole, and the cache equals the tables.
 *
 * row_lock: another session holds FOR UPDATE the customer_days rows a batch
 * needs; the POST answers 503 with Retry-After after lock_timeout (1.5 s;
 * checked as < 5 s) while /healthz and cached reads answer, and another
 * batch, finding the only request slot taken (db_request_threads 1), is
 * answered 503 at once; once the lock is gone the first batch is stored.
 *
 * Times are bounds that catch hangs, not measurements. */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_store.h"
#include "auth/auth_token.h"
#include "testfaults.h"

#define H_ITEMS 20
#define H_CUSTOMERS 30
#define H_PRELOAD 10
#define H_MAX_BATCHES 4000
#define H_POSTERS 2
#define H_FROZEN_MS 6000 /* how long the cluster stays frozen */

/* Bounds of the checks, in seconds (generous: they catch hangs). */
#define FAST_S 2.0  /* /healthz, cached reads, 401 */
#define BOUND_S 5.0 /* a request that waits on PostgreSQL (configured: 2 s) */

typedef struct hang_run {
    int port;
    char token[AUTH_TOKEN_LEN + 1]; /* a valid key with every scope */
    atomic_bool stop, frozen;
    bool acked[H_MAX_BATCHES];
    atomic_long next_batch, n_acked, n_503, n_401;
    atomic_long slowest_ms; /* of the requests that never wait on PostgreSQL */
    pthread_mutex_t mu;
    char violation[512];
} hang_run;

static hang_run run;

static void violation(const char *what, int status, const char *detail)
{
    pthread_mutex_lock(&run.mu);
    if (run.violation[0] == '\0')
        snprintf(run.violation, sizeof run.violation, "%s: %d: %.300s", what, status,
                 detail);
    pthread_mutex_unlock(&run.mu);
}

/* ---- requests ---------------------------------------------------------------------- */

/* One request with the run's key (token NULL: none; "unknown": a fresh key
 * id nobody stored); returns the status, the seconds it took in *took. */
static int call(const char *method, const char *target, const char *token,
                const char *body, testserve_reply *r, double *took)
{
    char unknown[AUTH_TOKEN_LEN + 1], id[AUTH_KEY_ID_LEN + 1];
    if (token != NULL && strcmp(token, "unknown") == 0) {
        if (auth_token_new(unknown, id) != 0)
            return -1;
        token = unknown;
    }
    double t0 = testserve_now();
    int st = testserve_http_auth(run.port, method, target, token, body, 30, r);
    *took = testserve_now() - t0;
    return st;
}

/* A 503 database-unavailable problem with Retry-After. */
static bool is_unavailable(const testserve_reply *r)
{
    char retry[32];
    return r->status == 503 &&
           testserve_reply_header(r, "Retry-After", retry, sizeof retry) &&
           atoi(retry) > 0 &&
           strstr(r->body, "\"type\":\"urn:ltvd:problem:database-unavailable\"") != NULL;
}

/* A request that must never wait on PostgreSQL: want within FAST_S. */
static void fast(const char *target, const char *token, int want)
{
    testserve_reply r;
    double took = 0;
    int st = call("GET", target, token, NULL, &r, &took);
    long ms = (long)(took * 1000);
    long prev = atomic_load(&run.slowest_ms);
    while (ms > prev && !atomic_compare_exchange_weak(&run.slowest_ms, &prev, ms))
        ;
    if (st != want)
        violation(target, st, r.body);
    else if (took > FAST_S)
        violation("too slow (ms)", (int)ms, target);
    testserve_reply_free(&r);
}

/* Posts batch b once; true when acknowledged. A 503 must say when to
 * retry, and come within BOUND_S. */
static bool post(long b, double *took)
{
    char *body = faults_batch_json(b, H_ITEMS, H_CUSTOMERS);
    testserve_reply r;
    int st = call("POST", "/v1/transactions", run.token, body, &r, took);
    free(body);
    bool ok = st == 200;
    if (ok) {
        run.acked[b] = true;
        atomic_fetch_add(&run.n_acked, 1);
    } else if (!is_unavailable(&r)) {
        violation("POST", st, st == 503 ? r.head : r.body);
    } else {
        atomic_fetch_add(&run.n_503, 1);
        if (*took > BOUND_S)
            violation("a POST answered 503 too late (ms)", (int)(*took * 1000), r.body);
    }
    testserve_reply_free(&r);
    return ok;
}

/* The value of the sample `series` (name and labels) in GET /metrics; -1
 * when absent. */
static long long metric(const char *series)
{
    testserve_reply r;
    double took;
    long long v = -1;
    if (call("GET", "/metrics", NULL, NULL, &r, &took) == 200) {
        char needle[160];
        snprintf(needle, sizeof needle, "\n%s ", series);
        const char *at = strstr(r.body, needle);
        if (at != NULL)
            v = strtoll(at + strlen(needle), NULL, 10);
    }
    testserve_reply_free(&r);
    return v;
}

/* ---- the load ---------------------------------------------------------------------- */

static void *poster_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&run.stop)) {
        long b = atomic_fetch_add(&run.next_batch, 1);
        if (b >= H_MAX_BATCHES - 1)
            break;
        double took;
        if (!post(b, &took))
            testserve_sleep_ms(100);
    }
    return NULL;
}

/* Unknown keys (5 in a row, as in the issue), /readyz, cached reads. */
static void *prober_main(void *arg)
{
    (void)arg;
    for (long i = 0; !atomic_load(&run.stop); i++) {
        for (int k = 0; k < 5; k++)
            fast("/v1/model", "unknown", 401);
        atomic_fetch_add(&run.n_401, 5);
        for (int k = 0; k < 6; k++) {
            testserve_reply r;
            double took;
            int st = call("GET", "/readyz", NULL, NULL, &r, &took);
            if ((st != 200 && st != 503) || took > FAST_S)
                violation("/readyz", st, r.body);
            testserve_reply_free(&r);
        }
        char target[64];
        snprintf(target, sizeof target, "/v1/customers/c%ld", i % H_CUSTOMERS);
        fast(target, run.token, 200);
        fast("/healthz", NULL, 200);
        testserve_sleep_ms(20);
    }
    return NULL;
}

/* ---- the server ----------------------------------------------------------------------
 */

/* Stores a key with every scope in the database at url; its token into
 * run.token. */
static void make_key(const char *url)
{
    char id[AUTH_KEY_ID_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_token_new(run.token, id), 0);
    ck_assert_int_eq(auth_token_hash(run.token, strlen(run.token), hash), 0);
    store_db *db = faults_db_open(url);
    ck_assert_msg(auth_store_create(db, id, "hang test", hash, AUTH_SCOPE_ALL, "*") == 0,
                  "%s", store_db_error(db));
    store_db_close(db);
}

static void server_start(testserve *s, const char *url)
{
    static const char *const env[] = {
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_THREAD_POOL_SIZE=4",
        "LTVD_DB_REQUEST_THREADS=2", /* two threads stay free whatever happens */
        "LTVD_AS_OF=" FAULTS_AS_OF,
        "LTVD_PERIOD=week",
        "LTVD_MODEL=bgnbd",
        "LTVD_REFIT_INTERVAL_S=604800",
        "LTVD_REFIT_AFTER_TXNS=1000000000",
        "LTVD_SHUTDOWN_DEADLINE_S=3",
        "LTVD_CACHE_SYNC_MS=200",
        "LTVD_AUTH_REQUIRED=true",
        "LTVD_DB_STATEMENT_TIMEOUT_MS=1000",
        "LTVD_DB_LOCK_TIMEOUT_MS=500",
        "LTVD_DB_REQUEST_TIMEOUT_MS=2000",
        "LTVD_DB_CONNECT_TIMEOUT_S=1",
        "LTVD_READINESS_INTERVAL_MS=200",
        NULL,
    };
    testserve_start(s, url, env);
    run.port = s->port;
}

/* Polls /readyz (every 50 ms, up to ms) until it answers want. */
static bool wait_readyz(int want, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        testserve_reply r;
        double took;
        int st = call("GET", "/readyz", NULL, NULL, &r, &took);
        testserve_reply_free(&r);
        if (st == want)
            return true;
        testserve_sleep_ms(50);
    }
    return false;
}

/* Every stored customer's frequency on the server equals its customers
 * row, within 5 s (the catch-up brings in batches whose COMMIT got no
 * answer in time). */
static void check_cache(store_db *db)
{
    char last[512] = "";
    for (int attempt = 0; attempt < 50; attempt++) {
        PGresult *res = PQexec(db->conn, "SELECT customer_id, n_days FROM customers");
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        bool all = true;
        for (int i = 0; i < PQntuples(res) && all; i++) {
            char target[64], want[48];
            snprintf(target, sizeof target, "/v1/customers/%s", PQgetvalue(res, i, 0));
            snprintf(want, sizeof want, "\"frequency\":%ld",
                     strtol(PQgetvalue(res, i, 1), NULL, 10) - 1);
            testserve_reply r;
            double took;
            int st = call("GET", target, run.token, NULL, &r, &took);
            all = st == 200 && strstr(r.body, want) != NULL;
            if (!all)
                snprintf(last, sizeof last, "%s: %d, want %s: %.150s", target, st, want,
                         r.body);
            testserve_reply_free(&r);
        }
        PQclear(res);
        if (all)
            return;
        testserve_sleep_ms(100);
    }
    ck_abort_msg("the cache differs from PostgreSQL: %s", last);
}

/* ---- frozen --------------------------------------------------------------------------
 */

static char url[2048];

static void frozen_setup(void)
{
    faults_cluster_start(url, sizeof url);
    faults_db_prepare(url);
}

static void frozen_teardown(void)
{
    faults_cluster_drop();
}

/* GET /v1/customers/{id}?as_of=<its first purchase day>: a customer with
 * later purchases, so the summary must come from PostgreSQL. */
static void as_of_target(store_db *db, char *out, size_t cap)
{
    PGresult *res = PQexec(db->conn, "SELECT customer_id, first_day::text FROM customers"
                                     " WHERE n_days > 1 ORDER BY customer_id LIMIT 1");
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s",
                  PQerrorMessage(db->conn));
    snprintf(out, cap, "/v1/customers/%s?as_of=%s", PQgetvalue(res, 0, 0),
             PQgetvalue(res, 0, 1));
    PQclear(res);
}

static void signal_all(const pid_t *pids, size_t n, int sig)
{
    for (size_t i = 0; i < n; i++)
        kill(pids[i], sig);
}

/* While frozen, from the test itself: each promise once. */
static void check_frozen(const char *as_of, double t_frozen)
{
    fast("/healthz", NULL, 200);
    fast("/v1/customers/c1", run.token, 200);
    fast("/v1/model", "unknown", 401);
    ck_assert_msg(wait_readyz(503, 5000), "/readyz still ready 5 s into the freeze");
    double to_not_ready = testserve_now() - t_frozen;
    testserve_reply r;
    double took;
    char *body = faults_batch_json(H_MAX_BATCHES - 1, H_ITEMS, H_CUSTOMERS);
    int st = call("POST", "/v1/transactions", run.token, body, &r, &took);
    free(body);
    ck_assert_msg(is_unavailable(&r), "POST while frozen: %d %s\n%s", st, r.head, r.body);
    ck_assert_msg(took <= BOUND_S, "POST while frozen took %.1f s", took);
    testserve_reply_free(&r);
    st = call("GET", as_of, run.token, NULL, &r, &took);
    ck_assert_msg(is_unavailable(&r), "GET %s while frozen: %d %s", as_of, st, r.body);
    ck_assert_msg(took <= BOUND_S, "as_of read while frozen took %.1f s", took);
    testserve_reply_free(&r);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(stderr, "faults_hang frozen: /readyz not ready %.2f s into the freeze\n",
                to_not_ready);
}

START_TEST(test_faults_hang_frozen)
{
    memset(&run, 0, sizeof run);
    pthread_mutex_init(&run.mu, NULL);
    make_key(url);
    testserve srv;
    server_start(&srv, url);
    pid_t pid = srv.pid;
    for (long b = 0; b < H_PRELOAD; b++) {
        double took;
        ck_assert_msg(post(b, &took), "preload batch %ld: %s", b, run.violation);
    }
    atomic_store(&run.next_batch, H_PRELOAD);
    store_db *db = faults_db_open(url);
    char as_of[128];
    as_of_target(db, as_of, sizeof as_of);
    store_db_close(db);
    ck_assert_msg(wait_readyz(200, 5000), "not ready before the freeze");

    pthread_t th[H_POSTERS + 1];
    for (int k = 0; k <= H_POSTERS; k++)
        ck_assert_int_eq(
            pthread_create(&th[k], NULL, k < H_POSTERS ? poster_main : prober_main, NULL),
            0);
    testserve_sleep_ms(300);

    pid_t pids[256];
    size_t n = faults_cluster_pids(pids, 256);
    signal_all(pids, n, SIGSTOP);
    double t_frozen = testserve_now();
    atomic_store(&run.frozen, true);
    check_frozen(as_of, t_frozen);
    long left = H_FROZEN_MS - (long)((testserve_now() - t_frozen) * 1000);
    if (left > 0)
        testserve_sleep_ms(left);
    long n_503 = atomic_load(&run.n_503);
    signal_all(pids, n, SIGCONT);
    atomic_store(&run.frozen, false);
    double t_back = testserve_now();

    /* back: a batch of the test's own stored, ready again, within 10 s */
    bool stored = false;
    for (int i = 0; i < 100 && !stored; i++) {
        double took;
        stored = post(H_MAX_BATCHES - 1, &took);
        if (!stored)
            testserve_sleep_ms(100);
    }
    ck_assert_msg(stored, "no batch stored within 10 s of SIGCONT");
    ck_assert_msg(wait_readyz(200, 10000), "/readyz not ready within 10 s of SIGCONT");
    double recovered = testserve_now() - t_back;
    testserve_sleep_ms(300);
    atomic_store(&run.stop, true);
    for (int k = 0; k <= H_POSTERS; k++)
        pthread_join(th[k], NULL);
    ck_assert_msg(run.violation[0] == '\0', "%s", run.violation);
    ck_assert_msg(n_503 > 0, "the posters did not feel the freeze");
    long long timeouts = metric("ltvd_db_requests_refused_total{reason=\"timeout\"}");
    ck_assert_msg(timeouts > 0, "/metrics counts no timeout: %lld", timeouts);
    ck_assert_msg(srv.pid == pid && testserve_wait_exit(&srv, 0) < 0,
                  "ltvd serve restarted");

    db = faults_db_open(url);
    faults_check_batches(db, run.acked, H_MAX_BATCHES, H_ITEMS, H_CUSTOMERS);
    faults_check_summaries(db);
    check_cache(db);
    store_db_close(db);
    ck_assert_int_eq(testserve_stop(&srv, 10000), 0);
    testserve_forget(&srv);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(
            stderr,
            "faults_hang frozen %d ms: %ld batches acknowledged, %ld answered 503, %ld "
            "unknown keys refused; slowest /healthz, cached read or 401: %ld ms; "
            "recovered %.2f s after SIGCONT\n",
            H_FROZEN_MS, atomic_load(&run.n_acked), atomic_load(&run.n_503),
            atomic_load(&run.n_401), atomic_load(&run.slowest_ms), recovered);
    pthread_mutex_destroy(&run.mu);
}
END_TEST

/* ---- row lock ------------------------------------------------------------------------
 */

#define LOCK_PRELOAD 20

static char lock_url[2048];

static void lock_setup(void)
{
    faults_db_create("ltvd_fh", lock_url, sizeof lock_url);
}

static void lock_teardown(void)
{
    faults_db_drop("ltvd_fh");
}

/* The (customer_id, day) pairs of batch b as SQL row values "('c1','1997-..'),...". */
static void batch_days_sql(long b, char *out, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < H_ITEMS; i++) {
        faults_item it;
        faults_item_make(b, i, H_CUSTOMERS, &it);
        len += (size_t)snprintf(out + len, cap - len, "%s('%s','%.10s'::date)",
                                i ? "," : "", it.customer_id, it.occurred_at);
    }
}

/* The first batch from `from` on that falls on a (customer, day) stored
 * already (the update of that customer_days row is what waits). */
static long batch_on_stored_day(store_db *db, long from, char *days, size_t cap)
{
    for (long b = from; b < from + 200; b++) {
        char sql[4300];
        batch_days_sql(b, days, cap);
        snprintf(
            sql, sizeof sql,
            "SELECT count(*) FROM customer_days WHERE (customer_id, day) IN (%.4000s)",
            days);
        if (faults_sql_int(db, sql) > 0)
            return b;
    }
    ck_abort_msg("no batch falls on a stored day");
    return -1;
}

typedef struct lock_post {
    long b;
    int status;
    double took;
    bool unavailable;
} lock_post;

static void *lock_post_main(void *arg)
{
    lock_post *p = arg;
    char *body = faults_batch_json(p->b, H_ITEMS, H_CUSTOMERS);
    testserve_reply r;
    p->status = call("POST", "/v1/transactions", NULL, body, &r, &p->took);
    p->unavailable = is_unavailable(&r);
    free(body);
    testserve_reply_free(&r);
    return NULL;
}

START_TEST(test_faults_hang_row_lock)
{
    memset(&run, 0, sizeof run);
    pthread_mutex_init(&run.mu, NULL);
    testserve srv;
    static const char *const env[] = {
        "LTVD_LISTEN=127.0.0.1:0",
        /* one HTTP thread: /healthz and the cached reads below answer only
         * because the waiting POSTs run on the offload threads, never on it
         * (a thread serves all its connections in turn) */
        "LTVD_THREAD_POOL_SIZE=1",
        "LTVD_OFFLOAD_THREADS=4",
        "LTVD_DB_REQUEST_THREADS=1", /* the locked batch holds the only slot */
        "LTVD_AS_OF=" FAULTS_AS_OF,
        "LTVD_PERIOD=week",
        "LTVD_MODEL=bgnbd",
        "LTVD_REFIT_INTERVAL_S=604800",
        "LTVD_REFIT_AFTER_TXNS=1000000000",
        "LTVD_SHUTDOWN_DEADLINE_S=3",
        "LTVD_CACHE_SYNC_MS=200",
        "LTVD_AUTH_REQUIRED=false",
        "LTVD_DB_LOCK_TIMEOUT_MS=1500",
        NULL,
    };
    testserve_start(&srv, lock_url, env);
    run.port = srv.port;
    static bool acked[LOCK_PRELOAD + 200];
    for (long b = 0; b < LOCK_PRELOAD; b++) {
        double took;
        testserve_reply r;
        char *body = faults_batch_json(b, H_ITEMS, H_CUSTOMERS);
        ck_assert_int_eq(call("POST", "/v1/transactions", NULL, body, &r, &took), 200);
        free(body);
        testserve_reply_free(&r);
        acked[b] = true;
    }
    store_db *locker = faults_db_open(lock_url);
    char days[4096], sql[4300];
    long b = batch_on_stored_day(locker, LOCK_PRELOAD, days, sizeof days);
    PQclear(PQexec(locker->conn, "BEGIN"));
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM (SELECT 1 FROM customer_days WHERE (customer_id, day) IN"
        " (%.4000s) FOR UPDATE) l",
        days);
    ck_assert_int_gt(faults_sql_int(locker, sql), 0);

    lock_post p = {.b = b};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, lock_post_main, &p), 0);
    testserve_sleep_ms(300);
    /* while the POST waits for the lock: health and reads answer, and
     * another batch finds no slot free (503 at once, nothing sent) */
    lock_post busy = {.b = b + 1};
    lock_post_main(&busy);
    for (int i = 0; i < 5; i++) {
        fast("/healthz", NULL, 200);
        fast("/v1/customers/c1", NULL, 200);
        testserve_sleep_ms(50);
    }
    pthread_join(th, NULL);
    ck_assert_msg(busy.status == 503 && busy.unavailable && busy.took <= FAST_S,
                  "a POST with no slot free: %d after %.1f s", busy.status, busy.took);
    ck_assert_int_eq(metric("ltvd_db_requests_refused_total{reason=\"busy\"}"), 1);
    ck_assert_msg(run.violation[0] == '\0', "%s", run.violation);
    ck_assert_msg(p.status == 503 && p.unavailable, "POST on a locked row: %d", p.status);
    ck_assert_msg(p.took <= BOUND_S, "POST on a locked row took %.1f s", p.took);

    ck_assert_int_eq(metric("ltvd_db_requests_refused_total{reason=\"timeout\"}"), 1);
    PQclear(PQexec(locker->conn, "ROLLBACK"));
    lock_post again = {.b = b};
    lock_post_main(&again);
    ck_assert_int_eq(again.status, 200);
    acked[b] = true;
    faults_check_batches(locker, acked, LOCK_PRELOAD + 200, H_ITEMS, H_CUSTOMERS);
    faults_check_summaries(locker);
    faults_check_cache(locker, srv.port, H_CUSTOMERS, NULL);
    store_db_close(locker);
    ck_assert_int_eq(testserve_stop(&srv, 10000), 0);
    testserve_forget(&srv);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(stderr, "faults_hang row lock: the POST answered 503 after %.2f s\n",
                p.took);
    pthread_mutex_destroy(&run.mu);
}
END_TEST

/* ---- future: a purchase dated after the service's day --------------------------------
 */

/* An RFC 3339 time `secs` from now, UTC. */
static void time_from_now(long secs, char *out, size_t cap)
{
    time_t t = time(NULL) + secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* 80 customers with 1 to 7 purchases each over the last year, and "cf",
 * whose last purchase is 12 hours from now (ingest allows a day of skew). */
static char *future_batch(void)
{
    size_t cap = 64 * 1024, len = 0;
    char *b = malloc(cap), when[40];
    ck_assert_ptr_nonnull(b);
    len += (size_t)snprintf(b + len, cap - len, "{\"transactions\":[");
    unsigned long seed = 12345;
    for (int c = 0; c < 80; c++)
        for (int k = 0, n = 1 + c % 7; k < n; k++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            long ago = 1 + (long)((seed >> 33) % (unsigned long)(30 + (c * 37) % 330));
            time_from_now(-86400L * ago, when, sizeof when);
            len += (size_t)snprintf(
                b + len, cap - len,
                "{\"id\":\"f%d-%d\",\"customer_id\":\"f%d\",\"occurred_at\":"
                "\"%s\",\"amount\":\"%d.50\"},",
                c, k, c, when, 10 + c % 30);
        }
    time_from_now(-86400L * 50, when, sizeof when);
    len +=
        (size_t)snprintf(b + len, cap - len,
                         "{\"id\":\"cf-0\",\"customer_id\":\"cf\",\"occurred_at\":\"%s\","
                         "\"amount\":\"20.00\"},",
                         when);
    time_from_now(12 * 3600L, when, sizeof when);
    snprintf(b + len, cap - len,
             "{\"id\":\"cf-1\",\"customer_id\":\"cf\",\"occurred_at\":\"%s\","
             "\"amount\":\"30.00\"}]}",
             when);
    return b;
}

/* A request that may not wait on PostgreSQL, with the database frozen:
 * answered within FAST_S, 200 or 503 no-model, never database-unavailable. */
static void future_fast(const char *target)
{
    testserve_reply r;
    double took = 0;
    int st = call("GET", target, NULL, NULL, &r, &took);
    ck_assert_msg(took <= FAST_S, "%s took %.2f s", target, took);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(stderr, "faults_hang future: %s: %d in %.1f ms: %.160s\n", target, st,
                took * 1000, r.body);
    ck_assert_msg(st == 200 || (st == 503 && strstr(r.body, "no-model") != NULL),
                  "%s: %d %s", target, st, r.body);
    testserve_reply_free(&r);
}

START_TEST(test_faults_hang_future)
{
    memset(&run, 0, sizeof run);
    pthread_mutex_init(&run.mu, NULL);
    static const char *const env[] = {
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_THREAD_POOL_SIZE=1", /* a wait here would hold every connection */
        "LTVD_OFFLOAD_THREADS=2",
        "LTVD_PERIOD=week",
        "LTVD_AUTH_REQUIRED=false",
        "LTVD_MODEL_MIN_CUSTOMERS=10",
        "LTVD_MODEL_MIN_REPEATERS=5",
        "LTVD_SHUTDOWN_DEADLINE_S=3",
        "LTVD_DB_REQUEST_TIMEOUT_MS=4000",
        NULL,
    };
    testserve srv;
    testserve_start(&srv, url, env);
    run.port = srv.port;
    char *body = future_batch();
    testserve_reply r;
    double took;
    ck_assert_int_eq(call("POST", "/v1/transactions", NULL, body, &r, &took), 200);
    testserve_reply_free(&r);
    free(body);
    for (int i = 0; i < 100; i++) { /* the first fit, when the data allow one */
        int st = call("GET", "/v1/model", NULL, NULL, &r, &took);
        testserve_reply_free(&r);
        if (st == 200)
            break;
        testserve_sleep_ms(100);
    }
    pid_t pids[256];
    size_t n = faults_cluster_pids(pids, 256);
    signal_all(pids, n, SIGSTOP);
    /* cf's purchases run past today: scored as of its last day, from memory */
    future_fast("/v1/customers/cf");
    future_fast("/v1/customers");
    future_fast("/v1/customers?sort=-predicted_ltv&limit=5");
    future_fast("/healthz");
    signal_all(pids, n, SIGCONT);
    ck_assert_int_eq(testserve_stop(&srv, 10000), 0);
    testserve_forget(&srv);
    pthread_mutex_destroy(&run.mu);
}
END_TEST

/* ---- start-up: SIGTERM while start-up waits on a frozen PostgreSQL ------------------
 */

START_TEST(test_faults_hang_startup_sigterm)
{
    static const char *const env[] = {
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_SHUTDOWN_DEADLINE_S=2",
        NULL,
    };
    pid_t pids[256];
    size_t n = faults_cluster_pids(pids, 256);
    signal_all(pids, n, SIGSTOP);
    testserve s;
    testserve_spawn(&s, url, env);
    testserve_sleep_ms(1000); /* connecting, or waiting on the frozen server */
    double t0 = testserve_now();
    ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
    int status = testserve_wait_exit(&s, 5000);
    double took = testserve_now() - t0;
    signal_all(pids, n, SIGCONT);
    static char log[8192];
    testserve_log(&s, log, sizeof log);
    ck_assert_msg(status == 0, "exit status %d after %.1f s: %s", status, took, log);
    ck_assert_msg(took <= 3.0, "exited after %.1f s (shutdown_deadline_s 2)", took);
    testserve_forget(&s);
}
END_TEST

Suite *suite_faults_hang(void)
{
    Suite *s = suite_create("faults_hang");
    TCase *tc = tcase_create("frozen");
    tcase_add_checked_fixture(tc, frozen_setup, frozen_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_faults_hang_frozen);
    suite_add_tcase(s, tc);
    tc = tcase_create("startup");
    tcase_add_checked_fixture(tc, frozen_setup, frozen_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_faults_hang_startup_sigterm);
    suite_add_tcase(s, tc);
    tc = tcase_create("future");
    tcase_add_checked_fixture(tc, frozen_setup, frozen_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_faults_hang_future);
    suite_add_tcase(s, tc);
    tc = tcase_create("row_lock");
    tcase_add_checked_fixture(tc, lock_setup, lock_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_faults_hang_row_lock);
    suite_add_tcase(s, tc);
    return s;
}

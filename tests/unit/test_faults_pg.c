/* suite_faults, PostgreSQL stopped under load: a cluster of the test's own
 * (scripts/pg_local.sh in a temporary directory, never the shared one of
 * scripts/with_pg.sh), the real `ltvd serve` on it, two clients posting
 * batches and one reading scores. The cluster is stopped (fast shutdown)
 * mid-load for about two seconds and started again on the same port. While
 * it is down: POST /v1/transactions answers 503 with Retry-After and an
 * application/problem+json database-unavailable body, never a 200 for a
 * batch that is not stored; GET /v1/customers[/{id}] keeps answering 200
 * from the cache with `Ltvd-Data-Stale: database unavailable since <time>`;
 * /readyz is 503. Once it is back, the same process (no restart) takes
 * batches again within 10 s, /readyz is 200 and the stale header is gone;
 * every acknowledged batch is stored whole and the cache equals the tables. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testfaults.h"

#define PG_ITEMS 20
#define PG_CUSTOMERS 30
#define PG_PRELOAD 10       /* batches 0..9 stored before the load */
#define PG_MAX_BATCHES 4000 /* batch numbers: room far above a run's */
#define PG_POSTERS 2

static char url[2048];

typedef struct pg_run {
    atomic_int phase; /* 0 up, 1 stopping or down, 2 started again */
    atomic_bool stop;
    int port;
    bool acked[PG_MAX_BATCHES];
    atomic_long next_batch;
    atomic_long n_acked, n_503, n_reads, n_stale, n_read_503;
    pthread_mutex_t mu;
    char violation[512];
} pg_run;

static pg_run run;

static void violation(const char *what, int status, const char *detail)
{
    pthread_mutex_lock(&run.mu);
    if (run.violation[0] == '\0')
        snprintf(run.violation, sizeof run.violation, "%s: %d: %.300s", what, status,
                 detail);
    pthread_mutex_unlock(&run.mu);
}

/* ---- the cluster ------------------------------------------------------------------ */

static void pg_setup(void)
{
    faults_cluster_start(url, sizeof url);
    faults_db_prepare(url);
}

static void pg_teardown(void)
{
    faults_cluster_drop();
}

/* ---- the clients --------------------------------------------------------------------
 */

/* A 503 of POST /v1/transactions must say when to retry and why, as a problem. */
static bool is_db_unavailable(const testserve_reply *r)
{
    char ct[128], retry[32];
    return r->status == 503 &&
           testserve_reply_header(r, "Retry-After", retry, sizeof retry) &&
           atoi(retry) > 0 && testserve_reply_header(r, "Content-Type", ct, sizeof ct) &&
           strcmp(ct, "application/problem+json") == 0 &&
           strstr(r->body, "\"type\":\"urn:ltvd:problem:database-unavailable\"") != NULL;
}

/* Posts batch b once; true when acknowledged. */
static bool post(long b)
{
    char *body = faults_batch_json(b, PG_ITEMS, PG_CUSTOMERS);
    testserve_reply r;
    int st = testserve_http(run.port, "POST", "/v1/transactions", body, 30, &r);
    free(body);
    bool ok = st == 200;
    if (ok) {
        run.acked[b] = true;
        atomic_fetch_add(&run.n_acked, 1);
    } else if (is_db_unavailable(&r)) {
        atomic_fetch_add(&run.n_503, 1);
        if (atomic_load(&run.phase) == 0)
            violation("a 503 with PostgreSQL up", st, r.body);
    } else {
        violation(st == 503 ? "a 503 without Retry-After or problem body" : "POST", st,
                  st == 503 ? r.head : r.body);
    }
    testserve_reply_free(&r);
    return ok;
}

static void *poster_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&run.stop)) {
        long b = atomic_fetch_add(&run.next_batch, 1);
        if (b >= PG_MAX_BATCHES - 1) /* the last is check_recovery's */
            break;
        if (!post(b))
            testserve_sleep_ms(50); /* as Retry-After would have it, only sooner */
    }
    return NULL;
}

/* One read: 200 whatever PostgreSQL does; stale while it is down. */
static void read_once(const char *target)
{
    testserve_reply r;
    int st = testserve_http(run.port, "GET", target, NULL, 30, &r);
    char stale[160];
    bool is_stale = testserve_reply_header(&r, "Ltvd-Data-Stale", stale, sizeof stale);
    int y, mo, d, h, mi, s;
    char z = 0;
    if (st != 200) {
        violation(target, st, r.body);
    } else if (is_stale &&
               (sscanf(stale, "database unavailable since %d-%d-%dT%d:%d:%d%c", &y, &mo,
                       &d, &h, &mi, &s, &z) != 7 ||
                z != 'Z')) {
        violation("a malformed Ltvd-Data-Stale", st, stale);
    } else if (is_stale && atomic_load(&run.phase) == 0) {
        violation("stale with PostgreSQL up", st, stale);
    }
    atomic_fetch_add(&run.n_reads, 1);
    if (is_stale)
        atomic_fetch_add(&run.n_stale, 1);
    testserve_reply_free(&r);
}

static void *reader_main(void *arg)
{
    (void)arg;
    for (long i = 0; !atomic_load(&run.stop); i++) {
        char target[64];
        if (i % 5 == 4)
            snprintf(target, sizeof target, "/v1/customers?limit=5&sort=-frequency");
        else
            snprintf(target, sizeof target, "/v1/customers/c%ld", i % PG_CUSTOMERS);
        read_once(target);
        testserve_sleep_ms(5);
    }
    return NULL;
}

/* ---- the test ------------------------------------------------------------------------
 */

static int status_of(const char *method, const char *target, const char *body,
                     testserve_reply *r)
{
    return testserve_http(run.port, method, target, body, 30, r);
}

/* Polls GET /readyz (every 50 ms, up to ms) until it answers want. */
static bool wait_readyz(int want, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        testserve_reply r;
        int st = status_of("GET", "/readyz", NULL, &r);
        testserve_reply_free(&r);
        if (st == want)
            return true;
        testserve_sleep_ms(50);
    }
    return false;
}

/* While PostgreSQL is down, from the test itself: each promise once. */
static void check_outage(void)
{
    ck_assert_msg(wait_readyz(503, 5000), "/readyz still ready with PostgreSQL stopped");
    testserve_reply r;
    char *body = faults_batch_json(PG_MAX_BATCHES, PG_ITEMS, PG_CUSTOMERS);
    int st = status_of("POST", "/v1/transactions", body, &r);
    free(body);
    ck_assert_msg(is_db_unavailable(&r), "POST while down: %d %s\n%s", st, r.head,
                  r.body);
    testserve_reply_free(&r);
    st = status_of("GET", "/v1/customers/c1", NULL, &r);
    char stale[160];
    ck_assert_msg(st == 200, "GET while down: %d %s", st, r.body);
    ck_assert_msg(testserve_reply_header(&r, "Ltvd-Data-Stale", stale, sizeof stale) &&
                      strncmp(stale, "database unavailable since ", 27) == 0,
                  "GET while down, no Ltvd-Data-Stale: %s", r.head);
    testserve_reply_free(&r);
}

/* Once PostgreSQL is back: a batch of the test's own stored, ready, fresh
 * reads, within 10 s. Returns the seconds it took. */
static double check_recovery(double t_back)
{
    long b = PG_MAX_BATCHES - 1;
    bool stored = false;
    for (int i = 0; i < 100 && !stored; i++) {
        testserve_reply r;
        char *body = faults_batch_json(b, PG_ITEMS, PG_CUSTOMERS);
        stored = status_of("POST", "/v1/transactions", body, &r) == 200;
        free(body);
        testserve_reply_free(&r);
        if (!stored)
            testserve_sleep_ms(100);
    }
    ck_assert_msg(stored, "no batch stored within 10 s of PostgreSQL's return");
    run.acked[b] = true;
    ck_assert_msg(wait_readyz(200, 10000), "/readyz not ready again within 10 s");
    double took = testserve_now() - t_back;
    testserve_reply r;
    int st = status_of("GET", "/v1/customers/c1", NULL, &r);
    char stale[160];
    ck_assert_int_eq(st, 200);
    ck_assert_msg(!testserve_reply_header(&r, "Ltvd-Data-Stale", stale, sizeof stale),
                  "still stale after the recovery: %s", stale);
    testserve_reply_free(&r);
    ck_assert_msg(took <= 10, "recovery took %.1f s", took);
    return took;
}

START_TEST(test_faults_pg_stopped_under_load)
{
    memset(&run, 0, sizeof run);
    pthread_mutex_init(&run.mu, NULL);
    testserve srv;
    faults_server_start(&srv, url, NULL);
    run.port = srv.port;
    pid_t pid = srv.pid;
    for (long b = 0; b < PG_PRELOAD; b++)
        ck_assert_msg(post(b), "preload batch %ld: %s", b, run.violation);
    atomic_store(&run.next_batch, PG_PRELOAD);
    pthread_t th[PG_POSTERS + 1];
    for (int k = 0; k < PG_POSTERS + 1; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL,
                                        k < PG_POSTERS ? poster_main : reader_main, NULL),
                         0);
    testserve_sleep_ms(500);

    atomic_store(&run.phase, 1);
    faults_cluster_ctl("stop");
    check_outage();
    testserve_sleep_ms(1500);
    long n_503 = atomic_load(&run.n_503), n_stale = atomic_load(&run.n_stale);
    faults_cluster_ctl("start");
    double t_back = testserve_now();
    atomic_store(&run.phase, 2);
    double took = check_recovery(t_back);
    testserve_sleep_ms(500);
    atomic_store(&run.stop, true);
    for (int k = 0; k < PG_POSTERS + 1; k++)
        pthread_join(th[k], NULL);
    ck_assert_msg(run.violation[0] == '\0', "%s", run.violation);
    ck_assert_msg(n_503 > 0 && n_stale > 0,
                  "the clients did not feel the outage: %ld 503s, %ld stale reads", n_503,
                  n_stale);
    ck_assert_msg(srv.pid == pid && testserve_wait_exit(&srv, 0) < 0,
                  "ltvd serve restarted");

    store_db *db = faults_db_open(url);
    faults_check_batches(db, run.acked, PG_MAX_BATCHES, PG_ITEMS, PG_CUSTOMERS);
    faults_check_summaries(db);
    faults_check_cache(db, srv.port, PG_CUSTOMERS, NULL);
    store_db_close(db);
    ck_assert_int_eq(testserve_stop(&srv, 10000), 0);
    testserve_forget(&srv);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(stderr,
                "faults PostgreSQL stop: %ld batches acknowledged, %ld answered 503, %ld "
                "reads "
                "(%ld stale); recovered %.2f s after the restart\n",
                atomic_load(&run.n_acked), atomic_load(&run.n_503),
                atomic_load(&run.n_reads), atomic_load(&run.n_stale), took);
    pthread_mutex_destroy(&run.mu);
}
END_TEST

TCase *faults_tcase_pg_stop(void)
{
    TCase *tc = tcase_create("pg_stop");
    tcase_add_checked_fixture(tc, pg_setup, pg_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_faults_pg_stopped_under_load);
    return tc;
}

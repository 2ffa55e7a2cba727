/* suite_faults, kill -9: four client threads post 50-item batches (each
 * item id unique, some batches sent again, a batch whose request failed
 * sent again or given up) to the real `ltvd serve` while the test SIGKILLs
 * it at random moments and starts it again, four times. Then: every
 * acknowledged batch is in PostgreSQL, each item once and as sent; no batch
 * is half written; customer_days and customers equal a recomputation from
 * transactions; the last server's cache (updated batch by batch after its
 * start) answers what customers says, byte for byte like a server started
 * afresh on the same database. A resent batch that had been acknowledged
 * must count no new item, and any batch counts 0 or all of its items new.
 * LTVD_TEST_SEED=<n> replays a run (its seed is in every failure message). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testfaults.h"

#define K_CLIENTS 4
#define K_ITEMS 50
#define K_CUSTOMERS 200
#define K_PER_CLIENT 20000 /* room for batch numbers, far above what a run makes */
#define K_KILLS 4

typedef struct kill_run {
    atomic_int port; /* 0 while the server is being restarted */
    atomic_bool stop;
    unsigned seed;
    bool acked[K_CLIENTS * K_PER_CLIENT]; /* written by the batch's client only */
    long made[K_CLIENTS];                 /* batches made by each client */
    atomic_long n_acked, n_resent, n_failed_requests;
    pthread_mutex_t mu;
    char violation[512]; /* the first thing a client saw go wrong */
} kill_run;

static kill_run run;

static void violation(const char *fmt, long b, int status, const char *body)
{
    pthread_mutex_lock(&run.mu);
    if (run.violation[0] == '\0') {
        int n = snprintf(run.violation, sizeof run.violation, fmt, b, status);
        snprintf(run.violation + n, sizeof run.violation - (size_t)n, ": %.300s", body);
    }
    pthread_mutex_unlock(&run.mu);
}

/* One POST of batch b; true when it was acknowledged. */
static bool post_batch(long b, const char *body)
{
    int port = atomic_load(&run.port);
    if (port == 0)
        return false;
    testserve_reply r;
    int st = testserve_http(port, "POST", "/v1/transactions", body, 30, &r);
    unsigned long received = 0, fresh = 0, dup = 0;
    bool ok = false;
    if (st < 0) {
        atomic_fetch_add(&run.n_failed_requests, 1);
    } else if (st != 200) {
        violation("batch %ld: status %d", b, st, r.body);
    } else if (sscanf(r.body, "{\"received\":%lu,\"new\":%lu,\"duplicates\":%lu}",
                      &received, &fresh, &dup) != 3 ||
               received != K_ITEMS || fresh + dup != K_ITEMS) {
        violation("batch %ld: %d with bad counts", b, st, r.body);
    } else if (fresh != 0 && fresh != K_ITEMS) {
        violation("batch %ld: %d, partly new (half written before?)", b, st, r.body);
    } else if (run.acked[b] && fresh != 0) {
        violation("batch %ld: %d, acknowledged before but new again", b, st, r.body);
    } else {
        run.acked[b] = true;
        atomic_fetch_add(&run.n_acked, 1);
        ok = true;
    }
    testserve_reply_free(&r);
    return ok;
}

/* Client c: batches c, c + K_CLIENTS, ...; one in five sends an earlier one
 * again; a batch whose request failed is sent again half of the time. */
static void *client_main(void *arg)
{
    int c = (int)(long)arg;
    unsigned rs = run.seed * 7919u + (unsigned)c;
    long pending = -1;
    while (!atomic_load(&run.stop)) {
        if (atomic_load(&run.port) == 0) {
            testserve_sleep_ms(5);
            continue;
        }
        long j;
        if (pending >= 0 && rand_r(&rs) % 2 == 0) {
            j = pending;
        } else if (run.made[c] > 0 && rand_r(&rs) % 5 == 0) {
            j = rand_r(&rs) % run.made[c];
            atomic_fetch_add(&run.n_resent, 1);
        } else if (run.made[c] < K_PER_CLIENT) {
            j = run.made[c]++;
        } else {
            break;
        }
        long b = (long)c + K_CLIENTS * j;
        char *body = faults_batch_json(b, K_ITEMS, K_CUSTOMERS);
        bool acked = post_batch(b, body);
        free(body);
        pending = acked ? -1 : j;
        if (!acked && pending >= 0)
            testserve_sleep_ms(2);
    }
    return NULL;
}

static char url[2048];

static void setup(void)
{
    faults_db_create("ltvd_fk", url, sizeof url);
}

static void teardown(void)
{
    faults_db_drop("ltvd_fk");
}

/* SIGKILLs srv at a random moment within [300, 1000) ms and starts it again. */
static void kill_and_restart(testserve *srv, unsigned *rs)
{
    testserve_sleep_ms(300 + rand_r(rs) % 700);
    testserve_kill(srv);
    ck_assert_int_eq(srv->status, 128 + 9);
    atomic_store(&run.port, 0);
    testserve_forget(srv);
    faults_server_start(srv, url, NULL);
    atomic_store(&run.port, srv->port);
}

/* Every customer's document from two servers, equal byte for byte. */
static void compare_caches(store_db *db, int port_a, int port_b)
{
    static char *a[K_CUSTOMERS], *b[K_CUSTOMERS];
    long n = faults_check_cache(db, port_a, K_CUSTOMERS, a);
    ck_assert_int_eq(faults_check_cache(db, port_b, K_CUSTOMERS, b), n);
    for (int k = 0; k < K_CUSTOMERS; k++) {
        ck_assert_msg(strcmp(a[k], b[k]) == 0,
                      "customer c%d: the running server says\n%s\na rebuild says\n%s", k,
                      a[k], b[k]);
        free(a[k]);
        free(b[k]);
    }
}

START_TEST(test_faults_kill9_under_ingest)
{
    memset(&run, 0, sizeof run);
    pthread_mutex_init(&run.mu, NULL);
    const char *seed = getenv("LTVD_TEST_SEED");
    run.seed = seed != NULL ? (unsigned)strtoul(seed, NULL, 10)
                            : (unsigned)time(NULL) ^ (unsigned)getpid();
    unsigned rs = run.seed;
    testserve srv, fresh;
    faults_server_start(&srv, url, NULL);
    atomic_store(&run.port, srv.port);
    pthread_t th[K_CLIENTS];
    for (long c = 0; c < K_CLIENTS; c++)
        ck_assert_int_eq(pthread_create(&th[c], NULL, client_main, (void *)c), 0);
    for (int k = 0; k < K_KILLS; k++)
        kill_and_restart(&srv, &rs);
    testserve_sleep_ms(500); /* the last server takes batches into its cache */
    atomic_store(&run.stop, true);
    for (int c = 0; c < K_CLIENTS; c++)
        pthread_join(th[c], NULL);
    ck_assert_msg(run.violation[0] == '\0', "seed %u: %s", run.seed, run.violation);

    long n_batches = 0;
    for (int c = 0; c < K_CLIENTS; c++)
        if ((long)c + K_CLIENTS * run.made[c] > n_batches)
            n_batches = (long)c + K_CLIENTS * run.made[c];
    store_db *db = faults_db_open(url);
    long stored = faults_check_batches(db, run.acked, n_batches, K_ITEMS, K_CUSTOMERS);
    ck_assert_int_ge(stored, atomic_load(&run.n_acked) > 0 ? 1 : 0);
    faults_check_summaries(db);
    faults_server_start(&fresh, url, NULL);
    compare_caches(db, srv.port, fresh.port);
    store_db_close(db);
    ck_assert_int_eq(testserve_stop(&fresh, 10000), 0);
    ck_assert_int_eq(testserve_stop(&srv, 10000), 0);
    testserve_forget(&fresh);
    testserve_forget(&srv);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(
            stderr,
            "faults kill -9 (seed %u): %ld batches made, %ld stored, %ld acknowledged "
            "responses, %ld resent, %ld requests cut by a kill or refused\n",
            run.seed, n_batches, stored, atomic_load(&run.n_acked),
            atomic_load(&run.n_resent), atomic_load(&run.n_failed_requests));
    pthread_mutex_destroy(&run.mu);
}
END_TEST

TCase *faults_tcase_kill(void)
{
    TCase *tc = tcase_create("kill9");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_faults_kill9_under_ingest);
    return tc;
}

/* The cache against PostgreSQL while the service's own batches and another
 * writer's (as `ltvd import` writes) land on the same customers at once:
 * the service adds its batches' deltas, the catch-up replaces what the
 * other writer changed (app.h has the protocol), and once both stop the
 * cache holds exactly every stored summary: no batch missed, none counted
 * twice; the same under a fixed as_of. In-process server, real
 * PostgreSQL, catch-up every 20 ms.
 * Without the window (deltas applied during a catch-up read, added to what
 * it read) this failed 2 runs of 3; without the gate it passed 3 of 3: the
 * span it closes, a batch between its COMMIT and its deltas, is a few
 * microseconds, too short to hit here. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "cache/cache.h"
#include "store/customers.h"
#include "store/ingest.h"
#include "summary/summary.h"
#include "testhttp.h"

#define SY_CUSTOMERS 40
#define SY_ITEMS 120
#define SY_BATCHES 25
#define SY_API_THREADS 3

static testhttp_app t;

/* as_of: NULL for now, or a fixed day (then later purchases are stored
 * but not in the cache). */
static void start(const char *as_of)
{
    testhttp_db_create(&t, "ltvd_sync");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "cache_sync_ms", "20", err));
    ck_assert(config_set(&t.cfg, "thread_pool_size", "4", err));
    if (as_of != NULL)
        ck_assert_msg(config_set(&t.cfg, "as_of", as_of, err), "%s", err);
    testhttp_app_start(&t, false);
    ck_assert(app_sync_begin(t.app));
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

/* Item i of batch b of writer w: a customer of the shared few, a day in
 * the first 60 days of 2025 (so days repeat, come before and after the
 * stored ones), an amount with cents. */
static void item(unsigned *seed, int w, int b, int i, char cust[16], char id[32],
                 char when[32], char amount[16])
{
    snprintf(cust, 16, "s-%d", (int)(rand_r(seed) % SY_CUSTOMERS));
    snprintf(id, 32, "w%d-b%d-i%d", w, b, i);
    int day = 1 + (int)(rand_r(seed) % 28), month = 1 + (int)(rand_r(seed) % 2);
    snprintf(when, 32, "2025-%02d-%02dT%02d:00:00Z", month, day,
             (int)(rand_r(seed) % 24));
    snprintf(amount, 16, "%d.%02d", (int)(rand_r(seed) % 90), (int)(rand_r(seed) % 100));
}

typedef struct writer {
    int w;
    int failures;
} writer;

/* POSTs 2 * SY_BATCHES batches, each sent twice (a retry adds nothing):
 * they go on after the other writer's last batch, so the summaries end in
 * deltas added to what the catch-up replaced. */
static void *api_writer(void *arg)
{
    writer *wr = arg;
    unsigned seed = 1000u + (unsigned)wr->w;
    size_t cap = SY_ITEMS * 160 + 64;
    char *body = malloc(cap);
    for (int b = 0; b < 2 * SY_BATCHES && body != NULL; b++) {
        size_t k = (size_t)snprintf(body, cap, "{\"transactions\":[");
        for (int i = 0; i < SY_ITEMS; i++) {
            char cust[16], id[32], when[32], amount[16];
            item(&seed, wr->w, b, i, cust, id, when, amount);
            k += (size_t)snprintf(
                body + k, cap - k,
                "%s{\"id\":\"%s\",\"customer_id\":\"%s\",\"occurred_at\":"
                "\"%s\",\"amount\":\"%s\"}",
                i ? "," : "", id, cust, when, amount);
        }
        snprintf(body + k, cap - k, "]}");
        for (int send = 0; send < 2; send++) {
            testhttp_response r;
            testhttp_request(t.port, "POST", "/v1/transactions", body, &r);
            wr->failures += r.status != 200;
            testhttp_response_free(&r);
        }
    }
    free(body);
    return NULL;
}

/* Stores SY_BATCHES batches on a connection of its own, as ltvd import. */
static void *other_writer(void *arg)
{
    writer *wr = arg;
    unsigned seed = 2000u + (unsigned)wr->w;
    store_db *db = testhttp_db_open(&t);
    static char text[SY_ITEMS][4][32];
    store_item items[SY_ITEMS];
    for (int b = 0; b < SY_BATCHES; b++) {
        for (int i = 0; i < SY_ITEMS; i++) {
            item(&seed, wr->w, b, i, text[i][0], text[i][1], text[i][2], text[i][3]);
            items[i] = (store_item){.txn_id = text[i][1],
                                    .customer_id = text[i][0],
                                    .occurred_at = text[i][2],
                                    .amount = text[i][3]};
        }
        store_batch_result r;
        wr->failures += store_insert_batch(db, items, SY_ITEMS, NULL, &r) != 0;
        store_batch_result_free(&r);
    }
    store_db_close(db);
    return NULL;
}

typedef struct compared {
    int differ;
    int seen;
    char first_diff[160];
} compared;

static int compare_one(const store_customer *c, void *arg)
{
    compared *cm = arg;
    cache_summary s;
    cm->seen++;
    int ok = cache_get(t.app->dflt->cache, c->customer_id, &s) == CACHE_OK &&
             s.first_day == c->first_day && s.last_day == c->last_day &&
             s.n_days == c->n_days && s.repeat_units == c->repeat_units &&
             s.first_units == c->first_units;
    if (!ok && cm->differ++ == 0)
        snprintf(cm->first_diff, sizeof cm->first_diff,
                 "%s: stored %lld..%lld n %lld repeat %lld, cached n %u repeat %lld",
                 c->customer_id, (long long)c->first_day, (long long)c->last_day,
                 (long long)c->n_days, (long long)c->repeat_units, s.n_days,
                 (long long)s.repeat_units);
    return 0;
}

/* Both kinds of writers at once; then the cache must equal every summary
 * stored as of as_of_day (STORE_AS_OF_NOW: all), n_customers of them. */
static void run_and_compare(int64_t as_of_day, int n_customers)
{
    pthread_t th[SY_API_THREADS + 1];
    writer w[SY_API_THREADS + 1];
    for (int i = 0; i <= SY_API_THREADS; i++) {
        w[i] = (writer){.w = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL,
                                        i < SY_API_THREADS ? api_writer : other_writer,
                                        &w[i]),
                         0);
    }
    for (int i = 0; i <= SY_API_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].failures == 0, "writer %d: %d failures", i, w[i].failures);
    }
    ck_assert_int_eq(testhttp_count_rows(&t, "transactions"),
                     (2 * SY_API_THREADS + 1) * SY_BATCHES * SY_ITEMS);
    /* the catch-up runs every 20 ms: give it 5 s to pass the last write */
    store_db *db = testhttp_db_open(&t);
    compared cm = {0};
    for (int tries = 0; tries < 100; tries++) {
        cm = (compared){0};
        ck_assert_int_eq(
            store_customers_stream(db, "default", as_of_day, compare_one, &cm), 0);
        if (cm.differ == 0)
            break;
        struct timespec ms50 = {0, 50000000};
        nanosleep(&ms50, NULL);
    }
    store_db_close(db);
    ck_assert_int_eq(cm.seen, n_customers);
    ck_assert_msg(cm.differ == 0, "%d customers differ, e.g. %s", cm.differ,
                  cm.first_diff);
}

START_TEST(test_sync_own_and_other_writers)
{
    start(NULL);
    run_and_compare(STORE_AS_OF_NOW, SY_CUSTOMERS);
    ck_assert_uint_eq(cache_count(t.app->dflt->cache), SY_CUSTOMERS);
}
END_TEST

/* The same under a fixed as_of in the middle of the purchases: the days
 * after it are stored, skipped by the deltas and by the replacements. */
START_TEST(test_sync_fixed_as_of)
{
    start("2025-01-20");
    int64_t day;
    ck_assert_int_eq(summary_parse_day("2025-01-20", &day), 0);
    run_and_compare(day, SY_CUSTOMERS);
}
END_TEST

Suite *suite_sync(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = tcase_create("sync");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sync_own_and_other_writers);
    tcase_add_test(tc, test_sync_fixed_as_of);
    suite_add_tcase(s, tc);
    return s;
}

/* Start-up from cache checkpoints (app/checkpoint.h, store/checkpoint.h):
 * a process that loads each tenant's checkpoint and catches up from its
 * horizon holds exactly what a full rebuild holds (every customer's
 * summary equal to store_customers_stream's), with rows stored after the
 * checkpoint by the service itself and by another writer, for two tenants
 * and under a fixed as_of; an erasure and a tenant's deletion after the
 * checkpoint stay done after a restart; a corrupt or partial checkpoint
 * falls back to the rebuild. In-process service, real PostgreSQL.
 *
 * Which way start-up went is told by a marker: a customer_days row stored
 * without a transactions row (as nothing in ltvd stores it) is seen by a
 * rebuild's aggregate but not by the catch-up, which finds changes
 * through transactions. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "app/apply.h"
#include "app/checkpoint.h"
#include "app/tenants.h"
#include "cache/cache.h"
#include "store/checkpoint.h"
#include "store/customers.h"
#include "store/ingest.h"
#include "store/tenants.h"
#include "summary/summary.h"
#include "testhttp.h"
#include "testserve.h"

#define CP_CUSTOMERS 30
#define CP_ITEMS 60
#define CP_MARKER "marker-1"

static testhttp_app t;

static void start(const char *as_of)
{
    testhttp_db_create(&t, "ltvd_checkpoint");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "cache_sync_ms", "0", err));
    if (as_of != NULL)
        ck_assert_msg(config_set(&t.cfg, "as_of", as_of, err), "%s", err);
    testhttp_app_start(&t, false); /* migrates */
    store_db *db = testhttp_db_open(&t);
    ck_assert_int_eq(store_tenant_create(db, "t2", "{}"), 0);
    store_db_close(db);
    testhttp_app_stop(&t);
    testhttp_app_start(&t, false);
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

static void restart(void)
{
    testhttp_app_stop(&t);
    testhttp_app_start(&t, false);
}

/* Item i of round r: a customer of the shared few (ids "k<n>"), a day in
 * the first 60 days of 2025, an amount with cents. */
static void item(unsigned *seed, const char *who, int r, int i, char cust[16],
                 char id[40], char when[32], char amount[16])
{
    snprintf(cust, 16, "k%d", (int)(rand_r(seed) % CP_CUSTOMERS));
    snprintf(id, 40, "%s-r%d-i%d", who, r, i);
    int day = 1 + (int)(rand_r(seed) % 28), month = 1 + (int)(rand_r(seed) % 2);
    snprintf(when, 32, "2025-%02d-%02dT%02d:00:00Z", month, day,
             (int)(rand_r(seed) % 24));
    snprintf(amount, 16, "%d.%02d", (int)(rand_r(seed) % 90), (int)(rand_r(seed) % 100));
}

/* One batch POSTed to the service for tenant (this process's writes). */
static void post(const char *tenant, int r)
{
    unsigned seed = 100u + (unsigned)r + (tenant[0] == 't' ? 7u : 0u);
    size_t cap = CP_ITEMS * 160 + 64, k;
    char *body = malloc(cap), path[96];
    ck_assert_ptr_nonnull(body);
    k = (size_t)snprintf(body, cap, "{\"transactions\":[");
    for (int i = 0; i < CP_ITEMS; i++) {
        char cust[16], id[40], when[32], amount[16];
        item(&seed, "api", r, i, cust, id, when, amount);
        /* a first touch now and then (the first stored wins, whoever wrote it) */
        char attrs[64] = "";
        if (i % 3 == 0)
            snprintf(attrs, sizeof attrs, ",\"acquisition_channel\":\"api%d\"",
                     (r + i) % 4);
        k += (size_t)snprintf(body + k, cap - k,
                              "%s{\"id\":\"%s\",\"customer_id\":\"%s\",\"occurred_at\":"
                              "\"%s\",\"amount\":\"%s\"%s}",
                              i ? "," : "", id, cust, when, amount, attrs);
    }
    snprintf(body + k, cap - k, "]}");
    snprintf(path, sizeof path, "/v1/tenants/%s/transactions", tenant);
    testhttp_response res;
    testhttp_request(t.port, "POST", path, body, &res);
    ck_assert_msg(res.status == 200, "POST %s: %d %s", path, res.status, res.body);
    testhttp_response_free(&res);
    free(body);
}

/* One batch stored on a connection of its own (another writer). */
static void store_other(const char *tenant, int r)
{
    unsigned seed = 900u + (unsigned)r + (tenant[0] == 't' ? 7u : 0u);
    static char text[CP_ITEMS][4][40];
    store_item items[CP_ITEMS];
    for (int i = 0; i < CP_ITEMS; i++) {
        item(&seed, "other", r, i, text[i][0], text[i][1], text[i][2], text[i][3]);
        items[i] = (store_item){.txn_id = text[i][1],
                                .customer_id = text[i][0],
                                .occurred_at = text[i][2],
                                .amount = text[i][3],
                                .channel = i % 4 == 1 ? "other" : NULL,
                                .campaign = i % 4 == 1 ? "c-other" : NULL};
    }
    store_db *db = testhttp_db_open(&t);
    store_batch_opts opts = {.tenant = tenant};
    store_batch_result res;
    ck_assert_msg(store_insert_batch(db, items, CP_ITEMS, &opts, &res) == 0, "%s",
                  store_db_error(db));
    store_batch_result_free(&res);
    store_db_close(db);
}

static void exec_sql(const char *sql)
{
    store_db *db = testhttp_db_open(&t);
    ck_assert_msg(store_db_exec(db, sql, PGRES_COMMAND_OK) == 0, "%s: %s", sql,
                  store_db_error(db));
    store_db_close(db);
}

/* The marker: a day of a customer of tenant with no transactions row. */
static void store_marker(const char *tenant)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO customer_days (tenant_id, customer_id, day, amount, "
             "n_transactions) VALUES ('%s', '" CP_MARKER "', '2025-01-05', 10, 1)",
             tenant);
    exec_sql(sql);
}

static bool cached(const char *tenant, const char *id)
{
    app_tenant *tt = app_tenant_find(t.app, tenant);
    ck_assert_ptr_nonnull(tt);
    cache_summary s;
    bool found = cache_get(tt->cache, id, &s) == CACHE_OK;
    app_tenant_release(tt);
    return found;
}

typedef struct compared {
    app_tenant *t;
    int differ, seen;
    char first_diff[400];
} compared;

static int compare_one(const store_customer *c, void *arg)
{
    compared *cm = arg;
    cache_summary s;
    cm->seen++;
    bool ok = cache_get(cm->t->cache, c->customer_id, &s) == CACHE_OK &&
              s.first_day == c->first_day && s.last_day == c->last_day &&
              s.n_days == c->n_days && s.repeat_units == c->repeat_units &&
              s.first_units == c->first_units && s.month_bits == c->month_bits;
    const char *ch = NULL, *ca = NULL;
    if (ok && cache_get_attrs(cm->t->cache, c->customer_id, &ch, &ca) == CACHE_OK)
        ok = (ch == NULL) == (c->channel == NULL) &&
             (ca == NULL) == (c->campaign == NULL) &&
             (ch == NULL || strcmp(ch, c->channel) == 0) &&
             (ca == NULL || strcmp(ca, c->campaign) == 0);
    if (!ok && cm->differ++ == 0)
        snprintf(cm->first_diff, sizeof cm->first_diff,
                 "%s: stored %lld..%lld n %lld repeat %lld months %llx %s, cached n %u "
                 "repeat %lld months %llx %s",
                 c->customer_id, (long long)c->first_day, (long long)c->last_day,
                 (long long)c->n_days, (long long)c->repeat_units,
                 (unsigned long long)c->month_bits, c->channel ? c->channel : "-",
                 s.n_days, (long long)s.repeat_units, (unsigned long long)s.month_bits,
                 ch ? ch : "-");
    return 0;
}

/* Every stored summary of tenant (as of as_of_day) equals the cached one,
 * and the cache holds no other customer (extra: customers the stream does
 * not see that the cache may hold, the marker). */
static void assert_equal(const char *tenant, int64_t as_of_day, int extra)
{
    compared cm = {.t = app_tenant_find(t.app, tenant)};
    ck_assert_ptr_nonnull(cm.t);
    store_db *db = testhttp_db_open(&t);
    ck_assert_int_eq(store_customers_stream(db, tenant, as_of_day, compare_one, &cm), 0);
    store_db_close(db);
    ck_assert_msg(cm.differ == 0, "%s: %d customers differ, e.g. %s", tenant, cm.differ,
                  cm.first_diff);
    ck_assert_int_gt(cm.seen, 0);
    ck_assert_uint_eq(app_tenant_customers(cm.t), (size_t)(cm.seen + extra));
    app_tenant_release(cm.t);
}

static long long count_sql(const char *table_where)
{
    return testhttp_count_rows(&t, table_where);
}

/* Rounds of writes to both tenants by both writers. */
static void write_rounds(int from, int to)
{
    for (int r = from; r < to; r++) {
        post("default", r);
        post("t2", r);
        store_other("default", r);
        store_other("t2", r);
    }
}

START_TEST(test_checkpoint_equals_rebuild)
{
    start(NULL);
    write_rounds(0, 3);
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    /* a second one right away is left to the interval */
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 3600), 0);
    ck_assert_int_eq(count_sql("cache_checkpoints"), 2);
    write_rounds(3, 6); /* after the checkpoint: caught up at start-up */
    store_marker("default");
    restart();
    ck_assert(!cached("default", CP_MARKER)); /* loaded from the checkpoint */
    exec_sql("DELETE FROM customer_days WHERE customer_id = '" CP_MARKER "'");
    assert_equal("default", STORE_AS_OF_NOW, 0);
    assert_equal("t2", STORE_AS_OF_NOW, 0);
    /* a new checkpoint replaces the old one */
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    ck_assert_int_eq(count_sql("cache_checkpoints"), 2);
}
END_TEST

/* A tenant without a checkpoint (created after it) is rebuilt beside the
 * one loaded. */
START_TEST(test_checkpoint_new_tenant_rebuilt)
{
    start(NULL);
    write_rounds(0, 2);
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    store_db *db = testhttp_db_open(&t);
    ck_assert_int_eq(store_tenant_create(db, "t3", "{}"), 0);
    store_db_close(db);
    store_other("t3", 0);
    store_marker("default");
    restart();
    ck_assert(!cached("default", CP_MARKER));
    assert_equal("t3", STORE_AS_OF_NOW, 0);
    assert_equal("t2", STORE_AS_OF_NOW, 0);
}
END_TEST

START_TEST(test_checkpoint_fixed_as_of)
{
    start("2025-01-20");
    int64_t day;
    ck_assert_int_eq(summary_parse_day("2025-01-20", &day), 0);
    write_rounds(0, 2);
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    write_rounds(2, 4);
    store_marker("t2");
    restart();
    ck_assert(!cached("t2", CP_MARKER));
    exec_sql("DELETE FROM customer_days WHERE customer_id = '" CP_MARKER "'");
    assert_equal("default", day, 0);
    assert_equal("t2", day, 0);
    /* under another as_of the checkpoint is not used: rebuilt */
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "as_of", "2025-02-10", err));
    ck_assert_int_eq(summary_parse_day("2025-02-10", &day), 0);
    store_marker("t2");
    restart();
    ck_assert(cached("t2", CP_MARKER));
    assert_equal("t2", day, 0);
    assert_equal("default", day, 0);
}
END_TEST

START_TEST(test_checkpoint_erasure_stays)
{
    start(NULL);
    write_rounds(0, 2);
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    ck_assert(cached("default", "k3"));
    store_db *db = testhttp_db_open(&t);
    ck_assert_int_eq(store_customer_erase(db, "default", "k3"), 0);
    store_db_close(db);
    /* the checkpoint stays (a restart after an erasure stays fast): the
     * start-up catch-up reads the erasures since its horizon (migration 011) */
    ck_assert_int_eq(count_sql("cache_checkpoints WHERE tenant_id = 'default'"), 1);
    ck_assert_int_eq(count_sql("cache_checkpoints WHERE tenant_id = 't2'"), 1);
    store_marker("default");
    restart();
    ck_assert(!cached("default", CP_MARKER)); /* from the checkpoint, not a rebuild */
    exec_sql("DELETE FROM customer_days WHERE customer_id = '" CP_MARKER "'");
    ck_assert(!cached("default", "k3"));
    ck_assert(cached("t2", "k3"));
    assert_equal("default", STORE_AS_OF_NOW, 0);
    assert_equal("t2", STORE_AS_OF_NOW, 0);
}
END_TEST

START_TEST(test_checkpoint_tenant_deleted)
{
    start(NULL);
    write_rounds(0, 2);
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    testhttp_app_stop(&t);
    store_db *db = testhttp_db_open(&t);
    ck_assert_int_eq(store_tenant_delete(db, "t2"), 0);
    store_db_close(db);
    ck_assert_int_eq(count_sql("cache_checkpoints WHERE tenant_id = 't2'"), 0);
    ck_assert_int_eq(count_sql("cache_checkpoint_chunks WHERE tenant_id = 't2'"), 0);
    testhttp_app_start(&t, false);
    app_tenant *gone = app_tenant_find(t.app, "t2");
    ck_assert_ptr_null(gone);
    assert_equal("default", STORE_AS_OF_NOW, 0);
}
END_TEST

typedef struct write_arg {
    testhttp_app *t;
    int rc;
} write_arg;

static void *write_default(void *arg)
{
    write_arg *w = arg;
    store_db *db = testhttp_db_open(w->t);
    store_checkpoint c;
    w->rc = store_checkpoint_write(db, "default", STORE_AS_OF_NOW, 0, NULL, &c);
    store_db_close(db);
    return NULL;
}

/* An erasure that commits while a checkpoint is written (the writer's
 * snapshot still holds the customer): the checkpoint is abandoned, so the
 * customer cannot come back from it. */
START_TEST(test_checkpoint_concurrent_erasure)
{
    start(NULL);
    write_rounds(0, 2);
    store_db *er = testhttp_db_open(&t);
    ck_assert_int_eq(store_db_exec(er, "BEGIN", PGRES_COMMAND_OK), 0);
    ck_assert_int_eq(store_db_exec(er,
                                   "DELETE FROM customer_days WHERE tenant_id = 'default'"
                                   " AND customer_id = 'k3'",
                                   PGRES_COMMAND_OK),
                     0);
    ck_assert_int_eq(store_checkpoint_invalidate(er, "default"), 0);
    write_arg w = {&t, -5};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, write_default, &w), 0);
    struct timespec wait = {0, 300000000}; /* the writer reaches the erasures' row */
    nanosleep(&wait, NULL);
    ck_assert_int_eq(store_db_exec(er, "COMMIT", PGRES_COMMAND_OK), 0);
    pthread_join(th, NULL);
    store_db_close(er);
    ck_assert_int_eq(w.rc, 1);
    ck_assert_int_eq(count_sql("cache_checkpoints WHERE tenant_id = 'default'"), 0);
    /* written once nothing erases */
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    store_marker("default");
    restart();
    ck_assert(!cached("default", CP_MARKER));
    ck_assert(!cached("default", "k3"));
}
END_TEST

/* `ltvd serve` writes a checkpoint of each tenant on its own (the first
 * look one interval after start-up, here 1 s), and the next one starts
 * from it; a read-only process writes none. */
START_TEST(test_checkpoint_serve_writes)
{
    start(NULL);
    write_rounds(0, 2);
    testhttp_app_stop(&t);
    const char *env[] = {"LTVD_CACHE_CHECKPOINT_INTERVAL_S=1", "LTVD_LISTEN=127.0.0.1:0",
                         "LTVD_AUTH_REQUIRED=false", "LTVD_SHUTDOWN_DEADLINE_S=5", NULL};
    testserve s;
    testserve_start(&s, t.cfg.database_url, env);
    ck_assert(testserve_log_wait(&s, "tenant t2: checkpoint", 20000));
    ck_assert(testserve_log_wait(&s, "tenant default: checkpoint", 20000));
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);
    ck_assert_int_ge(count_sql("cache_checkpoints"), 2);
    exec_sql("DELETE FROM cache_checkpoints");
    const char *ro[] = {"LTVD_READ_ONLY=true", "LTVD_CACHE_CHECKPOINT_INTERVAL_S=1",
                        "LTVD_LISTEN=127.0.0.1:0", "LTVD_AUTH_REQUIRED=false", NULL};
    testserve_start(&s, t.cfg.database_url, ro);
    struct timespec wait = {2, 500000000};
    nanosleep(&wait, NULL);
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);
    ck_assert_int_eq(count_sql("cache_checkpoints"), 0);
}
END_TEST

/* A chunk that does not match its checksum, or one missing: that tenant
 * is rebuilt (the marker is seen), the other still loaded. */
static void corrupt_then_restart(const char *sql)
{
    start(NULL);
    write_rounds(0, 2);
    ck_assert_int_eq(app_checkpoint_write_all(t.app, 0), 2);
    exec_sql(sql);
    store_marker("default");
    store_marker("t2");
    restart();
    ck_assert(cached("default", CP_MARKER)); /* rebuilt */
    ck_assert(!cached("t2", CP_MARKER));     /* loaded */
    assert_equal("default", STORE_AS_OF_NOW, 0);
}

START_TEST(test_checkpoint_corrupt_chunk)
{
    corrupt_then_restart("UPDATE cache_checkpoint_chunks"
                         " SET data = overlay(data placing '\\x7f'::bytea from 2 for 1)"
                         " WHERE tenant_id = 'default'");
}
END_TEST

START_TEST(test_checkpoint_partial)
{
    corrupt_then_restart(
        "DELETE FROM cache_checkpoint_chunks WHERE tenant_id = 'default'");
}
END_TEST

START_TEST(test_checkpoint_bad_encoding)
{
    /* matches its checksum but does not decode */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE cache_checkpoint_chunks SET data = '\\x0500'::bytea, checksum = %lld"
             " WHERE tenant_id = 'default'",
             (long long)store_checkpoint_checksum((const unsigned char *)"\x05\x00", 2));
    corrupt_then_restart(sql);
}
END_TEST

/* The chunk encoding round-trips extreme values. */
START_TEST(test_checkpoint_encoding)
{
    store_customer c = {.customer_id = "x",
                        .first_day = -5,
                        .last_day = 2000000,
                        .n_days = 3,
                        .repeat_units = INT64_MAX,
                        .first_units = 0,
                        .month_bits = UINT64_MAX,
                        .channel = "web"};
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ck_assert_int_eq(store_checkpoint_encode(&buf, &len, &cap, &c), 0);
    ck_assert_int_eq(store_checkpoint_encode(&buf, &len, &cap, &c), 0);
    /* the id's length and byte, then 1 + 4 + 1 + 10 + 1 varint bytes, the
     * month bits' 10, the channel's length and 3 bytes, no campaign's 1 */
    ck_assert_uint_eq(len, 2 * (19 + 10 + 4 + 1));
    free(buf);
}
END_TEST

Suite *suite_checkpoint(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_checkpoint_equals_rebuild);
    tcase_add_test(tc, test_checkpoint_new_tenant_rebuilt);
    tcase_add_test(tc, test_checkpoint_fixed_as_of);
    tcase_add_test(tc, test_checkpoint_erasure_stays);
    tcase_add_test(tc, test_checkpoint_tenant_deleted);
    tcase_add_test(tc, test_checkpoint_concurrent_erasure);
    tcase_add_test(tc, test_checkpoint_serve_writes);
    tcase_add_test(tc, test_checkpoint_corrupt_chunk);
    tcase_add_test(tc, test_checkpoint_partial);
    tcase_add_test(tc, test_checkpoint_bad_encoding);
    tcase_add_test(tc, test_checkpoint_encoding);
    suite_add_tcase(s, tc);
    return s;
}

/* The PostgreSQL store against a real server: migrations, idempotent and
 * concurrent batch ingest, the maintained summaries against a recomputation
 * from the transactions, snapshots, the customer stream and reconnects.
 * Needs DATABASE_URL (make test starts a server through scripts/with_pg.sh);
 * every run works in a database of its own, ltvd_test_<pid>, dropped at the
 * end. Run from the repository root (migrations/ is read from there).
 * LTVD_STORE_BENCH=1 adds a timing of COPY vs INSERT staging. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "store/customers.h"
#include "store/db.h"
#include "store/ingest.h"
#include "store/migrate.h"
#include "store/pool.h"
#include "store/snapshot.h"
#include "testdb.h"

#define MIGRATIONS "migrations"

/* DATABASE_URL as it was when the suite was built: under CK_FORK=no other
 * suites (config) set and unset it in this very process before we run. */
static char base_url[2048];
static char test_url[2048]; /* conninfo of this run's database */
static char test_dbname[64];

/* ---- fixture: a database of our own -------------------------------------- */

static store_db *open_db(void)
{
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(test_url, err);
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

static void setup_db(void)
{
    ck_assert_msg(base_url[0] != '\0',
                  "DATABASE_URL is not set: run through scripts/with_pg.sh");
    snprintf(test_dbname, sizeof test_dbname, "ltvd_test_%ld", (long)getpid());
    testdb_create(base_url, test_dbname);
    testdb_url_with_db(base_url, test_dbname, test_url, sizeof test_url);
    store_db *db = open_db();
    int applied;
    ck_assert_msg(store_migrate(db, MIGRATIONS, &applied) == 0, "%s", store_db_error(db));
    store_db_close(db);
}

static void teardown_db(void)
{
    if (base_url[0] != '\0' && test_dbname[0] != '\0')
        testdb_drop(base_url, test_dbname);
}

/* ---- helpers ---------------------------------------------------------------- */

/* The single value of a one-row, one-column query, as a long long. */
static long long query_ll(store_db *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s",
                  sql, PQresultErrorMessage(res));
    long long v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

/* Items with owned strings. */
typedef struct batch {
    store_item *items;
    char (*txt)[3][48];
    size_t n;
} batch;

static void batch_init(batch *b, size_t n)
{
    b->items = calloc(n, sizeof *b->items);
    b->txt = calloc(n, sizeof *b->txt);
    b->n = 0;
    ck_assert(b->items != NULL && b->txt != NULL);
}

/* Adds transaction `txn` of customer `cust` on day `day` (from 1970) at noon. */
static void batch_add(batch *b, const char *prefix, int cust, int txn, int day,
                      const char *amount)
{
    size_t i = b->n++;
    snprintf(b->txt[i][0], 48, "%s-c%d", prefix, cust);
    snprintf(b->txt[i][1], 48, "t%d", txn);
    snprintf(b->txt[i][2], 48, "%s", amount);
    b->items[i] = (store_item){.customer_id = b->txt[i][0],
                               .txn_id = b->txt[i][1],
                               .occurred_at_s = (int64_t)day * 86400 + 43200,
                               .amount = b->txt[i][2]};
}

static void batch_free(batch *b)
{
    free(b->items);
    free(b->txt);
}

static void insert_ok(store_db *db, const batch *b, store_batch_result *r)
{
    ck_assert_msg(store_insert_batch(db, b->items, b->n, NULL, r) == 0, "%s",
                  store_db_error(db));
}

/* Rows where customer_days or customers differ from a recomputation from
 * transactions by GROUP BY (0 when the maintained summaries are right). */
static const char mismatch_sql[] =
    "WITH d AS (SELECT customer_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,"
    "                  sum(amount) AS amount, count(*)::int AS n"
    "             FROM transactions GROUP BY 1, 2),"
    " c AS (SELECT customer_id, min(day) AS first_day, max(day) AS last_day,"
    "              count(*)::int AS n_days,"
    "              sum(amount) FILTER (WHERE day > (SELECT min(day) FROM d d2"
    "                                 WHERE d2.customer_id = d.customer_id)) AS rep"
    "         FROM d GROUP BY 1)"
    " SELECT (SELECT count(*) FROM ((SELECT * FROM d EXCEPT"
    "          SELECT customer_id, day, amount, n_transactions FROM customer_days)"
    "         UNION ALL (SELECT customer_id, day, amount, n_transactions FROM "
    "customer_days"
    "          EXCEPT SELECT * FROM d)) x)"
    "      + (SELECT count(*) FROM ((SELECT customer_id, first_day, last_day, n_days,"
    "              coalesce(rep, 0) FROM c EXCEPT SELECT customer_id, first_day, "
    "last_day,"
    "              n_days, repeat_amount FROM customers)"
    "         UNION ALL (SELECT customer_id, first_day, last_day, n_days, repeat_amount"
    "              FROM customers EXCEPT SELECT customer_id, first_day, last_day, n_days,"
    "              coalesce(rep, 0) FROM c)) y)";

/* ---- migrations ----------------------------------------------------------- */

typedef struct migrate_arg {
    int applied;
    int rc;
    char err[STORE_ERR_MAX];
    const char *url;
} migrate_arg;

static void *migrate_thread(void *p)
{
    migrate_arg *a = p;
    store_db *db = store_db_open(a->url, a->err);
    a->rc = -1;
    if (db == NULL)
        return NULL;
    a->rc = store_migrate(db, MIGRATIONS, &a->applied);
    if (a->rc != 0)
        snprintf(a->err, sizeof a->err, "%s", store_db_error(db));
    store_db_close(db);
    return NULL;
}

/* Two migrators at once on an empty database apply each file once in all;
 * a third run applies nothing. */
START_TEST(test_migrate_once)
{
    char name[80], url[2048];
    snprintf(name, sizeof name, "%s_m", test_dbname);
    testdb_create(base_url, name);
    testdb_url_with_db(base_url, name, url, sizeof url);
    migrate_arg a[2] = {{.url = url}, {.url = url}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, migrate_thread, &a[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(a[i].rc == 0, "%s", a[i].err);
    }
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(url, err);
    ck_assert_msg(db != NULL, "%s", err);
    long long files = query_ll(db, "SELECT count(*) FROM schema_migrations");
    ck_assert_int_ge(files, 1);
    ck_assert_int_eq(a[0].applied + a[1].applied, files);
    int applied = -1, pending = -1;
    ck_assert_int_eq(store_migrate(db, MIGRATIONS, &applied), 0);
    ck_assert_int_eq(applied, 0);
    ck_assert_int_eq(store_migrations_pending(db, MIGRATIONS, &pending), 0);
    ck_assert_int_eq(pending, 0);
    ck_assert_int_eq(store_migrate(db, "tests/no-such-dir", &applied), -1);
    store_db_close(db);
    testdb_drop(base_url, name);
}
END_TEST

/* ---- ingest ------------------------------------------------------------------ */

/* Adds the batch's deltas for customer id to *s (*exists: whether *s holds
 * a summary yet), as the service's cache does. */
static void add_deltas(const store_batch_result *r, const char *id, cache_summary *s,
                       bool *exists)
{
    for (size_t i = 0; i < r->n_days; i++) {
        const store_day_delta *d = &r->days[i];
        if (strcmp(d->customer_id, id) == 0)
            cache_summary_add_day(s, exists, (int32_t)d->day, d->new_day, d->units);
    }
}

/* The summary the deltas of one batch give a customer new to it. */
static cache_summary summary_of(const store_batch_result *r, const char *id)
{
    cache_summary s = {0};
    bool exists = false;
    add_deltas(r, id, &s, &exists);
    ck_assert_msg(exists, "customer %s not in the result", id);
    return s;
}

/* A batch stores everything once; resending it stores nothing; the returned
 * summaries are those of the batch's customers. */
START_TEST(test_batch_idempotent)
{
    store_db *db = open_db();
    batch b;
    batch_init(&b, 64);
    /* c1: days 100 (10 + 5), 103 (7), 101 (2.5): first 100, repeat 9.5 */
    batch_add(&b, "idem", 1, 1, 100, "10");
    batch_add(&b, "idem", 1, 2, 103, "7");
    batch_add(&b, "idem", 1, 3, 100, "5");
    batch_add(&b, "idem", 1, 4, 101, "2.5");
    batch_add(&b, "idem", 2, 1, 200, "0");
    store_batch_result r;
    insert_ok(db, &b, &r);
    ck_assert_msg(!db->stage_ready, "a new batch went through the staging table");
    ck_assert_uint_eq(r.n_new, 5);
    ck_assert_uint_eq(r.n_duplicate, 0);
    ck_assert_uint_eq(r.n_days, 4); /* (c1: 100, 101, 103), (c2: 200) */
    ck_assert_uint_gt(r.xid, 0);
    cache_summary c1 = summary_of(&r, "idem-c1");
    ck_assert_int_eq(c1.first_day, 100);
    ck_assert_int_eq(c1.last_day, 103);
    ck_assert_int_eq(c1.n_days, 3);
    ck_assert_int_eq(c1.repeat_units, 95000);
    ck_assert_int_eq(c1.first_units, 150000);
    cache_summary c2 = summary_of(&r, "idem-c2");
    ck_assert_int_eq(c2.n_days, 1);
    ck_assert_int_eq(c2.repeat_units, 0);
    store_batch_result_free(&r);

    store_batch_result again;
    ck_assert_int_eq(
        store_insert_batch_via(db, b.items, b.n, STORE_INGEST_INSERT, NULL, &again), 0);
    ck_assert_uint_eq(again.n_new, 0);
    ck_assert_uint_eq(again.n_duplicate, 5);
    ck_assert_uint_eq(again.n_days, 0);
    store_batch_result_free(&again);

    /* An earlier day moves the first day: day 100 becomes a repeat day; a
     * purchase on a stored day adds to it without a new day. */
    batch e;
    batch_init(&e, 4);
    batch_add(&e, "idem", 1, 9, 90, "1");
    batch_add(&e, "idem", 1, 10, 101, "0.25");
    insert_ok(db, &e, &r);
    ck_assert_uint_eq(r.n_days, 2);
    ck_assert(r.days[0].new_day && r.days[0].day == 90);
    ck_assert(!r.days[1].new_day && r.days[1].day == 101 && r.days[1].units == 2500);
    bool exists = true;
    add_deltas(&r, "idem-c1", &c1, &exists);
    ck_assert_int_eq(c1.first_day, 90);
    ck_assert_int_eq(c1.n_days, 4);
    ck_assert_int_eq(c1.repeat_units, 247500);
    ck_assert_int_eq(c1.first_units, 10000);
    store_batch_result_free(&r);
    ck_assert_int_eq(query_ll(db, "SELECT count(*) FROM transactions"
                                  " WHERE customer_id LIKE 'idem-%'"),
                     7);
    ck_assert_int_eq(query_ll(db, mismatch_sql), 0);
    batch_free(&e);
    batch_free(&b);
    store_db_close(db);
}
END_TEST

/* One id twice in a batch: stored once, the first occurrence wins. */
START_TEST(test_duplicates_in_batch)
{
    store_db *db = open_db();
    batch b;
    batch_init(&b, 4);
    batch_add(&b, "dup", 1, 1, 10, "3.25");
    batch_add(&b, "dup", 1, 1, 11, "99");
    batch_add(&b, "dup", 1, 2, 11, "1");
    store_batch_result r;
    insert_ok(db, &b, &r);
    ck_assert_uint_eq(r.n_new, 2);
    ck_assert_uint_eq(r.n_duplicate, 1);
    cache_summary c = summary_of(&r, "dup-c1");
    ck_assert_int_eq(c.n_days, 2);
    ck_assert_int_eq(c.repeat_units, 10000);
    store_batch_result_free(&r);
    ck_assert_int_eq(query_ll(db, "SELECT (amount * 100)::bigint FROM transactions"
                                  " WHERE customer_id = 'dup-c1' AND txn_id = 't1'"),
                     325);
    batch_free(&b);
    store_db_close(db);
}
END_TEST

/* A batch new at its first, middle and last items but partly stored: the
 * straight COPY meets a stored key, and the batch is redone staged with
 * the same result as if it had gone there first. */
START_TEST(test_partly_stored_batch)
{
    store_db *db = open_db();
    batch old, mix;
    batch_init(&old, 2);
    batch_add(&old, "part", 1, 2, 50, "1");
    batch_add(&old, "part", 2, 4, 51, "2");
    store_batch_result r;
    insert_ok(db, &old, &r);
    store_batch_result_free(&r);
    batch_init(&mix, 5);
    batch_add(&mix, "part", 1, 1, 50, "10"); /* new, on a stored day */
    batch_add(&mix, "part", 1, 2, 50, "1");  /* stored */
    batch_add(&mix, "part", 2, 3, 52, "3");  /* new: the middle item */
    batch_add(&mix, "part", 2, 4, 51, "2");  /* stored */
    batch_add(&mix, "part", 3, 5, 53, "4");  /* new */
    insert_ok(db, &mix, &r);
    ck_assert_msg(db->stage_ready, "the staged path did not run");
    ck_assert_uint_eq(r.n_new, 3);
    ck_assert_uint_eq(r.n_duplicate, 2);
    ck_assert_uint_eq(r.n_days, 3);
    ck_assert(!r.days[0].new_day && r.days[0].units == 100000); /* part-c1, day 50 */
    ck_assert(r.days[1].new_day && r.days[2].new_day);
    store_batch_result_free(&r);
    ck_assert_int_eq(query_ll(db, mismatch_sql), 0);
    batch_free(&mix);
    batch_free(&old);
    store_db_close(db);
}
END_TEST

/* Ten amounts at the limit on one day: past INT64_MAX units, so the batch
 * takes the staged path, where the stored sum stays exact and the delta
 * saturates. */
START_TEST(test_day_sum_past_int64)
{
    store_db *db = open_db();
    batch b;
    batch_init(&b, 10);
    for (int i = 0; i < 10; i++)
        batch_add(&b, "big", 1, i, 60, "99999999999999.9999");
    store_batch_result r;
    insert_ok(db, &b, &r);
    ck_assert(db->stage_ready);
    ck_assert_uint_eq(r.n_new, 10);
    ck_assert_uint_eq(r.n_days, 1);
    ck_assert_int_eq(r.days[0].units, INT64_MAX);
    store_batch_result_free(&r);
    ck_assert_int_eq(
        query_ll(db, "SELECT (amount = 999999999999999.999) ::int FROM customer_days"
                     " WHERE customer_id = 'big-c1'"),
        1);
    ck_assert_int_eq(query_ll(db, mismatch_sql), 0);
    batch_free(&b);
    store_db_close(db);
}
END_TEST

/* occurred_at as RFC 3339 text: the day is the UTC day of the instant. */
START_TEST(test_rfc3339_day)
{
    store_db *db = open_db();
    store_item it[2] = {
        {.txn_id = "a",
         .customer_id = "tz-1",
         .occurred_at = "2024-01-01T23:30:00-02:00",
         .amount = "1.5"},
        {.txn_id = "b",
         .customer_id = "tz-1",
         .occurred_at = "2024-01-03T00:30:00+02:00",
         .amount = "2"},
    };
    store_batch_result r;
    ck_assert_int_eq(store_insert_batch_via(db, it, 2, STORE_INGEST_COPY, NULL, &r), 0);
    ck_assert_uint_eq(r.n_days, 1); /* both on 2024-01-02 (UTC) */
    ck_assert_int_eq(r.days[0].day, 19724);
    ck_assert(r.days[0].new_day);
    ck_assert_int_eq(r.days[0].units, 35000);
    store_batch_result_free(&r);
    /* A bad amount fails the whole batch and stores nothing. */
    store_item bad[2] = {
        {.txn_id = "c", .customer_id = "tz-2", .occurred_at_s = 0, .amount = "1"},
        {.txn_id = "d", .customer_id = "tz-2", .occurred_at_s = 0, .amount = "-1"},
    };
    ck_assert_int_eq(store_insert_batch_via(db, bad, 2, STORE_INGEST_COPY, NULL, &r), -1);
    ck_assert_int_eq(query_ll(db, "SELECT count(*) FROM transactions"
                                  " WHERE customer_id = 'tz-2'"),
                     0);
    /* The connection is usable after the failure. */
    ck_assert_int_eq(store_insert_batch_via(db, bad, 1, STORE_INGEST_INSERT, NULL, &r),
                     0);
    ck_assert_uint_eq(r.n_new, 1);
    store_batch_result_free(&r);
    store_db_close(db);
}
END_TEST

/* ---- concurrency ----------------------------------------------------------- */

#define POOL_CUSTOMERS 60
#define POOL_TXNS 3000

/* A delta kept past its batch result. */
typedef struct kept_delta {
    char id[48];
    store_day_delta d;
} kept_delta;

typedef struct worker {
    const batch *pool;
    unsigned seed;
    int random_subsets; /* 0: insert the whole pool; 1: random overlapping subsets */
    size_t n_new;
    kept_delta *deltas; /* every delta of every batch of this worker */
    size_t n_deltas, cap_deltas;
    int rc;
    char err[STORE_ERR_MAX];
} worker;

static void keep_deltas(worker *w, const store_batch_result *r)
{
    for (size_t i = 0; i < r->n_days; i++) {
        if (w->n_deltas == w->cap_deltas) {
            w->cap_deltas = w->cap_deltas ? 2 * w->cap_deltas : 1024;
            w->deltas = realloc(w->deltas, w->cap_deltas * sizeof *w->deltas);
            ck_assert_ptr_nonnull(w->deltas);
        }
        kept_delta *k = &w->deltas[w->n_deltas++];
        snprintf(k->id, sizeof k->id, "%s", r->days[i].customer_id);
        k->d = r->days[i];
        k->d.customer_id = NULL;
    }
}

static void *worker_main(void *p)
{
    worker *w = p;
    w->rc = -1;
    store_db *db = store_db_open(test_url, w->err);
    if (db == NULL)
        return NULL;
    store_item *sub = malloc(w->pool->n * sizeof *sub);
    int rounds = w->random_subsets ? 8 : 1;
    w->rc = 0;
    for (int round = 0; round < rounds && w->rc == 0 && sub != NULL; round++) {
        size_t k = 0;
        for (size_t i = 0; i < w->pool->n; i++)
            if (!w->random_subsets || rand_r(&w->seed) % 3 == 0)
                sub[k++] = w->pool->items[i];
        store_batch_result r;
        w->rc = store_insert_batch_via(
            db, sub, k, round % 2 ? STORE_INGEST_INSERT : STORE_INGEST_COPY, NULL, &r);
        if (w->rc == 0) {
            w->n_new += r.n_new;
            keep_deltas(w, &r);
        } else
            snprintf(w->err, sizeof w->err, "%s", store_db_error(db));
        store_batch_result_free(&r);
    }
    free(sub);
    store_db_close(db);
    return NULL;
}

/* A pool of transactions over a few customers and days, amounts with cents. */
static void make_pool(batch *b, const char *prefix, unsigned seed)
{
    batch_init(b, POOL_TXNS);
    for (int i = 0; i < POOL_TXNS; i++) {
        char amount[32];
        snprintf(amount, sizeof amount, "%d.%02d", (int)(rand_r(&seed) % 500),
                 (int)(rand_r(&seed) % 100));
        batch_add(b, prefix, (int)(rand_r(&seed) % POOL_CUSTOMERS), i,
                  18000 + (int)(rand_r(&seed) % 400), amount);
    }
}

static int by_kept_id(const void *a, const void *b)
{
    return strcmp(((const kept_delta *)a)->id, ((const kept_delta *)b)->id);
}

typedef struct summed {
    kept_delta *v;
    size_t n;
    size_t matched;
} summed;

/* Checks one stored summary against the kept deltas of its customer added
 * up in the (shuffled) order they are in. */
static int check_summed(const store_customer *c, void *arg)
{
    summed *sm = arg;
    kept_delta key;
    snprintf(key.id, sizeof key.id, "%s", c->customer_id);
    kept_delta *hit = bsearch(&key, sm->v, sm->n, sizeof *sm->v, by_kept_id);
    ck_assert_msg(hit != NULL, "%s: no delta", c->customer_id);
    while (hit > sm->v && strcmp(hit[-1].id, key.id) == 0)
        hit--;
    cache_summary s = {0};
    bool exists = false;
    for (; hit < sm->v + sm->n && strcmp(hit->id, key.id) == 0; hit++)
        cache_summary_add_day(&s, &exists, (int32_t)hit->d.day, hit->d.new_day,
                              hit->d.units);
    ck_assert_int_eq(s.first_day, c->first_day);
    ck_assert_int_eq(s.last_day, c->last_day);
    ck_assert_int_eq(s.n_days, c->n_days);
    ck_assert_int_eq(s.repeat_units, c->repeat_units);
    ck_assert_int_eq(s.first_units, c->first_units);
    sm->matched++;
    return 0;
}

/* The deltas of all workers, added up per customer in a random order, give
 * exactly the stored summaries: what the service's cache relies on. */
static void check_deltas_sum_up(worker *w, int n_workers)
{
    summed sm = {0};
    for (int i = 0; i < n_workers; i++)
        sm.n += w[i].n_deltas;
    sm.v = malloc((sm.n > 0 ? sm.n : 1) * sizeof *sm.v);
    ck_assert_ptr_nonnull(sm.v);
    size_t k = 0;
    for (int i = 0; i < n_workers; i++) {
        if (w[i].n_deltas > 0)
            memcpy(sm.v + k, w[i].deltas, w[i].n_deltas * sizeof *sm.v);
        k += w[i].n_deltas;
    }
    unsigned seed = 99;
    for (size_t i = sm.n; i > 1; i--) { /* Fisher-Yates, then group by id */
        size_t j = (size_t)rand_r(&seed) % i;
        kept_delta t = sm.v[i - 1];
        sm.v[i - 1] = sm.v[j];
        sm.v[j] = t;
    }
    qsort(sm.v, sm.n, sizeof *sm.v, by_kept_id);
    store_db *db = open_db();
    const char *ids[POOL_CUSTOMERS];
    char buf[POOL_CUSTOMERS][48];
    size_t n_ids = 0;
    for (size_t i = 0; i < sm.n; i++) {
        if (n_ids == 0 || strcmp(buf[n_ids - 1], sm.v[i].id) != 0) {
            snprintf(buf[n_ids], sizeof buf[n_ids], "%s", sm.v[i].id);
            ids[n_ids] = buf[n_ids];
            n_ids++;
        }
    }
    ck_assert_int_eq(store_customers_as_of(db, "default", ids, n_ids, STORE_AS_OF_NOW,
                                           check_summed, &sm),
                     0);
    ck_assert_uint_eq(sm.matched, n_ids);
    store_db_close(db);
    free(sm.v);
}

/* Deadlocks PostgreSQL has counted in the test database (the workers'
 * backends report theirs as they exit). */
static long long deadlocks(void)
{
    store_db *db = open_db();
    long long n = query_ll(db, "SELECT deadlocks FROM pg_stat_database"
                               " WHERE datname = current_database()");
    store_db_close(db);
    return n;
}

static void run_workers(const batch *pool, int random_subsets, size_t *total_new)
{
    worker w[4];
    pthread_t th[4];
    *total_new = 0;
    long long deadlocks0 = deadlocks();
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){
            .pool = pool, .seed = 1234u + (unsigned)i, .random_subsets = random_subsets};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].rc == 0, "worker %d: %s", i, w[i].err);
        *total_new += w[i].n_new;
    }
    check_deltas_sum_up(w, 4);
    for (int i = 0; i < 4; i++)
        free(w[i].deltas);
    /* the straight and staged paths take rows in orders that never cycle
     * (direct.c, update_days); a backend's count lands when it ends */
    struct timespec ms300 = {0, 300000000};
    nanosleep(&ms300, NULL);
    ck_assert_int_eq(deadlocks(), deadlocks0);
}

/* 4 connections send the same 3000-item batch at once: stored once. */
START_TEST(test_concurrent_identical)
{
    batch pool;
    make_pool(&pool, "conc", 7);
    size_t total_new;
    run_workers(&pool, 0, &total_new);
    ck_assert_uint_eq(total_new, POOL_TXNS);
    store_db *db = open_db();
    ck_assert_int_eq(query_ll(db, "SELECT count(*) FROM transactions"
                                  " WHERE customer_id LIKE 'conc-%'"),
                     POOL_TXNS);
    ck_assert_int_eq(query_ll(db, mismatch_sql), 0);
    store_db_close(db);
    batch_free(&pool);
}
END_TEST

/* 4 connections send random overlapping subsets of one pool, 8 batches each
 * (new days before, between and after the stored ones, for the same
 * customers at the same time): every item stored at most once, each new item
 * counted by exactly one batch, and customer_days/customers equal to a
 * recomputation from transactions. */
START_TEST(test_concurrent_overlapping)
{
    batch pool;
    make_pool(&pool, "ovl", 11);
    size_t total_new;
    run_workers(&pool, 1, &total_new);
    store_db *db = open_db();
    long long stored = query_ll(db, "SELECT count(*) FROM transactions"
                                    " WHERE customer_id LIKE 'ovl-%'");
    ck_assert_int_eq((long long)total_new, stored);
    ck_assert_int_gt(stored, POOL_TXNS / 2);
    ck_assert_int_eq(query_ll(db, mismatch_sql), 0);
    store_db_close(db);
    batch_free(&pool);
}
END_TEST

/* ---- snapshots ------------------------------------------------------------- */

START_TEST(test_snapshot_round_trip)
{
    store_db *db = open_db();
    store_snapshot s = {
        .as_of = 1700000000.5,
        .period = "week",
        .purchase = {.model = "bgnbd",
                     .params_json =
                         "{\"r\": 0.243, \"alpha\": 4.414, \"a\": 0.793, \"b\": 2.426}",
                     .std_errors_json = "{\"r\": 0.0126}",
                     .log_likelihood = -9582.429206535206,
                     .n_customers = 2357,
                     .n_patterns = 1234,
                     .converged = true,
                     .iterations = 17,
                     .seconds = 0.0123},
        .has_spend = true,
        .spend = {.model = "gg",
                  .params_json = "{\"p\": 6.25, \"q\": 3.74, \"v\": 15.44}",
                  .log_likelihood = -4000.25,
                  .n_customers = 946,
                  .n_patterns = 900,
                  .converged = false,
                  .iterations = 3,
                  .seconds = 1e-3},
    };
    ck_assert_msg(store_snapshot_save(db, &s) == 0, "%s", store_db_error(db));
    ck_assert_int_gt(s.id, 0);
    store_snapshot l;
    ck_assert_int_eq(store_snapshot_load_latest(db, NULL, &l), 1);
    ck_assert_int_eq(l.id, s.id);
    ck_assert_double_eq_tol(l.as_of, s.as_of, 1e-6);
    ck_assert_double_eq_tol(l.created_at, s.created_at, 1e-6);
    ck_assert_str_eq(l.period, "week");
    ck_assert_str_eq(l.purchase.model, "bgnbd");
    ck_assert_str_eq(l.purchase.params_json,
                     "{\"a\": 0.793, \"b\": 2.426, \"r\": 0.243, \"alpha\": 4.414}");
    ck_assert_str_eq(l.purchase.std_errors_json, "{\"r\": 0.0126}");
    ck_assert(l.purchase.log_likelihood == s.purchase.log_likelihood);
    ck_assert_int_eq(l.purchase.n_customers, 2357);
    ck_assert_int_eq(l.purchase.n_patterns, 1234);
    ck_assert(l.purchase.converged);
    ck_assert_int_eq(l.purchase.iterations, 17);
    ck_assert(l.purchase.seconds == s.purchase.seconds);
    ck_assert(l.has_spend);
    ck_assert_str_eq(l.spend.model, "gg");
    ck_assert_ptr_null(l.spend.std_errors_json);
    ck_assert(!l.spend.converged);
    ck_assert(l.spend.log_likelihood == -4000.25);
    ck_assert_int_eq(l.spend.n_customers, 946);
    store_snapshot_free(&l);

    /* A newer snapshot without a spend model is the latest. */
    s.has_spend = false;
    s.purchase.model = "pareto";
    ck_assert_int_eq(store_snapshot_save(db, &s), 0);
    ck_assert_int_eq(store_snapshot_load_latest(db, NULL, &l), 1);
    ck_assert_str_eq(l.purchase.model, "pareto");
    ck_assert(!l.has_spend);
    ck_assert_ptr_null(l.spend.model);
    store_snapshot_free(&l);

    /* Not JSON: refused. */
    s.purchase.params_json = "{r: 1";
    ck_assert_int_eq(store_snapshot_save(db, &s), -1);
    store_db_close(db);
}
END_TEST

/* ---- customer stream --------------------------------------------------------- */

typedef struct collected {
    store_customer *rows;
    size_t n, cap;
} collected;

static int collect(const store_customer *c, void *arg)
{
    collected *col = arg;
    if (col->n == col->cap) {
        col->cap = col->cap ? 2 * col->cap : 256;
        col->rows = realloc(col->rows, col->cap * sizeof *col->rows);
        ck_assert_ptr_nonnull(col->rows);
    }
    col->rows[col->n] = *c;
    col->rows[col->n].customer_id = strdup(c->customer_id);
    col->n++;
    return 0;
}

static void collected_free(collected *col)
{
    for (size_t i = 0; i < col->n; i++)
        free(col->rows[i].customer_id);
    free(col->rows);
}

/* Checks every streamed row against the same summary computed from
 * transactions (not customer_days) up to as_of_day (a day far ahead for now). */
static void check_stream(store_db *db, const collected *col, long long as_of_day)
{
    char sql[1024];
    /* clang-format cannot lay out string pieces between macros */
    // clang-format off
    snprintf(sql, sizeof sql,
             "WITH d AS (SELECT customer_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,"
             "                  sum(amount) AS amount FROM transactions"
             "            WHERE (occurred_at AT TIME ZONE 'UTC')::date"
             "                  <= DATE '1970-01-01' + %lld"
             "            GROUP BY 1, 2)"
             " SELECT customer_id, min(day) - DATE '1970-01-01',"
             "        max(day) - DATE '1970-01-01', count(*), "
             STORE_SQL_UNITS("sum(amount) - (array_agg(amount ORDER BY day))[1]") ", "
             STORE_SQL_UNITS("(array_agg(amount ORDER BY day))[1]")
             "   FROM d GROUP BY 1 ORDER BY 1",
             as_of_day);
    // clang-format on
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
                  PQresultErrorMessage(res));
    ck_assert_int_eq(PQntuples(res), (int)col->n);
    for (size_t i = 0; i < col->n; i++) {
        const store_customer *c = &col->rows[i];
        int found = 0;
        for (int r = 0; r < PQntuples(res) && !found; r++) {
            if (strcmp(PQgetvalue(res, r, 0), c->customer_id) != 0)
                continue;
            found = 1;
            ck_assert_int_eq(c->first_day, strtoll(PQgetvalue(res, r, 1), NULL, 10));
            ck_assert_int_eq(c->last_day, strtoll(PQgetvalue(res, r, 2), NULL, 10));
            ck_assert_int_eq(c->n_days, strtoll(PQgetvalue(res, r, 3), NULL, 10));
            ck_assert_int_eq(c->repeat_units, strtoll(PQgetvalue(res, r, 4), NULL, 10));
            ck_assert_int_eq(c->first_units, strtoll(PQgetvalue(res, r, 5), NULL, 10));
        }
        ck_assert_msg(found, "%s streamed but not in transactions", c->customer_id);
    }
    PQclear(res);
}

START_TEST(test_customers_stream)
{
    store_db *db = open_db();
    batch pool;
    make_pool(&pool, "strm", 5);
    store_batch_result r;
    insert_ok(db, &pool, &r);
    store_batch_result_free(&r);

    collected now = {0}, past = {0};
    ck_assert_msg(store_customers_stream(db, "default", STORE_AS_OF_NOW, collect, &now) ==
                      0,
                  "%s", store_db_error(db));
    ck_assert_int_eq((long long)now.n, query_ll(db, "SELECT count(*) FROM customers"));
    check_stream(db, &now, 1000000);

    /* As of day 18050 (2019-06-03; the pool spans days 18000-18399): only
     * days up to it count, customers who came later are left out. */
    ck_assert_int_eq(store_customers_stream(db, "default", 18050, collect, &past), 0);
    ck_assert_uint_gt(past.n, 0);
    check_stream(db, &past, 18050);
    for (size_t i = 0; i < past.n; i++)
        ck_assert_int_le(past.rows[i].last_day, 18050);

    collected_free(&now);
    collected_free(&past);
    batch_free(&pool);
    store_db_close(db);
}
END_TEST

/* ---- reconnect -------------------------------------------------------------- */

/* Our backend is terminated by another connection: the next ping and batch
 * reconnect by themselves. */
START_TEST(test_reconnect)
{
    store_db *db = open_db();
    store_db *killer = open_db();
    for (int round = 0; round < 2; round++) {
        unsigned gen = db->generation;
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int",
                 PQbackendPID(db->conn));
        ck_assert_int_eq(query_ll(killer, sql), 1);
        usleep(50000);
        if (round == 0) {
            ck_assert_msg(store_db_ping(db) == 0, "%s", store_db_error(db));
        } else {
            batch b;
            batch_init(&b, 1);
            batch_add(&b, "recon", 1, 1, 5, "1");
            store_batch_result r;
            insert_ok(db, &b, &r);
            ck_assert_uint_eq(r.n_new, 1);
            store_batch_result_free(&r);
            batch_free(&b);
        }
        ck_assert_uint_gt(db->generation, gen);
    }
    store_db_close(killer);
    store_db_close(db);
}
END_TEST

/* ---- pool ------------------------------------------------------------------ */

typedef struct pool_user {
    store_pool *pool;
    int ok;
} pool_user;

static void *pool_user_main(void *arg)
{
    pool_user *u = arg;
    for (int i = 0; i < 20; i++) {
        store_db *db = store_pool_acquire(u->pool, -1);
        if (db == NULL || store_db_ping(db) != 0)
            return NULL;
        store_pool_release(u->pool, db);
    }
    u->ok = 1;
    return NULL;
}

/* 8 threads share 2 connections; an empty pool times out. */
START_TEST(test_pool)
{
    char err[STORE_ERR_MAX];
    store_pool *p = store_pool_open(test_url, 2, NULL, err);
    ck_assert_msg(p != NULL, "%s", err);
    pool_user u[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        u[i] = (pool_user){p, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, pool_user_main, &u[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert(u[i].ok);
    }
    store_db *a = store_pool_acquire(p, 0), *b = store_pool_acquire(p, 0);
    ck_assert(a != NULL && b != NULL && a != b);
    ck_assert_ptr_null(store_pool_acquire(p, 20));
    store_pool_release(p, a);
    store_pool_release(p, b);
    store_pool_close(p);
    ck_assert_ptr_null(store_pool_open("postgresql://127.0.0.1:1/none", 1, NULL, err));
}
END_TEST

/* ---- bench (LTVD_STORE_BENCH=1) ---------------------------------------------- */

typedef struct bench_arg {
    int conn, batches, per;
    store_ingest_method method;
    int rc;
} bench_arg;

/* Sends `batches` batches of `per` new transactions over `per` customers. */
static void *bench_main(void *p)
{
    bench_arg *a = p;
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(test_url, err);
    batch b;
    batch_init(&b, (size_t)a->per);
    a->rc = db != NULL ? 0 : -1;
    for (int k = 0; k < a->batches && a->rc == 0; k++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "bench%d-%d-%d", (int)a->method, a->conn, k % 10);
        b.n = 0;
        for (int i = 0; i < a->per; i++)
            batch_add(&b, prefix, i, k * a->per + i, 19000 + k, "12.34");
        store_batch_result r;
        a->rc = store_insert_batch_via(db, b.items, b.n, a->method, NULL, &r);
        if (a->rc == 0 && r.n_new != (size_t)a->per)
            a->rc = -1;
        store_batch_result_free(&r);
    }
    batch_free(&b);
    store_db_close(db);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Rows/s of 1000-item batches of new transactions (1000 customers each):
 * each staging method on one connection, then COPY on 2 and 4. */
START_TEST(test_bench_ingest)
{
    const int batches = 60, per = 1000;
    static const struct {
        store_ingest_method m;
        int conns;
        const char *name;
    } runs[] = {
        {STORE_INGEST_COPY, 1, "COPY"}, {STORE_INGEST_INSERT, 1, "INSERT"},
        {STORE_INGEST_COPY, 1, "COPY"}, {STORE_INGEST_INSERT, 1, "INSERT"},
        {STORE_INGEST_COPY, 2, "COPY"}, {STORE_INGEST_COPY, 4, "COPY"},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        bench_arg a[4];
        pthread_t th[4];
        double t0 = now_s();
        for (int c = 0; c < runs[r].conns; c++) {
            a[c] = (bench_arg){(int)r * 4 + c, batches, per, runs[r].m, 0};
            ck_assert_int_eq(pthread_create(&th[c], NULL, bench_main, &a[c]), 0);
        }
        for (int c = 0; c < runs[r].conns; c++) {
            pthread_join(th[c], NULL);
            ck_assert_int_eq(a[c].rc, 0);
        }
        double dt = now_s() - t0;
        printf("store bench: %-6s %d connection(s) x %d batches of %d: %.0f rows/s\n",
               runs[r].name, runs[r].conns, batches, per,
               runs[r].conns * batches * per / dt);
    }
}
END_TEST

Suite *suite_store(void)
{
    const char *url = getenv("DATABASE_URL");
    snprintf(base_url, sizeof base_url, "%s", url != NULL ? url : "");
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("postgres");
    tcase_add_unchecked_fixture(tc, setup_db, teardown_db);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_migrate_once);
    tcase_add_test(tc, test_batch_idempotent);
    tcase_add_test(tc, test_duplicates_in_batch);
    tcase_add_test(tc, test_rfc3339_day);
    tcase_add_test(tc, test_partly_stored_batch);
    tcase_add_test(tc, test_day_sum_past_int64);
    tcase_add_test(tc, test_concurrent_identical);
    tcase_add_test(tc, test_concurrent_overlapping);
    tcase_add_test(tc, test_snapshot_round_trip);
    tcase_add_test(tc, test_customers_stream);
    tcase_add_test(tc, test_reconnect);
    tcase_add_test(tc, test_pool);
    if (getenv("LTVD_STORE_BENCH") != NULL)
        tcase_add_test(tc, test_bench_ingest);
    suite_add_tcase(s, tc);
    return s;
}

/* The customer endpoints over HTTP, in-process against a real PostgreSQL:
 * GET /v1/customers pages (every sort, forwards through the cursor: no gap,
 * no repeat, in order, each item equal to the customer's own document),
 * filters, lifecycle stages against their definition, the as_of query
 * parameter (a past day recomputed from PostgreSQL), the cache under a fixed
 * LTVD_AS_OF after purchases later than it, and every 400 of the
 * parameters. Data: the CDNOW sample (tests/data/cdnow_sample_transactions.csv)
 * with the published BG/NBD and Gamma-Gamma parameters, as of 1997-09-30. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"
#include "model/bgnbd.h"
#include "store/ingest.h"
#include "summary/summary.h"
#include "testhttp.h"

#define CDNOW_TXNS "tests/data/cdnow_sample_transactions.csv"
#define PAGE 50

static testhttp_app t;

static void set_model(void)
{
    cache_model m = {.model = &bgnbd_model,
                     .params = {0.242593, 4.413532, 0.792886, 2.425753},
                     .has_spend = true,
                     .gg_params = {6.248802, 3.744588, 15.447748},
                     .period_days = 7,
                     .version = 7};
    ck_assert_int_eq(cache_snapshot_set(t.app->dflt->cache, &m), CACHE_OK);
}

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&t, "ltvd_customers");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "period", "week", err));
    ck_assert(config_set(&t.cfg, "as_of", "1997-09-30", err));
    testhttp_app_start(&t, false); /* migrates */
    testhttp_app_stop(&t);
    testhttp_load_cdnow(&t, CDNOW_TXNS);
    testhttp_app_start(&t, false); /* the cache from PostgreSQL as of as_of */
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

/* GETs target and requires status; r->json is parsed. */
static void get(const char *target, int status, testhttp_response *r)
{
    testhttp_request(t.port, "GET", target, NULL, r);
    ck_assert_msg(r->status == status, "GET %s: %d %s", target, r->status, r->body);
}

static void assert_invalid(const char *target)
{
    testhttp_response r;
    get(target, 400, &r);
    testhttp_assert_problem(&r, 400, "invalid-parameter");
    testhttp_response_free(&r);
}

/* The item's key for sort name (without the "-"). */
static double key_of(json_t *c, const char *key)
{
    json_t *s = json_object_get(c, "summary");
    if (strcmp(key, "frequency") == 0 || strcmp(key, "recency") == 0)
        return testhttp_jnum(s, key);
    if (strcmp(key, "last_purchase") == 0) {
        int64_t day;
        ck_assert_int_eq(summary_parse_day(testhttp_jstr(s, "last_purchase"), &day), 0);
        return (double)day;
    }
    return testhttp_jnum(c, key);
}

/* GETs one page of /v1/customers?<query>&limit=PAGE after cursor ("" for
 * the first) into r and moves cursor to the next page's; returns false on
 * the last page. Every page but the last is full. */
static bool get_page(const char *query, char *cursor, size_t cap, testhttp_response *r)
{
    char target[1200];
    snprintf(target, sizeof target, "/v1/customers?%s&limit=%d%s%s", query, PAGE,
             cursor[0] ? "&cursor=" : "", cursor);
    get(target, 200, r);
    json_t *next = json_object_get(r->json, "next_cursor");
    bool more = !json_is_null(next);
    ck_assert(!more || json_array_size(json_object_get(r->json, "customers")) == PAGE);
    snprintf(cursor, cap, "%s", more ? json_string_value(next) : "");
    return more;
}

/* Walks every page of sort; checks order, no repeats, and the union. */
static void walk(const char *sort)
{
    const char *key = sort[0] == '-' ? sort + 1 : sort;
    bool desc = sort[0] == '-';
    size_t total = cache_count(t.app->dflt->cache), seen = 0, pages = 0;
    json_t *ids = json_object();
    char cursor[1024] = "", prev_id[CACHE_ID_MAX + 1] = "", query[64];
    double prev = 0;
    snprintf(query, sizeof query, "sort=%s", sort);
    for (bool more = true; more; pages++) {
        testhttp_response r;
        more = get_page(query, cursor, sizeof cursor, &r);
        ck_assert_str_eq(testhttp_jstr(r.json, "as_of"), "1997-09-30");
        json_t *items = json_object_get(r.json, "customers"), *c;
        size_t i;
        json_array_foreach(items, i, c)
        {
            const char *id = testhttp_jstr(c, "customer_id");
            ck_assert_msg(json_object_get(ids, id) == NULL, "%s: %s twice", sort, id);
            json_object_set_new(ids, id, json_true());
            bool by_id = strcmp(key, "customer_id") == 0;
            double k = by_id ? 0 : key_of(c, key);
            if (seen > 0) {
                int order = strcmp(prev_id, id);
                bool tie = k == prev, in_order = desc ? k < prev : k > prev;
                if (by_id)
                    in_order = desc ? order > 0 : order < 0;
                ck_assert_msg(in_order || (!by_id && tie && order < 0),
                              "%s: %s (%g) after %s (%g)", sort, id, k, prev_id, prev);
            }
            prev = k;
            snprintf(prev_id, sizeof prev_id, "%s", id);
            seen++;
            if (seen % 97 == 0) { /* an item is the customer's own document */
                char one[400];
                /* without the document's own member (lists leave it out) */
                snprintf(one, sizeof one, "/v1/customers/%s?intervals=false", id);
                testhttp_response o;
                get(one, 200, &o);
                ck_assert_msg(json_equal(o.json, c), "%s differs from its list item",
                              one);
                testhttp_response_free(&o);
            }
        }
        testhttp_response_free(&r);
    }
    ck_assert_uint_eq(seen, total);
    ck_assert_uint_eq(json_object_size(ids), total);
    ck_assert_uint_eq(pages, (total + PAGE - 1) / PAGE);
    json_decref(ids);
}

START_TEST(test_customers_pages)
{
    testhttp_response r;
    get("/v1/customers", 503, &r); /* no model yet */
    ck_assert_str_eq(testhttp_jstr(r.json, "type"), "urn:ltvd:problem:no-model");
    testhttp_response_free(&r);
    set_model();
    ck_assert_uint_eq(cache_count(t.app->dflt->cache), 2357);
    /* each 97th item is compared with its single GET: both must come after
     * the table's ranking, which gives predicted_ltv_percentile */
    testhttp_wait_ranked(&t, 10000);
    static const char *const sorts[] = {
        "customer_id",    "-customer_id",       "-p_alive", "predicted_ltv",
        "-predicted_ltv", "frequency",          "-recency", "expected_spend",
        "-last_purchase", "-expected_purchases"};
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        walk(sorts[i]);
}
END_TEST

/* Counts the customers matching query (all pages of 1000 would not fit the
 * client's buffer: pages of PAGE). Checks each item with check(item). */
static size_t count_matching(const char *query, void (*check)(json_t *, const char *),
                             const char *arg)
{
    size_t n = 0;
    char cursor[1024] = "";
    for (bool more = true; more;) {
        testhttp_response r;
        more = get_page(query, cursor, sizeof cursor, &r);
        json_t *items = json_object_get(r.json, "customers"), *c;
        size_t i;
        json_array_foreach(items, i, c)
        {
            check(c, arg);
            n++;
        }
        testhttp_response_free(&r);
    }
    return n;
}

static void check_risk(json_t *c, const char *risk)
{
    ck_assert_str_eq(testhttp_jstr(c, "churn_risk"), risk);
    ck_assert(json_is_true(json_object_get(c, "at_risk")) == (strcmp(risk, "high") == 0));
}

/* lifecycle_stage follows its definition (score_doc.c, README). */
static void check_stage(json_t *c, const char *stage)
{
    ck_assert_str_eq(testhttp_jstr(c, "lifecycle_stage"), stage);
    json_t *s = json_object_get(c, "summary");
    double x = testhttp_jnum(s, "frequency"), p = testhttp_jnum(c, "p_alive");
    double age_days = testhttp_jnum(s, "T") * 7;
    const char *want = x == 0 && age_days < t.cfg.lifecycle_new_days ? "new"
                       : p < t.cfg.churn_high_below                  ? "lost"
                       : p < t.cfg.churn_medium_below                ? "sleeping"
                       : x < t.cfg.lifecycle_established_repeats     ? "developing"
                                                                     : "established";
    ck_assert_str_eq(stage, want);
}

static void check_nothing(json_t *c, const char *arg)
{
    (void)c;
    (void)arg;
}

START_TEST(test_customers_filters)
{
    set_model();
    size_t all = cache_count(t.app->dflt->cache), by_risk = 0, by_stage = 0;
    static const char *const risks[] = {"low", "medium", "high"};
    for (int i = 0; i < 3; i++) {
        char q[64];
        snprintf(q, sizeof q, "churn_risk=%s", risks[i]);
        by_risk += count_matching(q, check_risk, risks[i]);
    }
    ck_assert_uint_eq(by_risk, all);
    size_t high = count_matching("churn_risk=high", check_nothing, NULL);
    ck_assert_uint_gt(high, 0);
    ck_assert_uint_eq(count_matching("at_risk=true", check_risk, "high"), high);
    ck_assert_uint_eq(count_matching("at_risk=true&churn_risk=low", check_nothing, NULL),
                      0);
    static const char *const stages[] = {"new", "developing", "established", "sleeping",
                                         "lost"};
    for (int i = 0; i < 5; i++) {
        char q[64];
        snprintf(q, sizeof q, "lifecycle_stage=%s&sort=-p_alive", stages[i]);
        by_stage += count_matching(q, check_stage, stages[i]);
    }
    ck_assert_uint_eq(by_stage, all);
}
END_TEST

START_TEST(test_customers_bad_parameters)
{
    set_model();
    static const char *const bad[] = {
        "/v1/customers?sort=ltv",
        "/v1/customers?sort=--p_alive",
        "/v1/customers?limit=0",
        "/v1/customers?limit=1001",
        "/v1/customers?limit=ten",
        "/v1/customers?limit=2.5",
        "/v1/customers?cursor=nonsense",
        "/v1/customers?cursor=p_alive.3fe0000000000000.31",       /* other sort */
        "/v1/customers?cursor=customer_id.7ff8000000000000.31",   /* NaN key */
        "/v1/customers?cursor=customer_id.0000000000000000.3",    /* odd hex */
        "/v1/customers?cursor=customer_id.0000000000000000.0031", /* NUL byte */
        "/v1/customers?churn_risk=extreme",
        "/v1/customers?lifecycle_stage=old",
        "/v1/customers?at_risk=yes",
        "/v1/customers?as_of=1997-13-01",
        "/v1/customers?horizon_days=0",
        "/v1/customers?discount_rate=2",
        "/v1/customers?limt=5",
        "/v1/customers/1?as_of=yesterday",
        "/v1/customers/1?as_of=1997-10-01", /* after LTVD_AS_OF */
        "/v1/customers?as_of=1998-01-01",
        "/v1/customers/1?sort=p_alive",
        "/v1/customers/1?margin=-1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_invalid(bad[i]);
}
END_TEST

/* Customer 1 of the sample: purchases on 1997-01-01, -01-18, -08-02 and
 * later ones after 1997-09-30. */
START_TEST(test_customers_as_of)
{
    set_model();
    testhttp_response r;
    get("/v1/customers/1", 200, &r); /* as of the configured 1997-09-30 */
    json_t *s = json_object_get(r.json, "summary");
    ck_assert_int_eq(testhttp_jint(s, "frequency"), 2);
    ck_assert_str_eq(testhttp_jstr(s, "last_purchase"), "1997-08-02");
    testhttp_response_free(&r);

    get("/v1/customers/1?as_of=1997-02-01", 200, &r); /* recomputed from PostgreSQL */
    s = json_object_get(r.json, "summary");
    ck_assert_str_eq(testhttp_jstr(r.json, "as_of"), "1997-02-01");
    ck_assert_int_eq(testhttp_jint(s, "frequency"), 1);
    ck_assert_str_eq(testhttp_jstr(s, "last_purchase"), "1997-01-18");
    ck_assert_double_eq_tol(testhttp_jnum(s, "T"), 31 / 7.0, 1e-12);
    testhttp_response_free(&r);
    get("/v1/customers/1?as_of=1997-02-01T23:59:59Z", 200, &r); /* RFC 3339 */
    ck_assert_str_eq(testhttp_jstr(r.json, "as_of"), "1997-02-01");
    testhttp_response_free(&r);

    get("/v1/customers/1?as_of=1996-12-31", 404, &r);
    ck_assert_str_eq(testhttp_jstr(r.json, "type"),
                     "urn:ltvd:problem:customer-not-found");
    testhttp_response_free(&r);

    /* The list as of a past day: only customers by then, each as of then. */
    get("/v1/customers?as_of=1997-01-01&limit=1000&sort=-frequency", 200, &r);
    json_t *items = json_object_get(r.json, "customers"), *c;
    size_t i;
    ck_assert_uint_gt(json_array_size(items), 0);
    json_array_foreach(items, i, c)
    {
        s = json_object_get(c, "summary");
        ck_assert_str_eq(testhttp_jstr(s, "first_purchase"), "1997-01-01");
        ck_assert_int_eq(testhttp_jint(s, "frequency"), 0);
    }
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    testhttp_response_free(&r);
}
END_TEST

static void post(const char *body, long long n_new)
{
    testhttp_response r;
    testhttp_request(t.port, "POST", "/v1/transactions", body, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_int_eq(testhttp_jint(r.json, "new"), n_new);
    testhttp_response_free(&r);
}

/* With LTVD_AS_OF fixed, purchases after it are stored but change no
 * score; a late-arriving purchase before it counts at once. */
START_TEST(test_customers_fixed_as_of_ingest)
{
    set_model();
    post("{\"transactions\":[{\"id\":\"late1\",\"customer_id\":\"1\","
         "\"occurred_at\":\"1997-12-01T10:00:00Z\",\"amount\":5},"
         "{\"id\":\"late2\",\"customer_id\":\"nobody-yet\","
         "\"occurred_at\":\"1997-12-01T10:00:00Z\",\"amount\":5}]}",
         2);
    testhttp_response r;
    get("/v1/customers/1", 200, &r);
    ck_assert_int_eq(testhttp_jint(json_object_get(r.json, "summary"), "frequency"), 2);
    testhttp_response_free(&r);
    get("/v1/customers/nobody-yet", 404, &r);
    testhttp_response_free(&r);

    post("{\"transactions\":[{\"id\":\"back1\",\"customer_id\":\"1\","
         "\"occurred_at\":\"1997-09-01T10:00:00Z\",\"amount\":7}]}",
         1);
    get("/v1/customers/1", 200, &r);
    json_t *s = json_object_get(r.json, "summary");
    ck_assert_int_eq(testhttp_jint(s, "frequency"), 3);
    ck_assert_str_eq(testhttp_jstr(s, "last_purchase"), "1997-09-01");
    testhttp_response_free(&r);
}
END_TEST

/* What another writer stores (here a batch on a connection of the test's
 * own, as `ltvd import` does) reaches the cache through the catch-up; the
 * service's metrics count what it ingested itself. */
START_TEST(test_customers_catch_up_and_metrics)
{
    set_model();
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "cache_sync_ms", "50", err));
    ck_assert(app_sync_begin(t.app));
    store_item items[] = {
        {"i1", "imported-1", "1997-09-01T08:00:00Z", 0, "12.50", NULL, NULL},
        {"i2", "imported-1", "1997-09-20T08:00:00Z", 0, "20.00", NULL, NULL},
        {"i3", "1", "1997-09-29T08:00:00Z", 0, "3.00", NULL, NULL},
    };
    store_db *db = testhttp_db_open(&t);
    store_batch_result br;
    ck_assert_msg(store_insert_batch(db, items, 3, NULL, &br) == 0, "%s",
                  store_db_error(db));
    store_batch_result_free(&br);
    store_db_close(db);
    testhttp_response r;
    int tries = 0;
    for (;; tries++) {
        testhttp_request(t.port, "GET", "/v1/customers/imported-1", NULL, &r);
        if (r.status == 200 || tries == 200)
            break;
        testhttp_response_free(&r);
        struct timespec ms50 = {0, 50000000};
        nanosleep(&ms50, NULL);
    }
    ck_assert_msg(r.status == 200, "not caught up after 10 s: %s", r.body);
    ck_assert_int_eq(testhttp_jint(json_object_get(r.json, "summary"), "frequency"), 1);
    testhttp_response_free(&r);
    get("/v1/customers/1", 200, &r); /* the same pass brought customer 1's */
    ck_assert_str_eq(testhttp_jstr(json_object_get(r.json, "summary"), "last_purchase"),
                     "1997-09-29");
    testhttp_response_free(&r);

    post("{\"transactions\":[{\"id\":\"m1\",\"customer_id\":\"m\","
         "\"occurred_at\":\"1997-09-01T10:00:00Z\",\"amount\":5},"
         "{\"id\":\"i1\",\"customer_id\":\"imported-1\","
         "\"occurred_at\":\"1997-09-01T08:00:00Z\",\"amount\":12.5}]}",
         1);
    get("/metrics", 200, &r);
    static const char *const lines[] = {
        "\nltvd_ingest_batches_total 1\n",
        "\nltvd_ingest_transactions_total{result=\"new\"} 1\n",
        "\nltvd_ingest_transactions_total{result=\"duplicate\"} 1\n",
        "\nltvd_cache_customers 2359\n",
        "\nltvd_model_version 7\n",
        "\nltvd_refits_total{result=\"failed\"} 0\n",
        "\nltvd_refit_running 0\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        ck_assert_msg(strstr(r.body, lines[i]) != NULL, "no %s in /metrics",
                      lines[i] + 1);
    testhttp_response_free(&r);
}
END_TEST

Suite *suite_customers(void)
{
    Suite *s = suite_create("customers");
    TCase *tc = tcase_create("customers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_customers_pages);
    tcase_add_test(tc, test_customers_filters);
    tcase_add_test(tc, test_customers_bad_parameters);
    tcase_add_test(tc, test_customers_as_of);
    tcase_add_test(tc, test_customers_fixed_as_of_ingest);
    tcase_add_test(tc, test_customers_catch_up_and_metrics);
    suite_add_tcase(s, tc);
    return s;
}

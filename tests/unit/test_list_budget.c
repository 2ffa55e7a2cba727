/* GET /v1/customers with bounded work (docs/lists.md), in-process against a
 * real PostgreSQL on the CDNOW sample (2357 customers, the published BG/NBD
 * and Gamma-Gamma parameters, weekly, as of 1997-09-30):
 *  - every page, for every sort and several filters and options, equals the
 *    order found by scoring each customer directly (app_score_compute), both
 *    from the kept score table and after ingest made rows stale;
 *  - the 400 of each bound: horizon_days past list_horizon_days_max, limit
 *    past 1000, per-request scoring past list_rescore_max;
 *  - 503 too-busy over the list share of the threads, 503 budget-exceeded
 *    past list_budget_ms, both with Retry-After;
 *  - /healthz and a cached read answer (within 2 s: only to catch a hang)
 *    while long lists hold their share of the threads; a list whose client
 *    leaves gives its slot back. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/customer_query.h"
#include "app/list_table.h"
#include "cache/cache.h"
#include "model/bgnbd.h"
#include "store/ingest.h"
#include "summary/summary.h"
#include "testhttp.h"

#define CDNOW_TXNS "tests/data/cdnow_sample_transactions.csv"
#define PAGE 80
#define AS_OF_DAY 10134 /* 1997-09-30 */
/* A list that scores every customer at a 100-year horizon: seconds. */
#define LONG_LIST "/v1/customers?sort=-predicted_ltv&horizon_days=36500&limit=10"

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

/* Starts the service on the CDNOW sample with the config settings given as
 * name, value pairs (NULL-terminated), the model set. */
static void start(const char *const *settings)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&t, "ltvd_list_budget");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "period", "week", err));
    ck_assert(config_set(&t.cfg, "as_of", "1997-09-30", err));
    for (size_t i = 0; settings != NULL && settings[i] != NULL; i += 2)
        ck_assert_msg(config_set(&t.cfg, settings[i], settings[i + 1], err), "%s", err);
    testhttp_app_start(&t, false); /* migrates */
    testhttp_app_stop(&t);
    testhttp_load_cdnow(&t, CDNOW_TXNS);
    testhttp_app_start(&t, false);
    set_model();
    ck_assert(app_list_start(t.app->dflt));
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (at most 10 s) for the score table of the current model and day. */
static void wait_table(void)
{
    ck_assert_uint_gt(testhttp_wait_ranked(&t, 10000), 0);
}

static void get(const char *target, int status, testhttp_response *r)
{
    testhttp_request(t.port, "GET", target, NULL, r);
    ck_assert_msg(r->status == status, "GET %s: %d %s", target, r->status, r->body);
}

/* GET target is the problem slug with status, and its detail names `word`. */
static void assert_problem(const char *target, int status, const char *slug,
                           const char *word)
{
    testhttp_response r;
    get(target, status, &r);
    testhttp_assert_problem(&r, status, slug);
    const char *detail = testhttp_jstr(r.json, "detail");
    ck_assert_msg(strstr(detail, word) != NULL, "%s: \"%s\" does not name %s", target,
                  detail, word);
    if (status == 503)
        ck_assert_msg(testhttp_header(&r, "Retry-After") != NULL, "%s: no Retry-After",
                      target);
    testhttp_response_free(&r);
}

/* ------------------------------------------------------------ the reference */

typedef struct ref_item {
    char id[CACHE_ID_MAX + 1];
    double key;
    double p_alive, ltv;
} ref_item;

typedef struct ref_list {
    const app_list_query *q;
    const cache_model *m;
    ref_item *items;
    size_t n, cap;
} ref_list;

static double ref_key(app_list_key k, const cache_score_result *r)
{
    switch (k) {
    case APP_KEY_P_ALIVE:
        return r->p_alive;
    case APP_KEY_EXPECTED:
        return r->expected;
    case APP_KEY_LTV:
        return r->has_spend ? r->clv : 0;
    case APP_KEY_SPEND:
        return r->has_spend ? r->expected_spend : 0;
    case APP_KEY_FREQUENCY:
        return r->x;
    case APP_KEY_RECENCY:
        return r->t_x;
    case APP_KEY_LAST_PURCHASE:
        return r->summary.last_day;
    default:
        return 0;
    }
}

/* Scores one customer directly, as GET /v1/customers/{id} does. */
static int ref_one(const char *id, const cache_summary *s, void *arg)
{
    ref_list *l = arg;
    const app_list_query *q = l->q;
    app_score_row row;
    if (app_score_compute(l->m, s, &q->o, &t.cfg, &row) != GSL_SUCCESS)
        return 0;
    if ((q->risk >= 0 && (int)row.risk != q->risk) ||
        (q->stage >= 0 && (int)row.stage != q->stage) ||
        (q->at_risk >= 0 && (row.risk == APP_RISK_HIGH) != (q->at_risk == 1)))
        return 0;
    ck_assert_uint_lt(l->n, l->cap);
    ref_item *it = &l->items[l->n++];
    snprintf(it->id, sizeof it->id, "%s", id);
    it->key = ref_key(q->key, &row.r);
    it->p_alive = row.r.p_alive;
    it->ltv = row.r.clv;
    return 0;
}

static const app_list_query *sort_q;

static int ref_cmp(const void *a, const void *b)
{
    const ref_item *x = a, *y = b;
    if (sort_q->key != APP_KEY_CUSTOMER_ID && x->key != y->key)
        return (x->key < y->key) != sort_q->desc ? -1 : 1;
    int c = strcmp(x->id, y->id);
    return sort_q->key == APP_KEY_CUSTOMER_ID && sort_q->desc ? -c : c;
}

/* ------------------------------------------------------------ the walks */

static const char *const key_names[APP_KEY_COUNT] = {
    "customer_id", "p_alive", "expected_purchases", "predicted_ltv", "expected_spend",
    "frequency",   "recency", "last_purchase"};

/* The query of `filter` (a query string of churn_risk, lifecycle_stage,
 * at_risk, horizon_days, margin) for the reference. */
static void query_of(const char *filter, app_list_key key, bool desc, app_list_query *q)
{
    *q = (app_list_query){
        .o = {t.cfg.horizon_days, t.cfg.discount_rate, t.cfg.margin, AS_OF_DAY},
        .key = key,
        .desc = desc,
        .risk = -1,
        .stage = -1,
        .at_risk = -1};
    const char *v;
    if ((v = strstr(filter, "churn_risk=")) != NULL)
        q->risk = strncmp(v + 11, "high", 4) == 0  ? APP_RISK_HIGH
                  : strncmp(v + 11, "low", 3) == 0 ? APP_RISK_LOW
                                                   : APP_RISK_MEDIUM;
    if ((v = strstr(filter, "lifecycle_stage=established")) != NULL)
        q->stage = APP_STAGE_ESTABLISHED;
    if ((v = strstr(filter, "at_risk=")) != NULL)
        q->at_risk = strncmp(v + 8, "true", 4) == 0;
    if ((v = strstr(filter, "horizon_days=")) != NULL)
        q->o.horizon_days = atol(v + 13);
    if ((v = strstr(filter, "margin=")) != NULL)
        q->o.margin = atof(v + 7);
}

/* Walks every page of sort (key, desc) with filter and compares it, item by
 * item, with the reference. */
static void walk_equal(const char *filter, app_list_key key, bool desc)
{
    app_list_query q;
    query_of(filter, key, desc, &q);
    ref_list l = {.q = &q,
                  .m = cache_snapshot_acquire(t.app->dflt->cache),
                  .cap = cache_count(t.app->dflt->cache)};
    l.items = calloc(l.cap + 1, sizeof *l.items);
    ck_assert(l.items != NULL && l.m != NULL);
    ck_assert_int_eq(cache_foreach(t.app->dflt->cache, ref_one, &l), 0);
    sort_q = &q;
    qsort(l.items, l.n, sizeof *l.items, ref_cmp);
    char cursor[1024] = "", target[1400];
    size_t seen = 0;
    for (bool more = true; more;) {
        snprintf(target, sizeof target, "/v1/customers?sort=%s%s&limit=%d%s%s%s%s",
                 desc ? "-" : "", key_names[key], PAGE, filter[0] ? "&" : "", filter,
                 cursor[0] ? "&cursor=" : "", cursor);
        testhttp_response r;
        get(target, 200, &r);
        json_t *items = json_object_get(r.json, "customers"), *c;
        size_t i;
        json_array_foreach(items, i, c)
        {
            ck_assert_msg(seen < l.n, "%s: more items than customers", target);
            const ref_item *want = &l.items[seen++];
            ck_assert_msg(strcmp(testhttp_jstr(c, "customer_id"), want->id) == 0,
                          "%s: item %zu is %s, scoring each customer gives %s", target,
                          seen - 1, testhttp_jstr(c, "customer_id"), want->id);
            ck_assert_double_eq(testhttp_jnum(c, "p_alive"), want->p_alive);
            ck_assert_double_eq(testhttp_jnum(c, "predicted_ltv"), want->ltv);
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        more = !json_is_null(next);
        snprintf(cursor, sizeof cursor, "%s", more ? json_string_value(next) : "");
        testhttp_response_free(&r);
    }
    ck_assert_msg(seen == l.n, "sort %s%s %s: %zu items, %zu expected", desc ? "-" : "",
                  key_names[key], filter, seen, l.n);
    cache_snapshot_release(l.m);
    free(l.items);
}

/* ltvd_list_pages_total{walk="how"} from /metrics. */
static unsigned long long walks(const char *how)
{
    testhttp_response r;
    get("/metrics", 200, &r);
    char line[80];
    snprintf(line, sizeof line, "\nltvd_list_pages_total{walk=\"%s\"} ", how);
    const char *v = strstr(r.body, line);
    ck_assert_msg(v != NULL, "no %s in /metrics", line + 1);
    unsigned long long n = strtoull(v + strlen(line), NULL, 10);
    testhttp_response_free(&r);
    return n;
}

static void walk_all_sorts(const char *filter)
{
    for (int k = 0; k < APP_KEY_COUNT; k++) {
        walk_equal(filter, (app_list_key)k, false);
        walk_equal(filter, (app_list_key)k, true);
    }
}

START_TEST(test_list_budget_pages_equal)
{
    start(NULL);
    wait_table();
    static const char *const filters[] = {"",
                                          "churn_risk=high",
                                          "lifecycle_stage=established",
                                          "at_risk=false&margin=0.5",
                                          "horizon_days=730",
                                          "churn_risk=medium&horizon_days=90"};
    unsigned long long ranked = walks("rank"), passes = walks("pass");
    for (size_t i = 0; i < 3; i++)
        walk_all_sorts(filters[i]);
    /* every sort but customer_id walks the cells of its rank, whatever the
     * filter (a pass over the table only for predicted_ltv at another
     * margin, below) */
    ck_assert_uint_gt(walks("rank"), ranked);
    ck_assert_uint_eq(walks("pass"), passes);
    for (size_t i = 3; i < sizeof filters / sizeof filters[0]; i++)
        walk_all_sorts(filters[i]);
}
END_TEST

/* Without the helper thread (list_score_helper = false), pages at a custom
 * horizon are the same, item by item (each page of PAGE has more than the
 * 64 customers to score that start a helper when it is on). */
START_TEST(test_list_budget_pages_equal_no_helper)
{
    static const char *const settings[] = {"list_score_helper", "false", NULL};
    start(settings);
    wait_table();
    walk_equal("horizon_days=700", APP_KEY_P_ALIVE, true);
    walk_equal("horizon_days=700&churn_risk=low", APP_KEY_CUSTOMER_ID, false);
}
END_TEST

/* Ingest while the table keeps up (list_refresh_ms 50): the ranks take in
 * the changed rows by merging, and every page, walked in the rank from the
 * journal position it was built at, still equals scoring each customer. */
START_TEST(test_list_budget_ranks_follow_ingest)
{
    start((const char *const[]){"list_refresh_ms", "50", NULL});
    wait_table();
    char body[4096];
    for (int round = 0; round < 6; round++) {
        /* existing customers buy again (their keys move), new ones arrive,
         * with ties: several customers of one history */
        int n = snprintf(body, sizeof body, "{\"transactions\":[");
        for (int i = 0; i < 12; i++)
            n += snprintf(body + n, sizeof body - (size_t)n,
                          "%s{\"id\":\"r%d-%d\",\"customer_id\":\"%s%d\","
                          "\"occurred_at\":\"1997-09-%02dT10:00:00Z\",\"amount\":%d}",
                          i > 0 ? "," : "", round, i, i % 2 == 0 ? "" : "zz-new-",
                          i % 2 == 0 ? 100 * round + 7 * i + 1 : round * 10 + i,
                          10 + round + i % 3, 5 + i % 4);
        snprintf(body + n, sizeof body - (size_t)n, "]}");
        testhttp_response r;
        testhttp_request(t.port, "POST", "/v1/transactions", body, &r);
        ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
        testhttp_response_free(&r);
        if (round % 2 == 1)
            sleep_ms(300); /* the keeper merges the changes into the ranks */
        walk_equal("", APP_KEY_P_ALIVE, true);
        walk_equal("", APP_KEY_FREQUENCY, true);
        walk_equal("churn_risk=low", APP_KEY_LTV, false);
        walk_equal("", APP_KEY_LAST_PURCHASE, round % 2 == 0);
    }
    ck_assert_uint_eq(walks("pass"), 0);
}
END_TEST

/* After ingest a customer's row is stale until the table catches up: the
 * list scores that customer itself, so pages never lag the cache. */
START_TEST(test_list_budget_pages_after_ingest)
{
    start((const char *const[]){"list_refresh_ms", "60000", NULL}); /* no catching up */
    wait_table();
    testhttp_response r;
    testhttp_request(t.port, "POST", "/v1/transactions",
                     "{\"transactions\":[{\"id\":\"new1\",\"customer_id\":\"1\","
                     "\"occurred_at\":\"1997-09-30T10:00:00Z\",\"amount\":500},"
                     "{\"id\":\"new2\",\"customer_id\":\"brand-new\","
                     "\"occurred_at\":\"1997-09-28T10:00:00Z\",\"amount\":5}]}",
                     &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    get("/v1/customers?sort=-last_purchase&limit=1", 200, &r);
    json_t *first = json_array_get(json_object_get(r.json, "customers"), 0);
    ck_assert_str_eq(testhttp_jstr(first, "customer_id"), "1");
    testhttp_response_free(&r);
    walk_equal("", APP_KEY_LAST_PURCHASE, true);
    walk_equal("", APP_KEY_LTV, true);
    walk_equal("churn_risk=low", APP_KEY_CUSTOMER_ID, false);
    walk_equal("", APP_KEY_CUSTOMER_ID, true);
}
END_TEST

/* After a refit, until the new snapshot's table is computed (never here:
 * list_refresh_ms 60 s), a list that only the table can serve answers
 * from the previous table, scored with the previous snapshot, instead of
 * 503: each item names that version. */
START_TEST(test_list_budget_previous_table)
{
    start((const char *const[]){"list_refresh_ms", "60000", "list_rescore_max", "100",
                                NULL});
    wait_table();
    cache_model m = {.model = &bgnbd_model,
                     .params = {0.3, 5.0, 0.7, 2.0},
                     .has_spend = true,
                     .gg_params = {6.248802, 3.744588, 15.447748},
                     .period_days = 7,
                     .version = 8};
    ck_assert_int_eq(cache_snapshot_set(t.app->dflt->cache, &m), CACHE_OK);
    testhttp_response r;
    get("/v1/customers?sort=-predicted_ltv&limit=5", 200, &r);
    json_t *items = json_object_get(r.json, "customers"), *c;
    size_t i;
    ck_assert_uint_eq(json_array_size(items), 5);
    json_array_foreach(items, i, c)
    {
        json_t *model = json_object_get(c, "model");
        ck_assert_int_eq(json_integer_value(json_object_get(model, "version")), 7);
    }
    testhttp_response_free(&r);
    /* a customer's own document is the new snapshot's */
    get("/v1/customers/1", 200, &r);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(r.json, "model"), "version")),
        8);
    testhttp_response_free(&r);
}
END_TEST

/* ---------------------------------------------------------- segments */

typedef struct seg_ref {
    const cache_model *m;
    app_score_opts o;
    long counts[3][APP_STAGES];
} seg_ref;

static int seg_one(const char *id, const cache_summary *s, void *arg)
{
    (void)id;
    seg_ref *g = arg;
    app_score_row row;
    if (app_score_compute(g->m, s, &g->o, &t.cfg, &row) == GSL_SUCCESS)
        g->counts[row.risk][row.stage]++;
    return 0;
}

/* GET /v1/segments equals classifying every customer directly. */
static void segments_equal(void)
{
    seg_ref g = {.m = cache_snapshot_acquire(t.app->dflt->cache),
                 .o = {t.cfg.horizon_days, t.cfg.discount_rate, t.cfg.margin, AS_OF_DAY}};
    ck_assert_int_eq(cache_foreach(t.app->dflt->cache, seg_one, &g), 0);
    cache_snapshot_release(g.m);
    testhttp_response r;
    get("/v1/segments", 200, &r);
    json_t *pairs = json_object_get(r.json, "segments"), *p;
    size_t i;
    long total = 0, by_risk[3] = {0};
    ck_assert_uint_eq(json_array_size(pairs), 15);
    json_array_foreach(pairs, i, p)
    {
        long want = g.counts[i / APP_STAGES][i % APP_STAGES];
        long got = (long)json_integer_value(json_object_get(p, "customers"));
        ck_assert_msg(got == want, "segment %s/%s: %ld, scoring each customer gives %ld",
                      testhttp_jstr(p, "churn_risk"), testhttp_jstr(p, "lifecycle_stage"),
                      got, want);
        total += want;
        by_risk[i / APP_STAGES] += want;
    }
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "customers")), total);
    json_t *risk = json_object_get(r.json, "churn_risk");
    ck_assert_int_eq(json_integer_value(json_object_get(risk, "high")),
                     by_risk[APP_RISK_HIGH]);
    ck_assert_str_eq(testhttp_jstr(r.json, "as_of"), "1997-09-30");
    testhttp_response_free(&r);
}

/* Segment counts from the ranks' cells, before and after ingest that the
 * table has not caught up with (list_refresh_ms 60 s: the changed
 * customers are counted apart), equal classifying every customer. */
START_TEST(test_list_budget_segments)
{
    start((const char *const[]){"list_refresh_ms", "60000", NULL});
    wait_table();
    segments_equal();
    unsigned long long passes = walks("pass");
    testhttp_response r;
    testhttp_request(t.port, "POST", "/v1/transactions",
                     "{\"transactions\":[{\"id\":\"s1\",\"customer_id\":\"1\","
                     "\"occurred_at\":\"1997-09-30T10:00:00Z\",\"amount\":500},"
                     "{\"id\":\"s2\",\"customer_id\":\"seg-new\","
                     "\"occurred_at\":\"1997-09-28T10:00:00Z\",\"amount\":5},"
                     "{\"id\":\"s3\",\"customer_id\":\"seg-later\","
                     "\"occurred_at\":\"1997-10-28T10:00:00Z\",\"amount\":5}]}",
                     &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    segments_equal();
    /* more changed customers than one look at the clock (64) */
    char body[16384];
    int n = snprintf(body, sizeof body, "{\"transactions\":[");
    for (int i = 0; i < 70; i++)
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "%s{\"id\":\"m%d\",\"customer_id\":\"seg-many-%d\","
                      "\"occurred_at\":\"1997-09-0%dT10:00:00Z\",\"amount\":%d}",
                      i > 0 ? "," : "", i, i, 1 + i % 9, 3 + i % 7);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    testhttp_request(t.port, "POST", "/v1/transactions", body, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    segments_equal();
    assert_problem("/v1/segments?x=1", 400, "invalid-parameter", "x");
    ck_assert_uint_eq(walks("pass"), passes);
}
END_TEST

START_TEST(test_list_budget_bounds)
{
    start((const char *const[]){"list_rescore_max", "100", NULL});
    wait_table();
    testhttp_response r;
    assert_problem("/v1/customers?horizon_days=1096", 400, "invalid-parameter",
                   "list_horizon_days_max");
    get("/v1/customers?horizon_days=1095&limit=100&sort=-p_alive", 200, &r);
    testhttp_response_free(&r);
    assert_problem("/v1/customers?limit=1001", 400, "invalid-parameter", "1000");
    /* per-request scoring of all 2357 customers, past list_rescore_max */
    assert_problem("/v1/customers?as_of=1997-06-01", 400, "invalid-parameter",
                   "list_rescore_max");
    assert_problem("/v1/customers?sort=-predicted_ltv&horizon_days=730", 400,
                   "invalid-parameter", "list_rescore_max");
    assert_problem("/v1/customers?sort=expected_purchases&discount_rate=0.05", 400,
                   "invalid-parameter", "list_rescore_max");
    /* the same options served from the table when the sort allows it */
    get("/v1/customers?sort=-p_alive&horizon_days=730&discount_rate=0.05", 200, &r);
    testhttp_response_free(&r);
    get("/v1/customers?sort=-predicted_ltv&margin=0.3", 200, &r);
    testhttp_response_free(&r);
}
END_TEST

START_TEST(test_list_budget_exceeded)
{
    start((const char *const[]){"list_horizon_days_max", "36500", "list_budget_ms", "100",
                                NULL});
    double t0 = now_s();
    assert_problem(LONG_LIST, 503, "budget-exceeded", "list_budget_ms");
    ck_assert_msg(now_s() - t0 < 2, "the budget of 100 ms took %.1f s", now_s() - t0);
}
END_TEST

/* A long list on its own connection; the answer is read by finish_long. */
static int start_long(void)
{
    int fd = testhttp_dial(t.port);
    static const char req[] = "GET " LONG_LIST " HTTP/1.1\r\nHost: x\r\n\r\n";
    testhttp_send_all(fd, req, sizeof req - 1);
    return fd;
}

static void wait_running(int n)
{
    for (int i = 0; i < 500 && app_list_running(t.app->dflt) != n; i++)
        sleep_ms(10);
    ck_assert_int_eq(app_list_running(t.app->dflt), n);
}

/* GET target answers status within 2 s (a hang, not a timing, is the fault). */
static void answers(const char *target, int status)
{
    double t0 = now_s();
    testhttp_response r;
    get(target, status, &r);
    testhttp_response_free(&r);
    ck_assert_msg(now_s() - t0 < 2, "GET %s took %.1f s", target, now_s() - t0);
}

START_TEST(test_list_budget_share_and_health)
{
    start((const char *const[]){"thread_pool_size", "4", "list_horizon_days_max", "36500",
                                "list_budget_ms", "60000", NULL});
    ck_assert_int_eq(app_list_slots(&t.cfg), 2);
    int fd[2] = {start_long(), -1};
    wait_running(1);
    fd[1] = start_long();
    wait_running(2);
    /* over the share: refused at once */
    assert_problem("/v1/customers", 503, "too-busy", "list_thread_share");
    for (int i = 0; i < 5; i++) {
        answers("/healthz", 200);
        answers("/v1/customers/1", 200);
    }
    /* the clients leave: their lists stop and give their slots back */
    close(fd[0]);
    close(fd[1]);
    wait_running(0);
    answers("/v1/customers", 200);
}
END_TEST

Suite *suite_list_budget(void)
{
    Suite *s = suite_create("list_budget");
    TCase *tc = tcase_create("list_budget");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_list_budget_pages_equal);
    tcase_add_test(tc, test_list_budget_pages_equal_no_helper);
    tcase_add_test(tc, test_list_budget_pages_after_ingest);
    tcase_add_test(tc, test_list_budget_ranks_follow_ingest);
    tcase_add_test(tc, test_list_budget_previous_table);
    tcase_add_test(tc, test_list_budget_segments);
    tcase_add_test(tc, test_list_budget_bounds);
    tcase_add_test(tc, test_list_budget_exceeded);
    tcase_add_test(tc, test_list_budget_share_and_health);
    suite_add_tcase(s, tc);
    return s;
}

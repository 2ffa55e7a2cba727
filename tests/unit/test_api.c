/* The v1 API end to end, in-process: the real server (router, handlers, app)
 * against a real PostgreSQL, over raw sockets. POST /v1/transactions (counts,
 * idempotency, all-or-nothing 422, 400, 413) and GET /v1/customers/{id}
 * (no model yet, then a persisted snapshot loaded by a restart, scores equal
 * to cache_score_summary's for the same summary, 404). Needs DATABASE_URL;
 * works in a database of its own, ltvd_api_<pid>, dropped at the end. Run
 * from the repository root (migrations/ is read from there). */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "model/bgnbd.h"
#include "store/db.h"
#include "summary/summary.h"
#include "testdb.h"
#include "testhttp.h"

static testhttp_app svc; /* the service on ltvd_api_<pid> */

/* ---- fixture ----------------------------------------------------------------- */

static void admin_exec(const char *fmt, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, fmt, name);
    testdb_admin_exec(svc.base_url, sql);
}

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&svc, "ltvd_api");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "max_batch_items", "5", err));
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert_msg(config_set(&svc.cfg, "as_of", "2025-12-31", err), "%s", err);
    testhttp_app_start(&svc, false);
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* ---- the client ---------------------------------------------------------------- */

typedef testhttp_response response;

static void request(const char *method, const char *target, const char *body, response *r)
{
    testhttp_request(svc.port, method, target, body, r);
}

static void response_free(response *r)
{
    testhttp_response_free(r);
}

static void assert_close(double got, double want)
{
    ck_assert_msg(fabs(got - want) <= 1e-12 * fmax(1, fabs(want)), "got %.17g want %.17g",
                  got, want);
}

/* ---- the scenario ---------------------------------------------------------- */

static const char *const batch1 = testhttp_batch;

static void check_counts(const char *body, long long received, long long n_new,
                         long long dup)
{
    response r;
    request("POST", "/v1/transactions", body, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    ck_assert_int_eq(testhttp_jint(r.json, "received"), received);
    ck_assert_int_eq(testhttp_jint(r.json, "new"), n_new);
    ck_assert_int_eq(testhttp_jint(r.json, "duplicates"), dup);
    response_free(&r);
}

static void check_refusals(void)
{
    response r;
    /* one bad item among good ones: 422 naming it, nothing written */
    request("POST", "/v1/transactions",
            "{\"transactions\":["
            "{\"id\":\"n1\",\"customer_id\":\"c3\",\"occurred_at\":\"2025-01-01T00:00:"
            "00Z\",\"amount\":1},"
            "{\"id\":\"n2\",\"customer_id\":\"c3\",\"occurred_at\":\"2025-01-02T00:00:"
            "00Z\",\"amount\":-1}]}",
            &r);
    testhttp_assert_problem(&r, 422, "validation-failed");
    json_t *errs = json_object_get(r.json, "errors");
    ck_assert_int_eq(json_array_size(errs), 1);
    ck_assert_int_eq(testhttp_jint(json_array_get(errs, 0), "index"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errs, 0), "field")),
                     "amount");
    ck_assert_ptr_nonnull(
        json_string_value(json_object_get(json_array_get(errs, 0), "reason")));
    response_free(&r);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 5);
    ck_assert_int_eq(testhttp_count_rows(&svc, "customers"), 2);

    request("POST", "/v1/transactions", "{\"transactions\":[", &r);
    testhttp_assert_problem(&r, 400, "malformed-json");
    response_free(&r);

    char big[2048] = "{\"transactions\":[";
    for (int i = 0; i < 6; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big),
                 "%s{\"id\":\"m%d\",\"customer_id\":\"c4\",\"occurred_at\":"
                 "\"2025-01-01T00:00:00Z\",\"amount\":1}",
                 i ? "," : "", i);
    strcat(big, "]}");
    request("POST", "/v1/transactions", big, &r);
    testhttp_assert_problem(&r, 413, "too-many-items");
    response_free(&r);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 5);
}

/* The same model, built here rather than read back. */
static cache_model cdnow_model(void)
{
    cache_model m = {.model = &bgnbd_model,
                     .params = {0.243, 4.414, 0.793, 2.426},
                     .has_spend = true,
                     .gg_params = {6.25, 3.74, 15.44},
                     .period_days = 7};
    return m;
}

/* GETs c1 with query and checks every score against cache_score_summary. */
static void check_scores(const char *query, long horizon_days, double d, double margin)
{
    int64_t first, last, as_of;
    ck_assert_int_eq(summary_parse_day("2025-01-06", &first), 0);
    ck_assert_int_eq(summary_parse_day("2025-06-02", &last), 0);
    ck_assert_int_eq(summary_parse_day("2025-12-31", &as_of), 0);
    cache_summary s = {(int32_t)first, (int32_t)last, 3, 502500, 0, 0};
    cache_model m = cdnow_model();
    clv_options clv = {(unsigned)lround(horizon_days / 30.0), d, margin, CLV_MONTH_WEEKS};
    cache_score_result want, want30;
    ck_assert_int_eq(
        cache_score_summary(&m, &s, as_of, horizon_days / 7.0, 30 / 7.0, &clv, &want), 0);
    ck_assert_int_eq(
        cache_score_summary(&m, &s, as_of, 30 / 7.0, 30 / 7.0, NULL, &want30), 0);

    char target[128];
    snprintf(target, sizeof target, "/v1/customers/c1%s", query);
    response r;
    request("GET", target, NULL, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(stderr, "%s\n", r.body);
    json_t *j = r.json, *sum = json_object_get(j, "summary");
    ck_assert_str_eq(json_string_value(json_object_get(j, "as_of")), "2025-12-31");
    assert_close(testhttp_jnum(sum, "frequency"), 2);
    assert_close(testhttp_jnum(sum, "recency"), want.t_x);
    assert_close(testhttp_jnum(sum, "T"), want.T);
    assert_close(testhttp_jnum(sum, "monetary_value"), 25.125);
    ck_assert_str_eq(json_string_value(json_object_get(sum, "first_purchase")),
                     "2025-01-06");
    ck_assert_str_eq(json_string_value(json_object_get(sum, "last_purchase")),
                     "2025-06-02");
    assert_close(testhttp_jnum(j, "p_alive"), want.p_alive);
    assert_close(testhttp_jnum(j, "expected_purchases"), want.expected);
    assert_close(testhttp_jnum(j, "p_purchase"), want30.p_purchase);
    assert_close(testhttp_jnum(j, "expected_spend"), want.expected_spend);
    assert_close(testhttp_jnum(j, "predicted_ltv"), want.clv);
    ck_assert_int_eq(testhttp_jint(j, "horizon_days"), horizon_days);
    const char *risk = want.p_alive < svc.cfg.churn_high_below     ? "high"
                       : want.p_alive < svc.cfg.churn_medium_below ? "medium"
                                                                   : "low";
    ck_assert_str_eq(json_string_value(json_object_get(j, "churn_risk")), risk);
    ck_assert(json_is_boolean(json_object_get(j, "at_risk")));
    ck_assert_int_eq(testhttp_jint(json_object_get(j, "model"), "version"), 1);
    response_free(&r);
}

/* Polls GET /readyz every 50 ms, up to 5 s, until it answers status (the
 * readiness check runs in the background, every readiness_interval_ms). */
static void wait_readyz(int status)
{
    response r = {0};
    for (int i = 0; i < 100; i++) {
        request("GET", "/readyz", NULL, &r);
        if (r.status == status)
            break;
        response_free(&r);
        usleep(50000);
    }
    if (status == 503)
        testhttp_assert_problem(&r, 503, "not-ready");
    ck_assert_msg(r.status == status, "/readyz: %d %s", r.status, r.body);
    response_free(&r);
}

/* A committed batch shows in the score at once; with the database gone a
 * batch is answered 503 with Retry-After. */
static void check_live_update_and_db_down(void)
{
    check_counts("{\"transactions\":[{\"id\":\"t5\",\"customer_id\":\"c1\","
                 "\"occurred_at\":\"2025-12-01T00:00:00Z\",\"amount\":1}]}",
                 1, 1, 0);
    response r;
    request("GET", "/v1/customers/c1", NULL, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    assert_close(testhttp_jnum(json_object_get(r.json, "summary"), "frequency"), 3);
    response_free(&r);

    admin_exec("ALTER DATABASE %s WITH ALLOW_CONNECTIONS false", svc.dbname);
    admin_exec("DO $$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE datname = '%s'; END $$",
               svc.dbname);
    request("POST", "/v1/transactions",
            "{\"transactions\":[{\"id\":\"t6\",\"customer_id\":\"c1\","
            "\"occurred_at\":\"2025-12-02T00:00:00Z\",\"amount\":1}]}",
            &r);
    testhttp_assert_problem(&r, 503, "database-unavailable");
    const char *retry = testhttp_header(&r, "Retry-After");
    ck_assert_msg(retry != NULL && strcmp(retry, "1") == 0, "%s", r.head);
    response_free(&r);
    /* reads go on from the cache, saying the data may be stale */
    request("GET", "/v1/customers/c1", NULL, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    const char *stale = testhttp_header(&r, "Ltvd-Data-Stale");
    ck_assert_msg(stale != NULL && strstr(stale, "database unavailable since") == stale,
                  "%s", r.head);
    response_free(&r);
    wait_readyz(503);

    /* back: the next batch is stored on a new connection, no restart */
    admin_exec("ALTER DATABASE %s WITH ALLOW_CONNECTIONS true", svc.dbname);
    check_counts("{\"transactions\":[{\"id\":\"t6\",\"customer_id\":\"c1\","
                 "\"occurred_at\":\"2025-12-02T00:00:00Z\",\"amount\":1}]}",
                 1, 1, 0);
    wait_readyz(200);
    request("GET", "/v1/customers/c1", NULL, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_ptr_null(testhttp_header(&r, "Ltvd-Data-Stale"));
    response_free(&r);
    request("GET", "/readyz", NULL, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    response_free(&r);
}

START_TEST(test_api_ingest_and_score)
{
    check_counts(batch1, 5, 5, 0);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 5);
    check_counts(batch1, 5, 0, 5); /* resent: nothing new */
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 5);
    check_refusals();

    response r;
    request("GET", "/v1/customers/c1", NULL, &r);
    testhttp_assert_problem(&r, 503, "no-model");
    response_free(&r);
    request("GET", "/readyz", NULL, &r);
    ck_assert_int_eq(r.status, 503);
    response_free(&r);

    testhttp_snapshot_save(&svc);
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, false); /* the cache from PostgreSQL, the snapshot loaded */
    ck_assert_uint_eq(cache_count(svc.app->dflt->cache), 2);
    request("GET", "/readyz", NULL, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    response_free(&r);
    check_scores("", svc.cfg.horizon_days, svc.cfg.discount_rate, svc.cfg.margin);
    check_scores("?horizon_days=90&discount_rate=0.02&margin=0.5", 90, 0.02, 0.5);

    request("GET", "/v1/customers/nobody", NULL, &r);
    testhttp_assert_problem(&r, 404, "customer-not-found");
    response_free(&r);
    request("GET", "/v1/customers/c1?horizon_days=0", NULL, &r);
    testhttp_assert_problem(&r, 400, "invalid-parameter");
    response_free(&r);
    check_live_update_and_db_down();
}
END_TEST

Suite *suite_api(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_api_ingest_and_score);
    suite_add_tcase(s, tc);
    return s;
}

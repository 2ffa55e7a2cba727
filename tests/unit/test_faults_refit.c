/* suite_faults, refits that fail on their data (no test hook: data on which
 * the fits really fail). Through the real `ltvd serve`: customers who all
 * bought on every day of the last month (BG/NBD's likelihood then grows
 * without bound towards every customer buying at one rate: the fit is not
 * identified, model/accept.h) posted, a refit asked for; the
 * planted snapshot keeps serving (GET /v1/model: same version and
 * parameters, last_refit failed with its reason; /metrics counts the
 * failure; scores byte-identical; /readyz ready; nothing persisted, so a
 * restart serves it too). In process, worker_refit_once on summaries put
 * in the cache directly: a fit that works first (the control), then
 * Gamma-Gamma on spends of 1e300 and of 1e-300, and BG/NBD on the daily
 * buyers (not identified: model/accept.h also wants finite, positive
 * parameters and log-likelihood, so a NaN never passes either): each fails
 * with its reason and the control's snapshot stays, in the cache and in
 * PostgreSQL. */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cache/cache.h"
#include "testfaults.h"
#include "testhttp.h"
#include "worker/worker.h"

#define RF_DAILY_CUSTOMERS 30
#define RF_DAYS 31         /* 1997-12-01 .. FAULTS_AS_OF */
#define RF_AS_OF_DAY 10226 /* FAULTS_AS_OF in days since 1970 */

/* ---- through the server ------------------------------------------------------------ */

static char url[2048];

static void srv_setup(void)
{
    faults_db_create("ltvd_fr", url, sizeof url);
}

static void srv_teardown(void)
{
    faults_db_drop("ltvd_fr");
}

/* Customers d0.. buying 10.00 on every day of December 1997. */
static char *daily_buyers_json(void)
{
    size_t cap = (size_t)RF_DAILY_CUSTOMERS * RF_DAYS * 128, len = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    len += (size_t)snprintf(s, cap, "{\"transactions\":[");
    for (int k = 0; k < RF_DAILY_CUSTOMERS; k++)
        for (int d = 1; d <= RF_DAYS; d++)
            len += (size_t)snprintf(s + len, cap - len,
                                    "%s{\"id\":\"d%d\",\"customer_id\":\"d%d\","
                                    "\"occurred_at\":\"1997-12-%02dT09:00:00Z\","
                                    "\"amount\":\"10.00\"}",
                                    len > 18 ? "," : "", d, k, d);
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* GET target on port: the status must be want; the body (caller frees). */
static char *get_body(int port, const char *target, int want)
{
    testserve_reply r;
    int st = testserve_http(port, "GET", target, NULL, 10, &r);
    ck_assert_msg(st == want, "GET %s: %d %s", target, st, r.body);
    return r.body;
}

/* GET target once its document carries a percentile, or has no predicted
 * LTV to rank (at most 30 s): predicted_ltv_percentile is null until the
 * server's score table is ranked, a few seconds after a start. */
static char *get_ranked(int port, const char *target)
{
    for (int i = 0;; i++) {
        char *body = get_body(port, target, 200);
        if (i == 300 || strstr(body, "\"predicted_ltv\":null") != NULL ||
            strstr(body, "\"predicted_ltv_percentile\":null") == NULL)
            return body;
        free(body);
        testserve_sleep_ms(100);
    }
}

/* GET /v1/model until refits.failed reaches n (10 s); the document. */
static json_t *wait_failed_refits(int port, long long n)
{
    for (int i = 0; i < 200; i++) {
        char *body = get_body(port, "/v1/model", 200);
        json_t *m = json_loads(body, 0, NULL);
        free(body);
        json_t *refits = json_object_get(m, "refits");
        if (json_integer_value(json_object_get(refits, "failed")) >= n)
            return m;
        json_decref(m);
        testserve_sleep_ms(50);
    }
    ck_abort_msg("no failed refit reported within 10 s");
    return NULL;
}

/* The planted snapshot's version and parameters in a model document. */
static void assert_planted(json_t *m, json_int_t version)
{
    ck_assert_int_eq(json_integer_value(json_object_get(m, "version")), version);
    json_t *p = json_object_get(m, "params");
    ck_assert(fabs(json_number_value(json_object_get(p, "r")) - 0.243) < 1e-12);
    ck_assert(fabs(json_number_value(json_object_get(p, "b")) - 2.426) < 1e-12);
}

START_TEST(test_faults_refit_fails_on_data)
{
    testserve srv;
    faults_server_start(&srv, url, NULL);
    char *batch = daily_buyers_json();
    testserve_reply r;
    int st = testserve_http(srv.port, "POST", "/v1/transactions", batch, 30, &r);
    ck_assert_msg(st == 200, "%d %s", st, r.body);
    testserve_reply_free(&r);
    free(batch);
    char *score_before = get_ranked(srv.port, "/v1/customers/d7");
    char *model_text = get_body(srv.port, "/v1/model", 200);
    json_t *model = json_loads(model_text, 0, NULL);
    free(model_text);
    json_int_t version = json_integer_value(json_object_get(model, "version"));
    assert_planted(model, version);
    json_decref(model);

    st = testserve_http(srv.port, "POST", "/v1/model/refit", NULL, 10, &r);
    ck_assert_msg(st == 202, "%d %s", st, r.body);
    testserve_reply_free(&r);
    json_t *m = wait_failed_refits(srv.port, 1);
    assert_planted(m, version);
    json_t *last = json_object_get(m, "last_refit");
    ck_assert_str_eq(json_string_value(json_object_get(last, "outcome")), "failed");
    const char *reason = json_string_value(json_object_get(last, "reason"));
    ck_assert_msg(reason != NULL && strstr(reason, "bgnbd fit not identified") != NULL,
                  "reason: %s", reason != NULL ? reason : "(none)");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(m, "refits"), "succeeded")),
        0);
    json_decref(m);

    char *prom = get_body(srv.port, "/metrics", 200);
    ck_assert_msg(
        strstr(prom, "ltvd_refits_total{result=\"failed\"} 1\n") != NULL &&
            strstr(prom, "ltvd_refits_total{result=\"succeeded\"} 0\n") != NULL &&
            strstr(prom, "ltvd_refits_failed_total{reason=\"boundary\"} 1\n") != NULL,
        "%s", prom);
    free(prom);
    char *score_after = get_ranked(srv.port, "/v1/customers/d7");
    ck_assert_str_eq(score_after, score_before);
    free(score_after);
    free(get_body(srv.port, "/readyz", 200));

    store_db *db = faults_db_open(url);
    ck_assert_int_eq(faults_sql_int(db, "SELECT count(*) FROM model_snapshots"), 1);
    store_db_close(db);
    ck_assert_int_eq(testserve_stop(&srv, 10000), 0);
    testserve_forget(&srv);
    faults_server_start(&srv, url, NULL); /* the good snapshot after a restart too */
    score_after = get_ranked(srv.port, "/v1/customers/d7");
    ck_assert_str_eq(score_after, score_before);
    free(score_after);
    free(score_before);
    ck_assert_int_eq(testserve_stop(&srv, 10000), 0);
    testserve_forget(&srv);
}
END_TEST

/* ---- in process: summaries put in the cache -----------------------------------------
 */

static testhttp_app svc;

static void app_setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&svc, "ltvd_fw");
    faults_db_prepare(svc.cfg.database_url);
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "as_of", FAULTS_AS_OF, err));
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "model", "bgnbd", err));
}

static void app_teardown(void)
{
    testhttp_db_drop(&svc);
}

typedef enum spend_kind { SPEND_VARIED, SPEND_SAME, SPEND_HUGE, SPEND_TINY } spend_kind;

/* A fresh app (its cache rebuilt from PostgreSQL: no customer) holding 40
 * customers of assorted histories with the given spends, or the daily
 * buyers when daily. */
static void load_cache(bool daily, spend_kind spend)
{
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, false);
    for (int i = 0; i < 40; i++) {
        int32_t age = 140 + (i % 13) * 7, x = i % 7;
        cache_summary s = {
            RF_AS_OF_DAY - age, RF_AS_OF_DAY - age, (uint32_t)x + 1, 0, 0, 0};
        s.last_day += x > 0 ? age * (20 + 2 * (i % 31)) / 100 : 0;
        if (daily)
            s = (cache_summary){RF_AS_OF_DAY - 30, RF_AS_OF_DAY, 31, 0, 0, 0};
        double per = spend == SPEND_VARIED ? 5.0 + (i * 37) % 50
                     : spend == SPEND_SAME ? 10.0
                     : spend == SPEND_HUGE ? 9e17 * (1 + i % 5) /* saturated units */
                                           : 1e-4 * (1 + i % 5);
        double units = (double)(s.n_days - 1) * per * CACHE_AMOUNT_UNITS;
        s.repeat_units = units >= 9.2e18 ? INT64_MAX : (int64_t)llround(units);
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        ck_assert_int_eq(cache_upsert(svc.app->dflt->cache, id, &s), CACHE_OK);
    }
}

/* worker_refit_once on the app's cache, pool and settings. */
static bool refit_once(char reason[WORKER_REASON_MAX])
{
    worker_env env;
    app_worker_env(svc.app->dflt, &env);
    return worker_refit_once(&env, reason, NULL, NULL);
}

/* The version the cache serves and the rows in model_snapshots. */
static void served(uint64_t *version, long long *rows)
{
    const cache_model *m = cache_snapshot_acquire(svc.app->dflt->cache);
    ck_assert_ptr_nonnull(m);
    *version = m->version;
    cache_snapshot_release(m);
    store_db *db = faults_db_open(svc.cfg.database_url);
    *rows = faults_sql_int(db, "SELECT count(*) FROM model_snapshots");
    store_db_close(db);
}

/* A refit on the cache must fail with want in its reason and change nothing. */
static void expect_failure(const char *what, const char *want)
{
    uint64_t v0, v1;
    long long rows0, rows1;
    served(&v0, &rows0);
    char reason[WORKER_REASON_MAX];
    ck_assert_msg(!refit_once(reason), "%s: the refit succeeded", what);
    ck_assert_msg(strstr(reason, want) != NULL, "%s: reason \"%s\", want \"%s\"", what,
                  reason, want);
    served(&v1, &rows1);
    ck_assert_msg(v1 == v0 && rows1 == rows0,
                  "%s: snapshot %llu -> %llu, rows %lld -> %lld", what,
                  (unsigned long long)v0, (unsigned long long)v1, rows0, rows1);
}

/* A refit on the cache either serves a snapshot with finite, positive
 * parameters (or none for spend, with too few distinct spend patterns) or
 * fails and changes nothing. */
static void expect_finite_or_kept(const char *what)
{
    uint64_t v0, v1;
    long long rows0, rows1;
    served(&v0, &rows0);
    char reason[WORKER_REASON_MAX];
    bool ok = refit_once(reason);
    served(&v1, &rows1);
    if (!ok) {
        ck_assert_msg(v1 == v0 && rows1 == rows0,
                      "%s: failed (%s) but the snapshot changed", what, reason);
        return;
    }
    const cache_model *m = cache_snapshot_acquire(svc.app->dflt->cache);
    for (int i = 0; m->has_spend && i < 3; i++)
        ck_assert_msg(isfinite(m->gg_params[i]) && m->gg_params[i] > 0,
                      "%s: gg param %d = %g", what, i, m->gg_params[i]);
    cache_snapshot_release(m);
}

START_TEST(test_faults_refit_fails_in_process)
{
    /* the control: these histories and spends fit, a new snapshot serves */
    load_cache(false, SPEND_VARIED);
    uint64_t v0, v1;
    long long rows0, rows1;
    served(&v0, &rows0);
    char reason[WORKER_REASON_MAX];
    ck_assert_msg(refit_once(reason), "the control failed: %s", reason);
    served(&v1, &rows1);
    ck_assert_uint_gt(v1, v0);
    ck_assert_int_eq(rows1, rows0 + 1);

    /* Amounts are bounded integers of 0.0001 (cache.h), so the spends of
     * 1e300 and 1e-300 that once broke the Gamma-Gamma fit cannot reach it;
     * the extremes that can give a finite snapshot or keep the old one. */
    load_cache(false, SPEND_HUGE);
    expect_finite_or_kept("spends at the amount limit");
    load_cache(false, SPEND_TINY);
    expect_finite_or_kept("spends of 0.0001");
    served(&v1, &rows1);
    load_cache(true, SPEND_SAME);
    expect_failure("daily buyers", "bgnbd fit not identified");
    served(&v0, &rows0);
    ck_assert_uint_eq(v0, v1); /* the control's snapshot, still */
}
END_TEST

TCase *faults_tcase_refit(void)
{
    TCase *tc = tcase_create("refit");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, srv_setup, srv_teardown);
    tcase_add_test(tc, test_faults_refit_fails_on_data);
    return tc;
}

TCase *faults_tcase_refit_worker(void)
{
    TCase *tc = tcase_create("refit_worker");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, app_setup, app_teardown);
    tcase_add_test(tc, test_faults_refit_fails_in_process);
    return tc;
}

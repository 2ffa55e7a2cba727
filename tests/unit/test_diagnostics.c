/* The refit's back-test per tenant and the model history (issue 12,
 * docs/diagnostics.md), on a real PostgreSQL with the in-process service
 * and its workers (tests/unit/testhttp.h, testtenant.h):
 * - after the refit of the CDNOW sample (weekly BG/NBD and Gamma-Gamma as
 *   of 1998-06-30, backtest_holdout_days 273), GET /v1/model/diagnostics
 *   holds what `ltvd backtest` prints for the same split (calibration to
 *   1997-09-30, holdout to 1998-06-30, weeks, --spend-model gg): every
 *   member, numbers within 1e-12 relative (both sum amounts in exact units,
 *   summary/backtest_data.h; only sums over customers in another order
 *   differ, by ulps); /metrics has its flag and MAE;
 * - GET /v1/model/history lists the snapshots newest first with their
 *   parameters and back-test summary, limit pages, a bad limit is 400;
 * - a tenant whose holdout (its own backtest_holdout_days) is shorter than
 *   2 periods gets backtest null with the reason, and no metric; one with
 *   backtest_holdout_days 0 holds out a quarter of its history; each
 *   tenant sees its own snapshots only; a tenant without a model gets the
 *   no-model problem and an empty history;
 * - the back-test's read does not hold up /healthz or the model, and
 *   SIGTERM cancels it (the real binary, customer_days locked by the test).
 * Needs DATABASE_URL and the ltvd binary (LTVD_BIN) for `ltvd backtest`.
 * Run from the repository root. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/db.h"
#include "testhttp.h"
#include "testserve.h"
#include "testtenant.h"
#include "worker/backtest_run.h"

#define DG_AS_OF "1998-06-30"
#define DG_CAL_END "1997-09-30"
#define DG_HOLDOUT_DAYS "273" /* 1997-09-30 .. 1998-06-30 */
#define DG_REL 1e-12
#define DG_ABS 1e-12

static testhttp_app svc;

/* ---- the service ---------------------------------------------------------------- */

/* GET target until it answers 200 and its reason is not "pending" (60 s).
 * Returns the document (caller decrefs). */
static json_t *await_diagnostics(const char *target)
{
    testhttp_response r;
    for (int i = 0; i < 600; i++) {
        testtenant_call(svc.port, "GET", target, NULL, NULL, &r);
        const char *why = json_string_value(json_object_get(r.json, "reason"));
        if (r.status == 200 && (why == NULL || strncmp(why, "pending", 7) != 0))
            return r.json;
        testhttp_response_free(&r);
        testserve_sleep_ms(100);
    }
    ck_abort_msg("%s: no back-test after 60 s: %d %s", target, r.status, r.body);
    return NULL;
}

/* default, short and quarter hold the CDNOW sample (short holds out 3
 * days: less than 2 weeks; quarter the default, a quarter of the history),
 * empty nothing; the workers' first fits done, and their
 * back-tests stored. */
static void setup(void)
{
    testhttp_db_create(&svc, "ltvd_dg");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "model", "bgnbd", err));
    ck_assert(config_set(&svc.cfg, "as_of", DG_AS_OF, err));
    ck_assert(config_set(&svc.cfg, "backtest_holdout_days", DG_HOLDOUT_DAYS, err));
    ck_assert(config_set(&svc.cfg, "refit_interval_s", "604800", err));
    ck_assert(config_set(&svc.cfg, "refit_after_txns", "1000000000", err));
    testhttp_app_start(&svc, false); /* the migrations */
    testtenant_create(svc.port, "short", "{\"backtest_holdout_days\":3}");
    testtenant_create(svc.port, "quarter", "{\"backtest_holdout_days\":0}");
    testtenant_create(svc.port, "empty", NULL);
    testhttp_app_stop(&svc);
    ck_assert_int_eq(testtenant_load_csv(&svc, "default", CDNOW_CSV), 6919);
    ck_assert_int_eq(testtenant_load_csv(&svc, "short", CDNOW_CSV), 6919);
    ck_assert_int_eq(testtenant_load_csv(&svc, "quarter", CDNOW_CSV), 6919);
    testhttp_app_start(&svc, true);
    json_decref(testtenant_await_model(svc.port, "/v1", CDNOW_CUSTOMERS));
    json_decref(testtenant_await_model(svc.port, "/v1/tenants/short", CDNOW_CUSTOMERS));
    json_decref(testtenant_await_model(svc.port, "/v1/tenants/quarter", CDNOW_CUSTOMERS));
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* ---- `ltvd backtest` ------------------------------------------------------------- */

/* What `ltvd backtest` prints for the split (caller decrefs). */
static json_t *cli_backtest(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s' backtest --model bgnbd --spend-model gg --transactions %s "
             "--calibration-end %s --holdout-end %s --period week",
             testserve_bin(), CDNOW_CSV, DG_CAL_END, DG_AS_OF);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    json_error_t jerr;
    json_t *doc = json_loadf(p, 0, &jerr);
    int st = pclose(p);
    ck_assert_msg(st == 0 && doc != NULL, "%s: status %d: %s", cmd, st, jerr.text);
    return doc;
}

/* a and b alike: the same members, strings and booleans equal, numbers
 * within DG_REL relative (DG_ABS absolute). path names the place. */
static void assert_alike(const json_t *a, const json_t *b, const char *path)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        ck_assert_msg(fabs(x - y) <= DG_ABS ||
                          fabs(x - y) <= DG_REL * fmax(fabs(x), fabs(y)),
                      "%s: served %.17g, cli %.17g", path, x, y);
        return;
    }
    ck_assert_msg(json_typeof(a) == json_typeof(b), "%s: types differ", path);
    char sub[512];
    if (json_is_object(a)) {
        ck_assert_msg(json_object_size(a) == json_object_size(b),
                      "%s: %zu vs %zu members", path, json_object_size(a),
                      json_object_size(b));
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)a, key, v)
        {
            snprintf(sub, sizeof sub, "%.400s.%.100s", path, key);
            const json_t *w = json_object_get(b, key);
            ck_assert_msg(w != NULL, "%s: missing in the cli's", sub);
            assert_alike(v, w, sub);
        }
    } else if (json_is_array(a)) {
        ck_assert_msg(json_array_size(a) == json_array_size(b), "%s: %zu vs %zu items",
                      path, json_array_size(a), json_array_size(b));
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(sub, sizeof sub, "%.400s[%zu]", path, i);
            assert_alike(json_array_get(a, i), json_array_get(b, i), sub);
        }
    } else {
        ck_assert_msg(json_equal((json_t *)a, (json_t *)b), "%s: differ", path);
    }
}

/* The text of GET /metrics (caller frees). */
static char *metrics_text(void)
{
    testhttp_response r;
    testhttp_request(svc.port, "GET", "/metrics", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    char *text = strdup(r.body);
    testhttp_response_free(&r);
    return text;
}

/* The value of the sample line "name{tenant="t"} v", or NAN when absent. */
static double metric(const char *text, const char *name, const char *tenant)
{
    char head[160];
    snprintf(head, sizeof head, "\n%s{tenant=\"%s\"} ", name, tenant);
    const char *p = strstr(text, head);
    return p != NULL ? strtod(p + strlen(head), NULL) : NAN;
}

/* ---- the tests -------------------------------------------------------------------- */

/* The served back-test equals the command line's for the same split; the
 * flag and the MAE are in /metrics. */
START_TEST(test_diagnostics_equal_cli)
{
    json_t *model = testtenant_call_ok(svc.port, "GET", "/v1/model", NULL, 200);
    json_t *diag = await_diagnostics("/v1/model/diagnostics");
    ck_assert_int_eq(testhttp_jint(diag, "version"), testhttp_jint(model, "version"));
    ck_assert(json_is_null(json_object_get(diag, "reason")));
    json_t *served = json_object_get(diag, "backtest");
    ck_assert_msg(json_is_object(served), "backtest is not an object");
    ck_assert_str_eq(testhttp_jstr(served, "calibration_end"), DG_CAL_END);
    ck_assert_str_eq(testhttp_jstr(served, "holdout_end"), DG_AS_OF);
    ck_assert_str_eq(testhttp_jstr(served, "spend_model"), "gg");
    json_t *cli = cli_backtest();
    assert_alike(served, cli, "backtest");
    json_t *holdout = json_object_get(served, "holdout");
    double mae = testhttp_jnum(holdout, "mae");
    double naive = testhttp_jnum(json_object_get(served, "naive"), "mae");
    bool worse = json_is_true(json_object_get(served, "worse_than_naive"));
    ck_assert(worse == (mae > naive));
    /* the same diagnostics under the tenant's prefix */
    json_t *again = await_diagnostics("/v1/tenants/default/model/diagnostics");
    ck_assert(json_equal(again, diag));
    char *text = metrics_text();
    ck_assert_msg(metric(text, "ltvd_model_worse_than_naive", "default") ==
                      (worse ? 1 : 0),
                  "%s", text);
    double served_mae = metric(text, "ltvd_model_holdout_mae", "default");
    ck_assert_msg(fabs(served_mae - mae) <= 1e-8 * mae, "%.17g vs %.17g", served_mae,
                  mae);
    ck_assert_msg(fabs(metric(text, "ltvd_model_naive_mae", "default") - naive) <=
                      1e-8 * naive,
                  "%s", text);
    free(text);
    json_decref(again);
    json_decref(cli);
    json_decref(diag);
    json_decref(model);
}
END_TEST

/* A refit adds a snapshot: the history lists both, newest first, with
 * their parameters and back-test summaries; limit pages; bad limits. */
START_TEST(test_diagnostics_history)
{
    json_t *first = await_diagnostics("/v1/model/diagnostics");
    long long v1 = testhttp_jint(first, "version");
    testtenant_call_ok0(svc.port, "POST", "/v1/model/refit", NULL, 202);
    json_t *m2 = NULL;
    for (int i = 0; i < 600 && m2 == NULL; i++) {
        json_t *m = testtenant_call_ok(svc.port, "GET", "/v1/model", NULL, 200);
        if (testhttp_jint(m, "version") != v1)
            m2 = m;
        else
            json_decref(m), testserve_sleep_ms(100);
    }
    ck_assert_msg(m2 != NULL, "no new snapshot after 60 s");
    long long v2 = testhttp_jint(m2, "version");
    ck_assert_int_gt(v2, v1);
    json_t *second = await_diagnostics("/v1/model/diagnostics");
    ck_assert_int_eq(testhttp_jint(second, "version"), v2);

    json_t *h = testtenant_call_ok(svc.port, "GET", "/v1/model/history", NULL, 200);
    json_t *snaps = json_object_get(h, "snapshots");
    ck_assert_int_eq(json_array_size(snaps), 2);
    json_t *docs[2] = {second, first};
    for (size_t i = 0; i < 2; i++) {
        json_t *s = json_array_get(snaps, i);
        ck_assert_int_eq(testhttp_jint(s, "version"), testhttp_jint(docs[i], "version"));
        ck_assert_str_eq(testhttp_jstr(s, "fitted_at"),
                         testhttp_jstr(docs[i], "fitted_at"));
        ck_assert_str_eq(testhttp_jstr(s, "model"), "bgnbd");
        ck_assert_int_eq(testhttp_jint(s, "customers"), CDNOW_CUSTOMERS);
        ck_assert(testhttp_jnum(s, "fit_seconds") >= 0);
        json_t *bt = json_object_get(docs[i], "backtest");
        json_t *d = json_object_get(s, "diagnostics");
        ck_assert_msg(json_is_object(d), "snapshot %zu: no diagnostics summary", i);
        ck_assert(testhttp_jnum(d, "mae") ==
                  testhttp_jnum(json_object_get(bt, "holdout"), "mae"));
        ck_assert(testhttp_jnum(d, "naive_mae") ==
                  testhttp_jnum(json_object_get(bt, "naive"), "mae"));
        ck_assert(json_equal(json_object_get(d, "worse_than_naive"),
                             json_object_get(bt, "worse_than_naive")));
    }
    /* the newest one's parameters are the served model's */
    ck_assert(json_equal(json_object_get(json_array_get(snaps, 0), "params"),
                         json_object_get(m2, "params")));
    ck_assert(json_equal(json_object_get(json_array_get(snaps, 0), "std_errors"),
                         json_object_get(m2, "std_errors")));
    json_t *one = testtenant_call_ok(
        svc.port, "GET", "/v1/tenants/default/model/history?limit=1", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(one, "snapshots")), 1);
    ck_assert(json_equal(json_array_get(json_object_get(one, "snapshots"), 0),
                         json_array_get(snaps, 0)));
    static const char *const bad[] = {"0", "101", "-1", "1.5", "x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char target[64];
        snprintf(target, sizeof target, "/v1/model/history?limit=%s", bad[i]);
        testhttp_response r;
        testtenant_call(svc.port, "GET", target, NULL, NULL, &r);
        testhttp_assert_problem(&r, 400, "invalid-parameter");
        testhttp_response_free(&r);
    }
    json_decref(one);
    /* a stored value that is not finite (never written so) is null, not a
     * failure of the whole history */
    testtenant_sql_exec(&svc, "UPDATE model_snapshots SET log_likelihood = 'NaN'"
                              " WHERE tenant_id = 'default'");
    json_t *odd = testtenant_call_ok(svc.port, "GET", "/v1/model/history", NULL, 200);
    ck_assert(json_is_null(json_object_get(
        json_array_get(json_object_get(odd, "snapshots"), 0), "log_likelihood")));
    json_decref(odd);
    json_decref(h);
    json_decref(second);
    json_decref(m2);
    json_decref(first);
}
END_TEST

/* The versions in a history (at most 100). */
static size_t versions_of(const char *target, long long out[100])
{
    json_t *h = testtenant_call_ok(svc.port, "GET", target, NULL, 200);
    json_t *snaps = json_object_get(h, "snapshots");
    size_t n = json_array_size(snaps);
    for (size_t i = 0; i < n && i < 100; i++)
        out[i] = testhttp_jint(json_array_get(snaps, i), "version");
    json_decref(h);
    return n;
}

/* A holdout shorter than 2 periods: null with the reason, no metric; each
 * tenant's own snapshots; a tenant without a model. */
START_TEST(test_diagnostics_short_and_isolation)
{
    json_t *dflt = await_diagnostics("/v1/model/diagnostics");
    json_t *shrt = await_diagnostics("/v1/tenants/short/model/diagnostics");
    ck_assert(json_is_null(json_object_get(shrt, "backtest")));
    const char *why = testhttp_jstr(shrt, "reason");
    ck_assert_msg(why != NULL && strstr(why, "too short") != NULL, "%s",
                  why != NULL ? why : "(null)");
    ck_assert_int_ne(testhttp_jint(shrt, "version"), testhttp_jint(dflt, "version"));
    json_t *m = testtenant_call_ok(svc.port, "GET", "/v1/tenants/short/model", NULL, 200);
    ck_assert_int_eq(testhttp_jint(shrt, "version"), testhttp_jint(m, "version"));
    json_decref(m);

    long long dv[100], sv[100];
    size_t nd = versions_of("/v1/model/history", dv);
    size_t ns = versions_of("/v1/tenants/short/model/history", sv);
    ck_assert_int_eq(nd, 1);
    ck_assert_int_eq(ns, 1);
    ck_assert_int_eq(dv[0], testhttp_jint(dflt, "version"));
    ck_assert_int_eq(sv[0], testhttp_jint(shrt, "version"));
    json_t *h =
        testtenant_call_ok(svc.port, "GET", "/v1/tenants/short/model/history", NULL, 200);
    ck_assert(json_is_null(json_object_get(
        json_array_get(json_object_get(h, "snapshots"), 0), "diagnostics")));
    json_decref(h);

    testhttp_response r;
    testtenant_call(svc.port, "GET", "/v1/tenants/empty/model/diagnostics", NULL, NULL,
                    &r);
    testhttp_assert_problem(&r, 503, "no-model");
    testhttp_response_free(&r);
    h = testtenant_call_ok(svc.port, "GET", "/v1/tenants/empty/model/history", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(h, "snapshots")), 0);
    json_decref(h);
    testtenant_call(svc.port, "GET", "/v1/tenants/nosuch/model/history", NULL, NULL, &r);
    testhttp_assert_problem(&r, 404, "tenant-not-found");
    testhttp_response_free(&r);

    /* backtest_holdout_days 0: a quarter of 1997-01-01 .. 1998-06-30 (545
     * days): 136 days */
    json_t *q = await_diagnostics("/v1/tenants/quarter/model/diagnostics");
    json_t *qb = json_object_get(q, "backtest");
    ck_assert_msg(json_is_object(qb), "quarter: no back-test");
    ck_assert_str_eq(testhttp_jstr(qb, "calibration_end"), "1998-02-14");
    ck_assert_str_eq(testhttp_jstr(qb, "holdout_end"), DG_AS_OF);
    json_decref(q);

    char *text = metrics_text();
    ck_assert_msg(isnan(metric(text, "ltvd_model_worse_than_naive", "short")), "%s",
                  text);
    ck_assert_msg(isnan(metric(text, "ltvd_model_holdout_mae", "empty")), "%s", text);
    ck_assert_msg(!isnan(metric(text, "ltvd_model_holdout_mae", "default")), "%s", text);
    free(text);
    json_decref(shrt);
    json_decref(dflt);
}
END_TEST

/* The holdout's length: configured, or a quarter of the history, at most
 * WORKER_BACKTEST_MAX_DAYS. */
START_TEST(test_diagnostics_holdout_days)
{
    ck_assert_int_eq(worker_backtest_holdout_days(273, 545), 273);
    ck_assert_int_eq(worker_backtest_holdout_days(0, 545), 136);
    ck_assert_int_eq(worker_backtest_holdout_days(0, 3), 0);
    ck_assert_int_eq(worker_backtest_holdout_days(0, 720), 180);
    ck_assert_int_eq(worker_backtest_holdout_days(0, 10000), WORKER_BACKTEST_MAX_DAYS);
    ck_assert_int_eq(worker_backtest_holdout_days(400, 10000), 400);
}
END_TEST

/* ---- shutdown during the back-test's read --------------------------------------- */

static testhttp_app sd;

/* 2,000 BG/NBD-like customers' days (as bench/diagnostics.sh's). */
static const char sd_days_sql[] =
    "INSERT INTO customer_days (tenant_id, customer_id, day, amount, n_transactions)"
    " WITH c AS (SELECT g, g % 365 AS f, 1 + (g * 7919 % 40) AS gap, g % 6 AS k,"
    "                   10 + g % 90 AS base FROM generate_series(1, 2000) g)"
    " SELECT 'default', 'c' || g, date '1997-01-01' + f + j * gap, base + j, 1"
    " FROM c, generate_series(0, k) j WHERE f + j * gap <= 545";

/* Whether a session of the database waits on a lock in the back-test's read. */
static bool read_waits_on_lock(store_db *db)
{
    PGresult *res = store_db_query(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE '%ltvd_backtest%' AND pid <> pg_backend_pid()",
        0, NULL);
    bool yes = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
               strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return yes;
}

/* The back-test's read runs on a connection of its own in the background:
 * while it waits (customer_days locked by the test, lock_timeout off),
 * /healthz and GET /v1/model answer, and SIGTERM ends the process at once,
 * the read cancelled and nothing stored for that snapshot. */
START_TEST(test_diagnostics_shutdown_cancels_read)
{
    testhttp_db_create(&sd, "ltvd_diag_sd");
    const char *url = sd.cfg.database_url;
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' %s migrate >/dev/null", url,
             testserve_bin());
    ck_assert_int_eq(system(cmd), 0);
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(url, err);
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_int_eq(store_db_exec(db, sd_days_sql, PGRES_COMMAND_OK), 0);
    const char *env[] = {"LTVD_LISTEN=127.0.0.1:0",      "LTVD_PERIOD=week",
                         "LTVD_AS_OF=" DG_AS_OF,         "LTVD_AUTH_REQUIRED=false",
                         "LTVD_DB_LOCK_TIMEOUT_MS=0",    "LTVD_SHUTDOWN_DEADLINE_S=3",
                         "LTVD_REFIT_INTERVAL_S=604800", NULL};
    testserve s;
    testserve_start(&s, url, env);
    ck_assert(testserve_log_wait(&s, "back-test of snapshot 1", 60000));
    ck_assert_int_eq(store_db_exec(db, "BEGIN", PGRES_COMMAND_OK), 0);
    ck_assert_int_eq(store_db_exec(db,
                                   "LOCK TABLE customer_days IN ACCESS EXCLUSIVE MODE",
                                   PGRES_COMMAND_OK),
                     0);
    testserve_reply r;
    ck_assert_int_eq(testserve_http(s.port, "POST", "/v1/model/refit", NULL, 5, &r), 202);
    testserve_reply_free(&r);
    store_db *look = store_db_open(url, err);
    ck_assert_msg(look != NULL, "%s", err);
    bool waits = false;
    for (int i = 0; i < 300 && !(waits = read_waits_on_lock(look)); i++)
        testserve_sleep_ms(100);
    store_db_close(look);
    ck_assert_msg(waits, "the second back-test's read never waited on the lock");
    ck_assert_int_eq(testserve_http(s.port, "GET", "/healthz", NULL, 2, &r), 200);
    testserve_reply_free(&r);
    ck_assert_int_eq(testserve_http(s.port, "GET", "/v1/model", NULL, 2, &r), 200);
    testserve_reply_free(&r);
    ck_assert_int_eq(testserve_stop(&s, 20000), 0); /* the lock is still held */
    static char log[1 << 16];
    testserve_log(&s, log, sizeof log);
    ck_assert_msg(strstr(log, "stopped: the process is shutting down") != NULL, "%s",
                  log);
    ck_assert_int_eq(store_db_exec(db, "ROLLBACK", PGRES_COMMAND_OK), 0);
    store_db_close(db);
    testserve_forget(&s);
    testhttp_db_drop(&sd);
}
END_TEST

Suite *suite_diagnostics(void)
{
    Suite *s = suite_create("diagnostics");
    TCase *tc = tcase_create("diagnostics");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_diagnostics_equal_cli);
    tcase_add_test(tc, test_diagnostics_history);
    tcase_add_test(tc, test_diagnostics_short_and_isolation);
    suite_add_tcase(s, tc);
    TCase *stop = tcase_create("shutdown");
    tcase_set_timeout(stop, 120);
    tcase_add_test(stop, test_diagnostics_shutdown_cancels_read);
    suite_add_tcase(s, stop);
    TCase *pure = tcase_create("holdout");
    tcase_add_test(pure, test_diagnostics_holdout_days);
    suite_add_tcase(s, pure);
    return s;
}

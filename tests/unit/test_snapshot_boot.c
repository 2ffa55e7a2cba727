/* suite_snapshot_boot: what the service serves at start-up and on a first
 * run, through the real `ltvd serve` (LTVD_BIN), and which fits the worker
 * accepts, in process:
 *   - bad rows: snapshots that cannot be used, inserted by SQL (a BG/NBD
 *     whose a and b jsonb prints as 20-digit integers, above 9.2e18; params
 *     that are not an object) on top of a good one: the server starts,
 *     serves the good one, counts and logs the two it skipped;
 *   - first run and changed settings: an empty database, `ltvd import` of
 *     the CDNOW sample, and scores appear with no refit asked for (the
 *     catch-up wakes the worker; /readyz first says what data are missing);
 *     restarts under another LTVD_PERIOD, LTVD_MODEL and LTVD_AS_OF never
 *     serve the previous snapshot: the worker refits at once under the new
 *     settings;
 *   - in process, customers who all drop out with probability 0.2 after
 *     each repeat purchase: BG/NBD is not identified, its limit bggeo is
 *     served and GET /v1/model says so; Gamma-Gamma leaves out the repeat
 *     buyers whose repeat spend is zero and says how many; the same
 *     customers with heavy-tailed spend (q = 0.36): with no model served,
 *     the purchase model is served alone and says why; with a spend model
 *     served, the refit fails (heavy_tail) and that snapshot stays; with
 *     Pareto/NBD configured, an identified model is served instead.
 * Needs DATABASE_URL; databases ltvd_sb*_<pid>, dropped at the end. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "cache/cache.h"
#include "model/btyd.h"
#include "model/gg.h"
#include "testfaults.h"
#include "testhttp.h"
#include "testrun.h"
#include "testserve.h"
#include "worker/worker.h"

#define CDNOW_TXNS "tests/data/cdnow_sample_transactions.csv"

static testhttp_app svc; /* its database, and the in-process service */

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&svc, "ltvd_sb");
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* ---- the real server --------------------------------------------------------------- */

/* Starts `ltvd serve` on the suite's database with refits only when the
 * worker decides by itself (no schedule, no transaction count). */
static void serve(testserve *s, const char *period, const char *model, const char *as_of)
{
    char p[64], m[64], a[64];
    snprintf(p, sizeof p, "LTVD_PERIOD=%s", period);
    snprintf(m, sizeof m, "LTVD_MODEL=%s", model);
    snprintf(a, sizeof a, "LTVD_AS_OF=%s", as_of);
    const char *env[] = {
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_THREAD_POOL_SIZE=2",
        p,
        m,
        a,
        "LTVD_REFIT_INTERVAL_S=604800",
        "LTVD_REFIT_AFTER_TXNS=1000000000",
        "LTVD_CACHE_SYNC_MS=200",
        "LTVD_AUTH_REQUIRED=false",
        "LTVD_SHUTDOWN_DEADLINE_S=3",
        NULL,
    };
    testserve_start(s, svc.cfg.database_url, env);
}

static void stop(testserve *s)
{
    ck_assert_int_eq(testserve_stop(s, 10000), 0);
    testserve_forget(s);
}

/* GET target: the status, the body parsed into *doc (caller decrefs). */
static int get_json(const testserve *s, const char *target, json_t **doc)
{
    testserve_reply r;
    int st = testserve_http(s->port, "GET", target, NULL, 10, &r);
    *doc = json_loads(r.body != NULL ? r.body : "", 0, NULL);
    testserve_reply_free(&r);
    return st;
}

static bool log_has(const testserve *s, const char *text)
{
    static char log[1 << 16];
    testserve_read_file(s->log_path, log, sizeof log);
    return strstr(log, text) != NULL;
}

/* GET /v1/model until it answers 200 with a version other than old (60 s);
 * the document. A check failure when the old version is ever served. */
static json_t *wait_new_model(const testserve *s, long long old)
{
    for (int i = 0; i < 600; i++) {
        json_t *doc;
        int st = get_json(s, "/v1/model", &doc);
        long long v = json_integer_value(json_object_get(doc, "version"));
        ck_assert_msg(st != 200 || v != old, "snapshot %lld served under other settings",
                      v);
        if (st == 200)
            return doc;
        json_decref(doc);
        testserve_sleep_ms(100);
    }
    static char log[1 << 16];
    testserve_read_file(s->log_path, log, sizeof log);
    ck_abort_msg("no new model within 60 s; log:\n%s", log);
    return NULL;
}

static void assert_settings(json_t *doc, const char *model, const char *period,
                            const char *as_of)
{
    json_t *set = json_object_get(doc, "settings");
    ck_assert_str_eq(json_string_value(json_object_get(set, "model")), model);
    ck_assert_str_eq(json_string_value(json_object_get(set, "period")), period);
    ck_assert_str_eq(json_string_value(json_object_get(set, "as_of")), as_of);
}

START_TEST(test_boot_skips_bad_snapshots)
{
    faults_db_prepare(svc.cfg.database_url); /* the good snapshot, id 1 */
    store_db *db = faults_db_open(svc.cfg.database_url);
    const char *rows[] = {
        /* a point-mass Beta, as a degenerate fit once persisted it */
        "'{\"r\": 0.24, \"alpha\": 4.4, \"a\": 14000000000000000000000,"
        " \"b\": 56000000000000000000000}'",
        "'[1, 2]'",
    };
    for (int i = 0; i < 2; i++) {
        char sql[1024];
        snprintf(
            sql, sizeof sql,
            "INSERT INTO model_snapshots (as_of, period, model, params, log_likelihood,"
            " n_customers, n_patterns, converged, iterations, seconds, settings_model,"
            " settings_as_of) VALUES ('%s', 'week', 'bgnbd', %s, -9000, 2357, 1000,"
            " true, 30, 0.1, 'bgnbd', '%s') RETURNING id",
            FAULTS_AS_OF, rows[i], FAULTS_AS_OF);
        ck_assert_int_eq(faults_sql_int(db, sql), i + 2);
    }
    ck_assert_int_eq(faults_sql_int(db, "SELECT count(*) FROM model_snapshots WHERE"
                                        " params::text LIKE '%14000000000000000000000%'"),
                     1);
    store_db_close(db);
    testserve s;
    serve(&s, "week", "bgnbd", FAULTS_AS_OF);
    json_t *doc;
    ck_assert_int_eq(get_json(&s, "/v1/model", &doc), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), 1);
    json_decref(doc);
    testserve_reply r;
    ck_assert_int_eq(testserve_http(s.port, "GET", "/metrics", NULL, 10, &r), 200);
    ck_assert_msg(strstr(r.body, "ltvd_model_snapshots_skipped_total 2\n") != NULL, "%s",
                  r.body);
    testserve_reply_free(&r);
    ck_assert(log_has(&s, "model snapshot 3 skipped"));
    ck_assert(log_has(&s, "model snapshot 2 skipped"));
    ck_assert(log_has(&s, "a = 1.4e+22 is outside"));
    stop(&s);
}
END_TEST

/* `ltvd import` of the CDNOW sample into the suite's database. */
static void import_cdnow(void)
{
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' $LTVD import " CDNOW_TXNS,
             svc.cfg.database_url);
    testrun_out o = testrun_sh(cmd);
    ck_assert_msg(o.status == 0, "%s %s", o.out, o.err);
    testrun_free(&o);
}

START_TEST(test_boot_first_run_and_changed_settings)
{
    testserve s;
    serve(&s, "week", "bgnbd", "1998-06-30");
    json_t *doc;
    ck_assert_int_eq(get_json(&s, "/readyz", &doc), 503);
    json_decref(doc);
    testserve_reply r;
    /* the worker's first look at the data may still be on its way */
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(testserve_http(s.port, "GET", "/readyz", NULL, 10, &r), 503);
        if (strstr(r.body, "looking at the data") == NULL || i == 99)
            break;
        testserve_reply_free(&r);
        testserve_sleep_ms(50);
    }
    ck_assert_msg(strstr(r.body, "not enough data") != NULL &&
                      strstr(r.body, "model_min_customers") != NULL,
                  "%s", r.body);
    testserve_reply_free(&r);

    import_cdnow(); /* no refit asked for: the catch-up wakes the worker */
    doc = wait_new_model(&s, 0);
    long long v1 = json_integer_value(json_object_get(doc, "version"));
    assert_settings(doc, "bgnbd", "week", "1998-06-30");
    json_decref(doc);
    ck_assert_int_eq(get_json(&s, "/v1/customers/1", &doc), 200);
    json_decref(doc);
    ck_assert_int_eq(get_json(&s, "/readyz", &doc), 200);
    json_decref(doc);
    stop(&s);

    /* each restart under other settings: never the previous snapshot */
    const char *runs[][4] = {
        {"day", "bgnbd", "1998-06-30", "period"},
        {"day", "pareto", "1998-06-30", "model"},
        {"day", "pareto", "1998-06-29", "as_of"},
    };
    long long prev = v1;
    for (int i = 0; i < 3; i++) {
        serve(&s, runs[i][0], runs[i][1], runs[i][2]);
        doc = wait_new_model(&s, prev);
        assert_settings(doc, runs[i][1], runs[i][0], runs[i][2]);
        prev = json_integer_value(json_object_get(doc, "version"));
        json_decref(doc);
        ck_assert_msg(log_has(&s, "not fitted under the running settings"), "%s changed",
                      runs[i][3]);
        stop(&s);
    }
    /* and the same settings again: the last snapshot serves at once */
    serve(&s, "day", "pareto", "1998-06-29");
    ck_assert_int_eq(get_json(&s, "/v1/model", &doc), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), prev);
    json_decref(doc);
    stop(&s);
}
END_TEST

/* Appends one transaction to a batch body being built in *buf. */
static void add_item(char **buf, size_t *len, size_t *cap, int k, int j, long day)
{
    if (*cap - *len < 256) {
        *cap = *cap * 2 + 4096;
        *buf = realloc(*buf, *cap);
        ck_assert_ptr_nonnull(*buf);
    }
    time_t t = (time_t)(day * 86400 + 43200);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    *len += (size_t)snprintf(*buf + *len, *cap - *len,
                             "%s{\"id\":\"t%d\",\"customer_id\":\"p%d\",\"occurred_at\":"
                             "\"%s\",\"amount\":\"%d.50\"}",
                             *len > 17 ? "," : "", j, k, when, 5 + k % 40);
}

/* POSTs the customers of bggeo (r 2, alpha 8 weeks, p 0.2) as purchase
 * days before FAULTS_AS_OF, a batch per 200 customers. */
static void post_customers(const testserve *s, int n)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    const double geo[3] = {2.0, 8.0, 0.2};
    for (int k0 = 0; k0 < n; k0 += 200) {
        size_t cap = 0, len = 0;
        char *buf = NULL;
        add_item(&buf, &len, &cap, 0, 0, 0); /* room; rewritten below */
        len = (size_t)snprintf(buf, cap, "{\"transactions\":[");
        for (int k = k0; k < k0 + 200 && k < n; k++) {
            double T = 20 + (k % 20) * 2, x, t_x;
            ck_assert_int_eq(bggeo_model.simulate(geo, T, rng, &x, &t_x), GSL_SUCCESS);
            long first = 10226 - (long)(T * 7), span = (long)fmax(floor(t_x * 7), x);
            for (int j = 0; j <= (int)x; j++)
                add_item(&buf, &len, &cap, k, j,
                         first + (x > 0 ? span * j / (long)x : 0));
        }
        snprintf(buf + len, cap - len, "]}");
        testserve_reply r;
        int st = testserve_http(s->port, "POST", "/v1/transactions", buf, 30, &r);
        ck_assert_msg(st == 200, "%d %s", st, r.body);
        testserve_reply_free(&r);
        free(buf);
    }
    gsl_rng_free(rng);
}

/* A first model after POST /v1/transactions alone: no refit asked for, no
 * schedule, no transaction count reached. */
START_TEST(test_boot_first_model_after_post)
{
    testserve s;
    serve(&s, "week", "bgnbd", FAULTS_AS_OF);
    post_customers(&s, 10); /* too few: the problem says what is missing */
    testserve_sleep_ms(1500);
    testserve_reply r;
    ck_assert_int_eq(testserve_http(s.port, "GET", "/v1/customers/p1", NULL, 10, &r),
                     503);
    ck_assert_msg(strstr(r.body, "no-model") != NULL &&
                      strstr(r.body, "10 customers (need 20: model_min_customers)") !=
                          NULL,
                  "%s", r.body);
    testserve_reply_free(&r);
    post_customers(&s, 1000);
    json_t *doc = wait_new_model(&s, 0);
    assert_settings(doc, "bgnbd", "week", FAULTS_AS_OF);
    json_decref(doc);
    ck_assert_int_eq(testserve_http(s.port, "GET", "/v1/customers/p1", NULL, 10, &r),
                     200);
    testserve_reply_free(&r);
    stop(&s);
}
END_TEST

/* ---- in process ---------------------------------------------------------------------
 */

#define IP_AS_OF_DAY 10226 /* 1997-12-31 */
#define IP_CUSTOMERS 2000

/* Customers who all drop out with probability 0.2 after each repeat
 * purchase (bggeo, r 2, alpha 8 weeks), ages 20..58 weeks; every 10th repeat
 * buyer spends nothing on repeats; the others spend 10..59 per purchase, or
 * draws of a heavy-tailed Gamma-Gamma (q = 0.36) when heavy. */
static void fill_cache_of(const btyd_model *gen, const double *params, bool heavy,
                          int n_customers)
{
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, false);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 42);
    const double gg[3] = {4.0, 0.36, 10.0};
    for (int i = 0; i < n_customers; i++) {
        double T = 20 + (i % 20) * 2, x, t_x, m = 10 + i % 50;
        ck_assert_int_eq(gen->simulate(params, T, rng, &x, &t_x), GSL_SUCCESS);
        int32_t first = IP_AS_OF_DAY - (int32_t)(T * 7);
        /* x + 1 purchases need x + 1 distinct days */
        int32_t span = (int32_t)fmax(floor(t_x * 7), x);
        cache_summary s = {first, first + span, (uint32_t)x + 1, 0, 0, 0};
        if (x > 0 && heavy)
            ck_assert_int_eq(gg_simulate(gg, x, rng, &m), GSL_SUCCESS);
        if (x > 0 && i % 10 != 0)
            s.repeat_units = (int64_t)llround(fmin(x * m, 1e12) * CACHE_AMOUNT_UNITS);
        char id[16];
        snprintf(id, sizeof id, "h%d", i);
        ck_assert_int_eq(cache_upsert(svc.app->dflt->cache, id, &s), CACHE_OK);
    }
    gsl_rng_free(rng);
}

static void fill_cache_n(bool heavy, int n_customers)
{
    static const double geo[3] = {2.0, 8.0, 0.2};
    fill_cache_of(&bggeo_model, geo, heavy, n_customers);
}

static void fill_cache(bool heavy)
{
    fill_cache_n(heavy, IP_CUSTOMERS);
}

static bool refit(char reason[WORKER_REASON_MAX], worker_fail *fail)
{
    worker_env env;
    app_worker_env(svc.app->dflt, &env);
    return worker_refit_once(&env, reason, fail, NULL);
}

START_TEST(test_boot_limit_model_and_heavy_spend)
{
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "as_of", FAULTS_AS_OF, err));
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "model", "bgnbd", err));
    /* heavy-tailed spend and no model yet: the purchase model alone */
    fill_cache(true);
    char reason[WORKER_REASON_MAX];
    worker_fail fail;
    ck_assert_msg(refit(reason, &fail), "%s", reason);
    const cache_model *m = cache_snapshot_acquire(svc.app->dflt->cache);
    ck_assert(!m->has_spend);
    ck_assert_msg(strstr(m->fallback, "no spend model: gamma-gamma fit heavy-tailed") !=
                      NULL,
                  "%s", m->fallback);
    cache_snapshot_release(m);

    fill_cache(false);
    ck_assert_msg(refit(reason, &fail), "%s", reason);
    m = cache_snapshot_acquire(svc.app->dflt->cache);
    ck_assert_ptr_eq(m->model, &bggeo_model);
    ck_assert_msg(fabs(m->params[2] - 0.2) < 0.03, "p = %g", m->params[2]);
    ck_assert(m->has_spend && m->gg_n_zero > 0);
    uint64_t version = m->version;
    size_t n_zero = m->gg_n_zero;
    cache_snapshot_release(m);

    testhttp_response r;
    testhttp_request(svc.port, "GET", "/v1/model", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(testhttp_jstr(r.json, "model"), "bggeo");
    ck_assert_msg(strstr(testhttp_jstr(r.json, "fallback"), "not identified") != NULL,
                  "%s", r.body);
    ck_assert_str_eq(testhttp_jstr(json_object_get(r.json, "settings"), "model"),
                     "bgnbd");
    json_t *spend = json_object_get(r.json, "spend");
    ck_assert_int_eq(testhttp_jint(spend, "n_customers_zero_spend"), (long long)n_zero);
    testhttp_response_free(&r);
    testhttp_request(svc.port, "GET", "/v1/customers/h3", NULL, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    testhttp_response_free(&r);

    /* the same customers, heavy-tailed spend: Gamma-Gamma is refused, but
     * the new purchase fit is served with the spend model that was */
    fill_cache(true);
    m = cache_snapshot_acquire(svc.app->dflt->cache); /* loaded again at start */
    ck_assert_uint_eq(m->version, version);
    ck_assert_ptr_eq(m->model, &bggeo_model);
    double gg_before[3];
    memcpy(gg_before, m->gg_params, sizeof gg_before);
    cache_snapshot_release(m);
    ck_assert_msg(refit(reason, &fail), "%s", reason);
    m = cache_snapshot_acquire(svc.app->dflt->cache);
    ck_assert_uint_gt(m->version, version);
    ck_assert(m->has_spend);
    ck_assert(memcmp(m->gg_params, gg_before, sizeof gg_before) == 0);
    ck_assert_msg(strstr(m->fallback, "spend model kept") != NULL &&
                      strstr(m->fallback, "q = ") != NULL,
                  "%s", m->fallback);
    cache_snapshot_release(m);

    /* another period: that snapshot is not served, and the problem says why */
    ck_assert(config_set(&svc.cfg, "period", "day", err));
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, false);
    testhttp_request(svc.port, "GET", "/v1/model", NULL, &r);
    testhttp_assert_problem(&r, 503, "no-model");
    ck_assert_msg(strstr(r.body,
                         "not fitted under the running settings: fitted under model "
                         "bgnbd, period week") != NULL,
                  "%s", r.body);
    testhttp_response_free(&r);
    testhttp_app_stop(&svc);
}
END_TEST

/* Pareto/NBD configured on the homogeneous drop-out customers: its Gamma
 * of drop-out rates collapses too (s, beta -> infinity); an identified
 * model is served instead (BG/NBD if it is, else bggeo) and says so. */
START_TEST(test_boot_pareto_falls_back)
{
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "as_of", FAULTS_AS_OF, err));
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "model", "pareto", err));
    fill_cache_n(false, 400);
    char reason[WORKER_REASON_MAX];
    worker_fail fail;
    ck_assert_msg(refit(reason, &fail), "%s", reason);
    const cache_model *m = cache_snapshot_acquire(svc.app->dflt->cache);
    ck_assert_msg(m->model == &bggeo_model || m->model == &bgnbd_model, "%s",
                  m->model->name);
    ck_assert_msg(strncmp(m->fallback, "pareto fit not identified", 25) == 0, "%s",
                  m->fallback);
    ck_assert_str_eq(m->settings_model, "pareto");
    cache_snapshot_release(m);
    testhttp_app_stop(&svc);
}
END_TEST

/* Customers who all buy at one rate (bgpois: 0.5 a week, drop-out
 * p ~ Beta(1.2, 4)): BG/NBD's Gamma of rates collapses, and its limit
 * bgpois is served instead, and scores. */
START_TEST(test_boot_homogeneous_rate)
{
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "as_of", FAULTS_AS_OF, err));
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "model", "bgnbd", err));
    static const double rate[3] = {0.5, 1.2, 4.0};
    fill_cache_of(&bgpois_model, rate, false, IP_CUSTOMERS);
    char reason[WORKER_REASON_MAX];
    worker_fail fail;
    ck_assert_msg(refit(reason, &fail), "%s", reason);
    const cache_model *m = cache_snapshot_acquire(svc.app->dflt->cache);
    ck_assert_ptr_eq(m->model, &bgpois_model);
    ck_assert_msg(fabs(m->params[0] - 0.5) < 0.05, "lambda = %g", m->params[0]);
    ck_assert_msg(strstr(m->fallback, "bgpois") != NULL, "%s", m->fallback);
    cache_snapshot_release(m);
    testhttp_response r;
    testhttp_request(svc.port, "GET", "/v1/model", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(testhttp_jstr(r.json, "model"), "bgpois");
    testhttp_response_free(&r);
    testhttp_request(svc.port, "GET", "/v1/customers/h3?horizon_days=730", NULL, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert(testhttp_jnum(r.json, "expected_purchases") >= 0);
    testhttp_response_free(&r);
}
END_TEST

Suite *suite_snapshot_boot(void)
{
    Suite *s = suite_create("snapshot_boot");
    TCase *tc = tcase_create("boot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_boot_skips_bad_snapshots);
    tcase_add_test(tc, test_boot_first_run_and_changed_settings);
    tcase_add_test(tc, test_boot_first_model_after_post);
    tcase_add_test(tc, test_boot_limit_model_and_heavy_spend);
    tcase_add_test(tc, test_boot_pareto_falls_back);
    tcase_add_test(tc, test_boot_homogeneous_rate);
    suite_add_tcase(s, tc);
    return s;
}

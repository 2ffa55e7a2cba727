/* GET /v1/acquisition and GET /v1/cohorts (docs/acquisition.md, "Answers"),
 * in-process against a real PostgreSQL on the CDNOW sample (2357 customers,
 * the published BG/NBD and Gamma-Gamma parameters with standard errors,
 * weekly, as of 1997-09-30): the answers equal model/acquisition.h's and
 * summary/cohorts.h's on the same customers; the defaults, the bounds'
 * 400s and the tenant form; the kept answer follows an ingested batch. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/acq_view.h"
#include "app/list_table.h"
#include "cache/cache.h"
#include "model/acquisition.h"
#include "model/bgnbd.h"
#include "model/retention.h"
#include "openapi_check.h"
#include "store/acquisition.h"
#include "summary/cohorts.h"
#include "summary/summary.h"
#include "testhttp.h"
#include "testtenant.h"

#define CDNOW_TXNS "tests/data/cdnow_sample_transactions.csv"

static testhttp_app t;

static void set_model(void)
{
    testhttp_set_cdnow_model(&t, 7, 0);
}

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&t, "ltvd_acquisition_http");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "period", "week", err));
    ck_assert(config_set(&t.cfg, "as_of", "1997-09-30", err));
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

static void get(const char *target, int status, testhttp_response *r)
{
    testhttp_request(t.port, "GET", target, NULL, r);
    ck_assert_msg(r->status == status, "GET %s: %d %s", target, r->status, r->body);
}

static void assert_400(const char *target, const char *word)
{
    testhttp_response r;
    get(target, 400, &r);
    testhttp_assert_problem(&r, 400, "invalid-parameter");
    const char *detail = testhttp_jstr(r.json, "detail");
    ck_assert_msg(strstr(detail, word) != NULL, "%s: %s", target, detail);
    testhttp_response_free(&r);
}

static double repeat_value(unsigned months)
{
    const ltvd_config *cfg = &t.cfg;
    acq_model a = {.m = &bgnbd_model,
                   .clv = {months, cfg->discount_rate, cfg->margin, CLV_MONTH_WEEKS}};
    memcpy(a.params, testhttp_cdnow_bgnbd, sizeof testhttp_cdnow_bgnbd);
    memcpy(a.gg, testhttp_cdnow_gg, sizeof testhttp_cdnow_gg);
    double v;
    ck_assert_int_eq(acq_repeat_ltv(&a, NULL, &v), GSL_SUCCESS);
    return v;
}

START_TEST(test_acq_http_acquisition)
{
    testhttp_response r;
    get("/v1/acquisition", 200, &r);
    ck_assert_int_eq(testhttp_jint(r.json, "months"), 36);
    ck_assert_double_eq(testhttp_jnum(r.json, "target_ratio"), 3);
    json_t *all = json_object_get(r.json, "overall");
    ck_assert_int_eq(testhttp_jint(all, "customers"), 2357);
    double v = repeat_value(36);
    ck_assert_double_eq_tol(testhttp_jnum(all, "new_customer_repeat_ltv"), v, 1e-9 * v);
    double ltv = testhttp_jnum(all, "new_customer_ltv");
    ck_assert_double_eq_tol(ltv, v + testhttp_jnum(all, "first_purchase_value"), 1e-9);
    ck_assert_double_eq_tol(testhttp_jnum(all, "max_cac"), ltv / 3, 1e-9);
    json_t *iv = json_object_get(all, "new_customer_ltv_interval");
    ck_assert(testhttp_jnum(iv, "low") < ltv && ltv < testhttp_jnum(iv, "high"));
    ck_assert(json_is_null(json_object_get(all, "cac"))); /* no spend */
    json_t *m = json_object_get(r.json, "model");
    ck_assert_int_eq(testhttp_jint(m, "version"), 7);
    ck_assert_str_eq(testhttp_jstr(m, "name"), "bgnbd");
    testhttp_response_free(&r);
    /* months and target_ratio */
    get("/v1/acquisition?months=12&target_ratio=2.5", 200, &r);
    all = json_object_get(r.json, "overall");
    v = repeat_value(12);
    ck_assert_double_eq_tol(testhttp_jnum(all, "new_customer_repeat_ltv"), v, 1e-9 * v);
    ck_assert_double_eq_tol(testhttp_jnum(all, "max_cac"),
                            testhttp_jnum(all, "new_customer_ltv") / 2.5, 1e-9);
    testhttp_response_free(&r);
    /* the tenant form */
    get("/v1/tenants/default/acquisition?months=12", 200, &r);
    testhttp_response_free(&r);
}
END_TEST

START_TEST(test_acq_http_cohorts)
{
    testhttp_response r;
    get("/v1/cohorts?by=month", 200, &r);
    json_t *rows = json_object_get(r.json, "cohorts"), *c;
    ck_assert_uint_eq(json_array_size(rows), 3);
    static const int customers[3] = {781, 857, 719};
    double revenue = 0, predicted = 0;
    size_t i;
    json_array_foreach(rows, i, c)
    {
        ck_assert_int_eq(testhttp_jint(c, "customers"), customers[i]);
        ck_assert_int_eq(testhttp_jint(c, "predicted_customers"), customers[i]);
        revenue += testhttp_jnum(c, "revenue");
        predicted += testhttp_jnum(c, "predicted_remaining_value");
        json_t *ret = json_object_get(c, "retention");
        ck_assert_uint_eq(json_array_size(ret), 9 - i); /* to 1997-09 */
        ck_assert_double_eq(json_number_value(json_array_get(ret, 0)), 1.0);
    }
    /* what the sample's customers spent up to the as_of day (the cache
     * holds no later day) */
    ck_assert_double_eq_tol(revenue, 173115.55, 1e-6);
    ck_assert(predicted > 0);
    testhttp_response_free(&r);
    get("/v1/cohorts", 200, &r); /* by=month is the default */
    testhttp_response_free(&r);
    get("/v1/tenants/default/cohorts", 200, &r);
    testhttp_response_free(&r);
}
END_TEST

START_TEST(test_acq_http_bad_parameters)
{
    assert_400("/v1/acquisition?months=0", "months");
    assert_400("/v1/acquisition?months=1201", "months");
    assert_400("/v1/acquisition?months=2.5", "months");
    assert_400("/v1/acquisition?months=abc", "months");
    assert_400("/v1/acquisition?target_ratio=0", "target_ratio");
    assert_400("/v1/acquisition?target_ratio=-1", "target_ratio");
    assert_400("/v1/acquisition?target_ratio=nan", "target_ratio");
    assert_400("/v1/acquisition?horizon=3", "horizon");
    assert_400("/v1/cohorts?by=week", "by");
    assert_400("/v1/cohorts?months=3", "months");
}
END_TEST

/* The kept answer is not served once a batch changed the cache. */
START_TEST(test_acq_http_follows_ingest)
{
    testhttp_response r;
    get("/v1/cohorts", 200, &r);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "cohorts")), 3);
    testhttp_response_free(&r);
    /* kept: no pass while nothing changes (the score table may become
     * ready once in between: at most one more pass) */
    unsigned long passes = app_acq_passes(t.app->dflt);
    for (int i = 0; i < 5; i++) {
        get(i % 2 ? "/v1/acquisition" : "/v1/acquisition?months=12", 200, &r);
        testhttp_response_free(&r);
    }
    ck_assert_uint_le(app_acq_passes(t.app->dflt), passes + 1);
    get("/v1/cohorts", 200, &r);
    testhttp_response_free(&r);
    passes = app_acq_passes(t.app->dflt);
    get("/v1/acquisition", 200, &r);
    testhttp_response_free(&r);
    get("/v1/cohorts", 200, &r);
    testhttp_response_free(&r);
    ck_assert_uint_eq(app_acq_passes(t.app->dflt), passes);
    const char *batch = "{\"transactions\":[{\"id\":\"n1\",\"customer_id\":\"new1\","
                        "\"occurred_at\":\"1997-09-02T10:00:00Z\",\"amount\":40}]}";
    testhttp_request(t.port, "POST", "/v1/transactions", batch, &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "POST: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    get("/v1/cohorts", 200, &r);
    json_t *rows = json_object_get(r.json, "cohorts");
    ck_assert_uint_eq(json_array_size(rows), 4);
    ck_assert_str_eq(testhttp_jstr(json_array_get(rows, 3), "month"), "1997-09");
    testhttp_response_free(&r);
    get("/v1/acquisition", 200, &r);
    ck_assert_int_eq(testhttp_jint(json_object_get(r.json, "overall"), "customers"),
                     2358);
    testhttp_response_free(&r);
}
END_TEST

/* The retention matrix counted from the transactions up to the as_of day:
 * share of each cohort (first-purchase month) buying in each later month. */
START_TEST(test_acq_http_retention_matrix)
{
    txn_set tx;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(CDNOW_TXNS, &tx, err) == 0, "%s", err);
    int64_t as_of = summary_days_from_civil(1997, 9, 30);
    int32_t *first = malloc(tx.n_customers * sizeof *first);
    uint64_t *bits = calloc(tx.n_customers, sizeof *bits);
    for (size_t i = 0; i < tx.n_customers; i++)
        first[i] = INT32_MAX;
    for (size_t j = 0; j < tx.n; j++) {
        int32_t m = cohort_month_of_day(tx.items[j].day);
        if (tx.items[j].day <= as_of && m < first[tx.items[j].customer])
            first[tx.items[j].customer] = m;
    }
    for (size_t j = 0; j < tx.n; j++)
        if (tx.items[j].day <= as_of)
            bits[tx.items[j].customer] |= UINT64_C(1)
                                          << (cohort_month_of_day(tx.items[j].day) -
                                              first[tx.items[j].customer]);
    testhttp_response r;
    get("/v1/cohorts", 200, &r);
    json_t *rows = json_object_get(r.json, "cohorts"), *c;
    size_t i;
    json_array_foreach(rows, i, c)
    {
        int32_t mo;
        ck_assert_int_eq(cohort_parse_month(testhttp_jstr(c, "month"), &mo), 0);
        json_t *ret = json_object_get(c, "retention");
        for (size_t k = 0; k < json_array_size(ret); k++) {
            double n = 0, active = 0;
            for (size_t u = 0; u < tx.n_customers; u++)
                if (first[u] == mo) {
                    n++;
                    active += (bits[u] >> k) & 1;
                }
            ck_assert_double_eq_tol(json_number_value(json_array_get(ret, k)), active / n,
                                    1e-12);
        }
    }
    testhttp_response_free(&r);
    free(first);
    free(bits);
    txn_set_free(&tx);
}
END_TEST

static json_t *channel_of(json_t *doc, const char *name)
{
    json_t *chs = json_object_get(doc, "channels"), *g;
    size_t i;
    json_array_foreach(chs, i, g)
    {
        json_t *n = json_object_get(g, "channel");
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
            return g;
    }
    ck_abort_msg("no channel %s", name);
    return NULL;
}

/* Two new customers acquired by "search" in 1997-09 through transaction
 * items, spend 100 with 8 leads that month and 50 (no leads) for "tv",
 * which acquired nobody: CAC 50, conversion 2/8, lead value 0.25 LTV; tv
 * has spend and a null CAC. Then the spend stored in PostgreSQL is loaded
 * at the next start. */
START_TEST(test_acq_http_channels_and_spend)
{
    const char *batch =
        "{\"transactions\":["
        "{\"id\":\"s1\",\"customer_id\":\"new-a\",\"occurred_at\":\"1997-09-02T10:00:"
        "00Z\","
        "\"amount\":40,\"acquisition_channel\":\"search\",\"campaign\":\"brand\"},"
        "{\"id\":\"s1\",\"customer_id\":\"new-b\",\"occurred_at\":\"1997-09-03T10:00:"
        "00Z\","
        "\"amount\":20,\"acquisition_channel\":\"search\"}]}";
    testhttp_response r;
    testhttp_request(t.port, "POST", "/v1/transactions", batch, &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "POST: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    store_spend sp[2] = {{"search", 1997 * 12 + 8, "100", 8},
                         {"tv", 1997 * 12 + 8, "50", -1}};
    ck_assert(app_acq_spend_merge(t.app->dflt, sp, 2));
    get("/v1/acquisition", 200, &r);
    json_t *s = channel_of(r.json, "search");
    ck_assert_int_eq(testhttp_jint(s, "customers"), 2);
    ck_assert_double_eq_tol(testhttp_jnum(s, "first_purchase_value"), t.cfg.margin * 30,
                            1e-9);
    ck_assert_double_eq_tol(testhttp_jnum(s, "cac"), 50, 1e-12);
    ck_assert_double_eq_tol(testhttp_jnum(s, "conversion"), 0.25, 1e-12);
    double ltv = testhttp_jnum(s, "new_customer_ltv");
    ck_assert_double_eq_tol(testhttp_jnum(s, "lead_value"), 0.25 * ltv, 1e-9);
    ck_assert_double_eq_tol(testhttp_jnum(s, "ltv_cac"), ltv / 50, 1e-12);
    json_t *tv = channel_of(r.json, "tv");
    ck_assert_int_eq(testhttp_jint(tv, "customers"), 0);
    ck_assert_double_eq_tol(testhttp_jnum(tv, "spend"), 50, 1e-12);
    ck_assert(json_is_null(json_object_get(tv, "cac")));
    json_t *all = json_object_get(r.json, "overall");
    ck_assert_int_eq(testhttp_jint(all, "customers"), 2359);
    ck_assert_double_eq_tol(testhttp_jnum(all, "spend"), 150, 1e-12);
    ck_assert_double_eq_tol(testhttp_jnum(all, "cac"), 75, 1e-12);
    testhttp_response_free(&r);
    /* a spend PUT reaches the copy once committed (tv, which no customer
     * has, declared first) */
    testhttp_request(t.port, "PATCH", "/v1/tenants/default",
                     "{\"settings\":{\"acquisition_channels\":[\"tv\"]}}", &r);
    ck_assert_msg(r.status == 200, "PATCH: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    testhttp_request(
        t.port, "PUT", "/v1/acquisition/spend",
        "{\"items\":[{\"channel\":\"tv\",\"month\":\"1997-09\",\"spend\":70}]}", &r);
    ck_assert_msg(r.status == 200, "PUT spend: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    get("/v1/acquisition", 200, &r);
    ck_assert_double_eq_tol(testhttp_jnum(channel_of(r.json, "tv"), "spend"), 70, 1e-12);
    ck_assert_double_eq_tol(testhttp_jnum(json_object_get(r.json, "overall"), "spend"),
                            170, 1e-12);
    testhttp_response_free(&r);
    /* stored, then loaded by a new start */
    store_db *db = testhttp_db_open(&t);
    store_spend stored[1] = {{"search", 1997 * 12 + 8, "300", 10}};
    bool unknown[1];
    ck_assert_int_eq(store_spend_put(db, "default", stored, 1, NULL, unknown), 0);
    store_db_close(db);
    testhttp_app_stop(&t);
    testhttp_app_start(&t, false);
    set_model();
    get("/v1/acquisition", 200, &r);
    s = channel_of(r.json, "search");
    ck_assert_double_eq_tol(testhttp_jnum(s, "spend"), 300, 1e-12);
    ck_assert_double_eq_tol(testhttp_jnum(s, "cac"), 150, 1e-12);
    ck_assert_double_eq_tol(testhttp_jnum(s, "conversion"), 0.2, 1e-12);
    testhttp_response_free(&r);
}
END_TEST

/* The spend copy's index by (channel, month): 3000 rows merged in pages
 * (the index grows from 128 slots to 8192), then 500 of them replaced; each
 * channel's spend is its rows' sum, each row counted once. */
START_TEST(test_acq_http_spend_copy_index)
{
    enum { CHANNELS = 6, MONTHS = 500 };
    static store_spend sp[CHANNELS * MONTHS];
    static char text[CHANNELS * MONTHS][16], names[CHANNELS][16];
    for (int c = 0; c < CHANNELS; c++)
        for (int k = 0; k < MONTHS; k++) {
            store_spend *x = &sp[c * MONTHS + k];
            snprintf(names[c], sizeof names[c], "ix%d", c);
            x->channel = names[c];
            x->month = 1970 * 12 + k;
            snprintf(text[c * MONTHS + k], sizeof text[0], "%d", k);
            x->spend = text[c * MONTHS + k];
            x->leads = -1;
        }
    for (int page = 0; page < CHANNELS * MONTHS; page += 700) {
        size_t n =
            CHANNELS * MONTHS - page < 700 ? (size_t)(CHANNELS * MONTHS - page) : 700;
        ck_assert(app_acq_spend_merge(t.app->dflt, sp + page, n));
    }
    for (int k = 0; k < MONTHS; k++)
        sp[k].spend = "1"; /* channel ix0: every row replaced */
    ck_assert(app_acq_spend_merge(t.app->dflt, sp, MONTHS));
    testhttp_response r;
    get("/v1/acquisition", 200, &r);
    ck_assert_double_eq_tol(testhttp_jnum(channel_of(r.json, "ix0"), "spend"), MONTHS,
                            1e-9);
    for (int c = 1; c < CHANNELS; c++) {
        char name[16];
        snprintf(name, sizeof name, "ix%d", c);
        ck_assert_double_eq_tol(testhttp_jnum(channel_of(r.json, name), "spend"),
                                MONTHS * (MONTHS - 1) / 2, 1e-9);
    }
    testhttp_response_free(&r);
}
END_TEST

static void *get_view(void *arg)
{
    app_acq_view *v = NULL;
    *(int *)arg = (int)app_acq_view_get(t.app->dflt, &v);
    app_acq_view_release(v);
    return NULL;
}

/* Eight requests at once after a change make one pass: the others wait for
 * it (single flight) or find it kept. */
START_TEST(test_acq_http_single_flight)
{
    testhttp_response r;
    get("/v1/cohorts", 200, &r);
    testhttp_response_free(&r);
    const char *batch = "{\"transactions\":[{\"id\":\"f1\",\"customer_id\":\"flight\","
                        "\"occurred_at\":\"1997-09-05T10:00:00Z\",\"amount\":9}]}";
    testhttp_request(t.port, "POST", "/v1/transactions", batch, &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "POST: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    size_t bytes;
    bool table = app_list_table_ready(t.app->dflt, &bytes);
    unsigned long passes = app_acq_passes(t.app->dflt);
    pthread_t th[8];
    int st[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, get_view, &st[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(st[i], APP_LIST_OK);
    }
    /* one pass; one more only if the score table became ready meanwhile */
    bool now_ready = app_list_table_ready(t.app->dflt, &bytes);
    ck_assert_uint_le(app_acq_passes(t.app->dflt), passes + 1 + (now_ready != table));
    ck_assert_uint_ge(app_acq_passes(t.app->dflt), passes + 1);
}
END_TEST

/* ---------------------------------------------------------- subscribers */

/* Fader & Hardie's (2007) regular cohort, survivors of 1000 after years
 * 0..7, as yearly subscriptions started 1990-01-01 (decision 7 is observed
 * as of 1997-09-30, decision 8 not). Subscription i belongs to "sub-search"
 * (i % 3 == 0), "sub-email" (1) or "sub-none" (2, not a customer of the
 * cache); its start amount is 100 + i % 7, its renewals 500 (the start
 * amount is what counts), prefix its tenant's path. */
static const int fh_regular[8] = {1000, 631, 468, 382, 326, 289, 262, 241};
static const char *const fh_customer[3] = {"sub-search", "sub-email", "sub-none"};

static void post_fh_subscriptions(const char *prefix, double start_scale)
{
    size_t cap = 2000000, len = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    len += (size_t)snprintf(b + len, cap - len, "{\"items\":[");
    for (int i = 0; i < 1000; i++) {
        int k = 0;
        while (k < 7 && i < fh_regular[k + 1])
            k++;
        for (int y = 0; y <= k; y++)
            len += (size_t)snprintf(
                b + len, cap - len,
                "%s{\"id\":\"e%d\",\"customer_id\":\"%s\",\"subscription_id\":\"f%d\","
                "\"event\":\"%s\",\"occurred_at\":\"%d-01-01T00:00:00Z\",\"amount\":%g,"
                "\"billing_period\":\"year\"}",
                len > 10 ? "," : "", y, fh_customer[i % 3], i, y == 0 ? "start" : "renew",
                1990 + y, y == 0 ? start_scale * (100 + i % 7) : 500);
        if (k < 7 && i % 2 == 1)
            len += (size_t)snprintf(
                b + len, cap - len,
                ",{\"id\":\"c\",\"customer_id\":\"%s\",\"subscription_id\":\"f%d\","
                "\"event\":\"cancel\",\"occurred_at\":\"%d-12-01T00:00:00Z\","
                "\"amount\":0,\"billing_period\":\"year\"}",
                fh_customer[i % 3], i, 1990 + k);
    }
    snprintf(b + len, cap - len, "]}");
    char target[128];
    snprintf(target, sizeof target, "%s/subscriptions", prefix);
    testhttp_response r;
    testhttp_request(t.port, "POST", target, b, &r);
    ck_assert_msg(r.status == 200, "POST %s: %d %.300s", target, r.status, r.body);
    testhttp_response_free(&r);
    free(b);
}

/* The expected value at margin x the mean start amount of the
 * subscriptions i with i % 3 in `which` (a mask of 1 << (i % 3)). */
static double fh_value(const retention_params *p, unsigned which, size_t *n)
{
    double sum = 0;
    *n = 0;
    for (int i = 0; i < 1000; i++)
        if (which & (1u << (i % 3))) {
            sum += 100 + i % 7;
            (*n)++;
        }
    double v, d = pow(1 + t.cfg.discount_rate, 12) - 1;
    ck_assert_int_eq(
        retention_new_subscriber_value(p, t.cfg.margin * sum / (double)*n, d, &v),
        GSL_SUCCESS);
    return v;
}

static void near12(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-12 * fmax(1, fabs(want)),
                  "%s: %.17g, want %.17g", what, got, want);
}

static void assert_group(json_t *g, const retention_params *p, unsigned which,
                         const char *what)
{
    size_t n;
    double v = fh_value(p, which, &n);
    ck_assert_int_eq(testhttp_jint(g, "subscribers"), (json_int_t)n);
    near12(testhttp_jnum(g, "new_subscriber_value"), v, what);
    near12(testhttp_jnum(g, "subscription_max_cac"), v / 3, what);
}

/* doc is an AcquisitionReport of openapi.yaml. */
static void assert_schema(json_t *doc)
{
    char err[OA_ERR_MAX];
    json_t *spec = oa_load("openapi.yaml", err);
    ck_assert_msg(spec != NULL, "%s", err);
    const json_t *schema = oa_pointer(spec, "#/components/schemas/AcquisitionReport");
    ck_assert_ptr_nonnull(schema);
    ck_assert_msg(oa_validate(spec, schema, doc, err), "%s", err);
    json_decref(spec);
}

/* Without subscriptions subscription_value is null with the reason and
 * every group's subscriber members are 0 / null; with the regular cohort
 * (and another tenant's subscriptions of the same customer ids at ten
 * times the amounts, never counted) the value is the retention model's at
 * the served parameters, overall and per channel from each channel's mean
 * start amount; search's CAC gives its subscription LTV/CAC. Monthly
 * subscriptions without a decision observed have no fit: null with the
 * reason, then the yearly period (with a fit) is valued. A customer's
 * channel changed by PUT moves their subscriptions. The same after a
 * restart (the start amounts read from PostgreSQL), and with the BdW.
 * Every answer is an AcquisitionReport of openapi.yaml. */
START_TEST(test_acq_http_subscribers)
{
    testhttp_response r;
    get("/v1/acquisition", 200, &r);
    ck_assert(json_is_null(json_object_get(r.json, "subscription_value")));
    ck_assert_ptr_nonnull(
        strstr(testhttp_jstr(r.json, "subscription_value_reason"), "no subscriptions"));
    json_t *all = json_object_get(r.json, "overall");
    ck_assert_int_eq(testhttp_jint(all, "subscribers"), 0);
    ck_assert(json_is_null(json_object_get(all, "new_subscriber_value")));
    ck_assert(json_is_null(json_object_get(all, "subscription_max_cac")));
    assert_schema(r.json);
    testhttp_response_free(&r);
    /* monthly subscriptions with no renewal decision observed: no fit */
    testhttp_request(
        t.port, "POST", "/v1/subscriptions",
        "{\"items\":[{\"id\":\"e0\",\"customer_id\":\"sub-search\","
        "\"subscription_id\":\"m1\",\"event\":\"start\",\"occurred_at\":"
        "\"1997-09-20T00:00:00Z\",\"amount\":9,\"billing_period\":\"month\"}]}",
        &r);
    ck_assert_msg(r.status == 200, "POST: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    get("/v1/acquisition", 200, &r);
    ck_assert(json_is_null(json_object_get(r.json, "subscription_value")));
    ck_assert_msg(strstr(testhttp_jstr(r.json, "subscription_value_reason"),
                         "no retention model is served for the monthly") != NULL,
                  "%s", testhttp_jstr(r.json, "subscription_value_reason"));
    ck_assert_int_eq(testhttp_jint(json_object_get(r.json, "overall"), "subscribers"), 0);
    assert_schema(r.json);
    testhttp_response_free(&r);

    const char *batch =
        "{\"transactions\":["
        "{\"id\":\"x1\",\"customer_id\":\"sub-search\",\"occurred_at\":"
        "\"1997-09-02T10:00:00Z\",\"amount\":40,\"acquisition_channel\":\"search\"},"
        "{\"id\":\"x1\",\"customer_id\":\"sub-email\",\"occurred_at\":"
        "\"1997-09-03T10:00:00Z\",\"amount\":20,\"acquisition_channel\":\"email\"}]}";
    testhttp_request(t.port, "POST", "/v1/transactions", batch, &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "POST: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    store_spend sp[1] = {{"search", 1997 * 12 + 8, "100", -1}};
    ck_assert(app_acq_spend_merge(t.app->dflt, sp, 1));
    testtenant_create(t.port, "other", NULL);
    post_fh_subscriptions("/v1/tenants/other", 10);
    post_fh_subscriptions("/v1", 1);

    get("/v1/acquisition", 200, &r);
    json_t *sv = json_object_get(r.json, "subscription_value");
    ck_assert_msg(json_is_object(sv), "%.400s", r.body);
    ck_assert(json_is_null(json_object_get(r.json, "subscription_value_reason")));
    ck_assert_str_eq(testhttp_jstr(sv, "source"), "subscriptions");
    ck_assert_str_eq(testhttp_jstr(sv, "billing_period"), "year");
    ck_assert_str_eq(testhttp_jstr(sv, "model"), "sbg");
    json_t *pj = json_object_get(sv, "params");
    retention_params p = {RETENTION_SBG, testhttp_jnum(pj, "alpha"),
                          testhttp_jnum(pj, "beta"), 1};
    /* the served fit is the one on the published counts */
    double counts[8];
    for (int k = 0; k < 8; k++)
        counts[k] = fh_regular[k];
    retention_cohort one = {counts, 8};
    retention_fit_result direct;
    ck_assert_int_eq(retention_fit(RETENTION_SBG, &one, 1, &direct), GSL_SUCCESS);
    ck_assert_double_eq_tol(p.alpha, direct.params.alpha, 1e-6);
    ck_assert_double_eq_tol(p.beta, direct.params.beta, 1e-6);
    near12(testhttp_jnum(sv, "discount_rate"), pow(1 + t.cfg.discount_rate, 12) - 1,
           "discount per year");
    size_t n;
    double v = fh_value(&p, 7, &n);
    ck_assert_int_eq(testhttp_jint(sv, "subscribers"), 1000);
    near12(testhttp_jnum(sv, "new_subscriber_value"), v, "new_subscriber_value");
    ck_assert(testhttp_jnum(sv, "naive_arpa_over_churn") > 0);
    assert_group(json_object_get(r.json, "overall"), &p, 7, "overall");
    json_t *s = channel_of(r.json, "search");
    assert_group(s, &p, 1, "search");
    assert_group(channel_of(r.json, "email"), &p, 2, "email");
    double vs = fh_value(&p, 1, &n);
    ck_assert_double_eq_tol(testhttp_jnum(s, "cac"), 100, 1e-12);
    near12(testhttp_jnum(s, "subscription_ltv_cac"), vs / 100, "search ltv/cac");
    ck_assert(json_is_null(json_object_get(channel_of(r.json, "email"),
                                           "subscription_ltv_cac"))); /* no spend */
    assert_schema(r.json);
    testhttp_response_free(&r);
    /* a channel changed by PUT: the kept sums by channel follow */
    testhttp_request(t.port, "PUT", "/v1/customers/sub-email/attributes",
                     "{\"acquisition_channel\":\"search\",\"campaign\":null}", &r);
    ck_assert_msg(r.status == 200, "PUT: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    get("/v1/acquisition", 200, &r);
    assert_group(channel_of(r.json, "search"), &p, 3, "search and email's");
    assert_group(json_object_get(r.json, "overall"), &p, 7, "overall after the PUT");
    testhttp_response_free(&r);
    testhttp_request(t.port, "PUT", "/v1/customers/sub-email/attributes",
                     "{\"acquisition_channel\":\"email\",\"campaign\":null}", &r);
    ck_assert_msg(r.status == 200, "PUT: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    /* the start amounts as loaded from PostgreSQL by a new start */
    testhttp_app_stop(&t);
    testhttp_app_start(&t, false);
    set_model();
    get("/v1/acquisition", 200, &r);
    sv = json_object_get(r.json, "subscription_value");
    ck_assert_msg(json_is_object(sv), "%.400s", r.body);
    near12(testhttp_jnum(sv, "new_subscriber_value"), v, "after a restart");
    assert_group(channel_of(r.json, "search"), &p, 1, "search after a restart");
    testhttp_response_free(&r);
    /* the BdW when the tenant's retention_model says so (params with c) */
    testhttp_request(t.port, "PATCH", "/v1/tenants/default",
                     "{\"settings\":{\"as_of\":\"1997-09-30\","
                     "\"retention_model\":\"bdw\"}}",
                     &r);
    ck_assert_msg(r.status == 200, "PATCH: %d %s", r.status, r.body);
    testhttp_response_free(&r);
    get("/v1/acquisition", 200, &r);
    sv = json_object_get(r.json, "subscription_value");
    ck_assert_msg(json_is_object(sv), "%.400s", r.body);
    ck_assert_str_eq(testhttp_jstr(sv, "model"), "bdw");
    pj = json_object_get(sv, "params");
    retention_params b = {RETENTION_BDW, testhttp_jnum(pj, "alpha"),
                          testhttp_jnum(pj, "beta"), testhttp_jnum(pj, "c")};
    near12(testhttp_jnum(sv, "new_subscriber_value"), fh_value(&b, 7, &n), "bdw");
    assert_group(channel_of(r.json, "email"), &b, 2, "email, bdw");
    assert_schema(r.json);
    testhttp_response_free(&r);
}
END_TEST

Suite *suite_acquisition_http(void)
{
    Suite *s = suite_create("acquisition_http");
    TCase *tc = tcase_create("acquisition_http");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_acq_http_acquisition);
    tcase_add_test(tc, test_acq_http_cohorts);
    tcase_add_test(tc, test_acq_http_bad_parameters);
    tcase_add_test(tc, test_acq_http_follows_ingest);
    tcase_add_test(tc, test_acq_http_retention_matrix);
    tcase_add_test(tc, test_acq_http_channels_and_spend);
    tcase_add_test(tc, test_acq_http_spend_copy_index);
    tcase_add_test(tc, test_acq_http_single_flight);
    tcase_add_test(tc, test_acq_http_subscribers);
    suite_add_tcase(s, tc);
    return s;
}

/* GET /v1/acquisition's per-channel model (docs/acquisition.md "Channels
 * differ"; app/acq_chan.h), in-process against a real PostgreSQL on the
 * CDNOW sample with the made-up channels of tests/data: the first answer
 * for a snapshot says "fitting" with every channel at the pooled value;
 * the fit runs in the background and a later answer (polled, bounded) says
 * "ready" with each channel's value equal to the offline computation
 * (model/acq_channels.h on the same customers, computed here from the CSV
 * files); a new snapshot starts over. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/acq_view.h"
#include "app/list_table.h"
#include "cache/cache.h"
#include "model/acq_channels.h"
#include "model/bgnbd.h"
#include "openapi_check.h"
#include "summary/summary.h"
#include "testhttp.h"
#include "testtenant.h"

#define CDNOW_TXNS "tests/data/cdnow_sample_transactions.csv"
#define ATTRS "tests/data/cdnow_attributes.csv"

static testhttp_app t;

/* The attributes file: ids[i] has channel names[chan[i]] (or none: -1). */
typedef struct attrs {
    char ids[3000][16];
    int chan[3000];
    size_t n;
    char names[8][32];
    size_t n_names;
} attrs;
static attrs at;

static void read_attrs(void)
{
    FILE *f = fopen(ATTRS, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    at.n = at.n_names = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f) != NULL && at.n < 3000) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        ck_assert_ptr_nonnull(c2);
        *c1 = *c2 = '\0';
        snprintf(at.ids[at.n], sizeof at.ids[0], "%.15s", line);
        int k = -1;
        for (size_t j = 0; c1[1] != '\0' && j < at.n_names && k < 0; j++)
            if (strcmp(at.names[j], c1 + 1) == 0)
                k = (int)j;
        if (c1[1] != '\0' && k < 0) {
            k = (int)at.n_names;
            snprintf(at.names[at.n_names++], sizeof at.names[0], "%.31s", c1 + 1);
        }
        at.chan[at.n++] = k;
    }
    fclose(f);
}

static int channel_of_id(const char *id)
{
    for (size_t i = 0; i < at.n; i++)
        if (strcmp(at.ids[i], id) == 0)
            return at.chan[i];
    return -1;
}

static int64_t last_day(void)
{
    txn_set x;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(CDNOW_TXNS, &x, err) == 0, "%s", err);
    int64_t d = x.last_day;
    txn_set_free(&x);
    return d;
}

static void set_model(uint64_t version)
{
    testhttp_set_cdnow_model(&t, version, (double)last_day() * 86400);
}

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&t, "ltvd_acq_channels_http");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "period", "week", err));
    testhttp_app_start(&t, false); /* migrates */
    testhttp_app_stop(&t);
    testhttp_load_cdnow(&t, CDNOW_TXNS);
    testhttp_app_start(&t, false);
    read_attrs();
    for (size_t i = 0; i < at.n; i++) /* in the file's order: dictionary = names */
        if (at.chan[i] >= 0)
            ck_assert_int_eq(cache_set_attrs(t.app->dflt->cache, at.ids[i],
                                             at.names[at.chan[i]], NULL),
                             CACHE_OK);
    set_model(7);
    ck_assert(app_list_start(t.app->dflt));
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

static const char *status_of(json_t *doc)
{
    return testhttp_jstr(json_object_get(doc, "channel_model"), "status");
}

static json_t *channel(json_t *doc, const char *name)
{
    json_t *g;
    size_t i;
    json_array_foreach(json_object_get(doc, "channels"), i, g)
    {
        json_t *n = json_object_get(g, "channel");
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
            return g;
    }
    ck_abort_msg("no channel %s", name);
    return NULL;
}

/* GET /v1/acquisition until its channel model is "ready" (at most ~30 s:
 * only to detect a hang). */
static void get_ready(testhttp_response *r)
{
    for (int i = 0; i < 600; i++) {
        testhttp_request(t.port, "GET", "/v1/acquisition", NULL, r);
        ck_assert_int_eq(r->status, 200);
        if (strcmp(status_of(r->json), "ready") == 0)
            return;
        ck_assert_str_eq(status_of(r->json), "fitting");
        testhttp_response_free(r);
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    ck_abort_msg("the channel model never became ready");
}

/* The offline values: the same customers from the CSV files, over months. */
static void offline(acq_channel_fit *f, acq_value *distinct, const acq_value **per,
                    unsigned months)
{
    txn_set x;
    summary_set s;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(CDNOW_TXNS, &x, err) == 0, "%s", err);
    ck_assert_int_eq(summary_from_transactions(&x, x.last_day, 7, &s), 0);
    btyd_pattern *p = malloc(s.n * sizeof *p);
    uint32_t *ch = malloc(s.n * sizeof *ch);
    for (size_t i = 0; i < s.n; i++) {
        const cust_summary *c = &s.rows[i];
        p[i] = (btyd_pattern){c->frequency, c->recency, c->T, 1};
        int k = channel_of_id(c->id);
        ch[i] = k >= 0 ? (uint32_t)k : ACQ_CHANNEL_NONE;
    }
    const char *why;
    ck_assert_int_eq(acq_channels_fit(&bgnbd_model, p, ch, s.n, at.n_names, 30, f, &why),
                     GSL_SUCCESS);
    const ltvd_config *cfg = &t.cfg;
    acq_model a = {.m = &bgnbd_model,
                   .clv = {months, cfg->discount_rate, cfg->margin, CLV_MONTH_WEEKS}};
    memcpy(a.params, testhttp_cdnow_bgnbd, sizeof testhttp_cdnow_bgnbd);
    memcpy(a.se, testhttp_cdnow_bgnbd_se, sizeof testhttp_cdnow_bgnbd_se);
    memcpy(a.gg, testhttp_cdnow_gg, sizeof testhttp_cdnow_gg);
    memcpy(a.gg_se, testhttp_cdnow_gg_se, sizeof testhttp_cdnow_gg_se);
    acq_channels_values(f, &a, distinct, per);
    free(p);
    free(ch);
    summary_set_free(&s);
    txn_set_free(&x);
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

static void assert_pooled(json_t *doc)
{
    assert_schema(doc);
    double pooled =
        testhttp_jnum(json_object_get(doc, "overall"), "new_customer_repeat_ltv");
    for (size_t k = 0; k < at.n_names; k++) {
        json_t *g = channel(doc, at.names[k]);
        ck_assert_double_eq(testhttp_jnum(g, "new_customer_repeat_ltv"), pooled);
        ck_assert_str_eq(testhttp_jstr(json_object_get(g, "channel_params"), "source"),
                         "pooled_model");
    }
}

START_TEST(test_acq_chan_http_fitting_then_ready)
{
    testhttp_response r;
    unsigned long fits = app_acq_chan_fits();
    testhttp_request(t.port, "GET", "/v1/acquisition", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(status_of(r.json), "fitting");
    assert_pooled(r.json);
    testhttp_response_free(&r);
    get_ready(&r);
    acq_channel_fit f;
    static acq_value distinct[ACQ_CHANNELS_DISTINCT];
    const acq_value *per[8];
    offline(&f, distinct, per, 36);
    assert_schema(r.json);
    json_t *cm = json_object_get(r.json, "channel_model");
    ck_assert_str_eq(testhttp_jstr(cm, "baseline"), "search");
    ck_assert_double_eq_tol(testhttp_jnum(json_object_get(cm, "lr_test"), "statistic"),
                            f.r.lr_statistic, 1e-6);
    for (size_t k = 0; k < at.n_names; k++) {
        json_t *g = channel(r.json, at.names[k]);
        ck_assert_ptr_nonnull(per[k]);
        double v = testhttp_jnum(g, "new_customer_repeat_ltv");
        ck_assert_msg(fabs(v - per[k]->ltv) <= 1e-9 * per[k]->ltv, "%s: %.17g vs %.17g",
                      at.names[k], v, per[k]->ltv);
        ck_assert_str_eq(testhttp_jstr(json_object_get(g, "channel_params"), "source"),
                         acq_param_source_label(f.source[k]));
    }
    acq_channels_free(&f);
    testhttp_response_free(&r);
    ck_assert_uint_eq(app_acq_chan_fits(), fits + 1);
    /* a new snapshot (a refit): fitting again, then ready again */
    set_model(8);
    testhttp_request(t.port, "GET", "/v1/acquisition", NULL, &r);
    ck_assert_str_eq(status_of(r.json), "fitting");
    assert_pooled(r.json);
    testhttp_response_free(&r);
    get_ready(&r);
    ck_assert_int_eq(testhttp_jint(json_object_get(r.json, "model"), "version"), 8);
    testhttp_response_free(&r);
    ck_assert_uint_eq(app_acq_chan_fits(), fits + 2);
}
END_TEST

/* A horizon past APP_ACQ_CHAN_INLINE_MONTHS: the fit is ready but the
 * channels' values over 120 months are computed in the background (pooled
 * values and a reason meanwhile), then equal the offline ones. */
START_TEST(test_acq_chan_http_long_horizon)
{
    testhttp_response r;
    get_ready(&r);
    testhttp_response_free(&r);
    const char *target = "/v1/acquisition?months=120";
    testhttp_request(t.port, "GET", target, NULL, &r);
    ck_assert_str_eq(status_of(r.json), "ready");
    json_t *cp = json_object_get(channel(r.json, "social"), "channel_params");
    ck_assert_str_eq(testhttp_jstr(cp, "source"), "pooled_model");
    ck_assert_ptr_nonnull(strstr(testhttp_jstr(cp, "reason"), "background"));
    assert_pooled(r.json);
    testhttp_response_free(&r);
    int i = 0;
    for (; i < 600; i++) {
        testhttp_request(t.port, "GET", target, NULL, &r);
        cp = json_object_get(channel(r.json, "social"), "channel_params");
        if (strcmp(testhttp_jstr(cp, "source"), "own") == 0)
            break;
        testhttp_response_free(&r);
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    ck_assert_int_lt(i, 600);
    acq_channel_fit f;
    static acq_value distinct[ACQ_CHANNELS_DISTINCT];
    const acq_value *per[8];
    offline(&f, distinct, per, 120);
    for (size_t k = 0; k < at.n_names; k++) {
        double v = testhttp_jnum(channel(r.json, at.names[k]), "new_customer_repeat_ltv");
        ck_assert_msg(fabs(v - per[k]->ltv) <= 1e-9 * per[k]->ltv, "%s: %.17g vs %.17g",
                      at.names[k], v, per[k]->ltv);
    }
    acq_channels_free(&f);
    testhttp_response_free(&r);
}
END_TEST

/* Another tenant (its own customers, one of them with a channel, and its
 * own snapshot) is not applicable, fits nothing, and leaves the default
 * tenant's fit as it was. */
START_TEST(test_acq_chan_http_tenants_apart)
{
    testhttp_response r;
    get_ready(&r);
    double search = testhttp_jnum(channel(r.json, "search"), "new_customer_repeat_ltv");
    testhttp_response_free(&r);
    unsigned long fits = app_acq_chan_fits();
    testtenant_create(t.port, "acme", NULL);
    const char *batch = "{\"transactions\":[{\"id\":\"a1\",\"customer_id\":\"x\","
                        "\"occurred_at\":\"1997-02-02T10:00:00Z\",\"amount\":10,"
                        "\"acquisition_channel\":\"search\"}]}";
    testhttp_request(t.port, "POST", "/v1/tenants/acme/transactions", batch, &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    app_tenant *acme = app_tenant_find(t.app, "acme");
    ck_assert_ptr_nonnull(acme);
    cache_model m = {.model = &bgnbd_model,
                     .has_spend = true,
                     .period_days = 7,
                     .version = 70,
                     .as_of = (double)last_day() * 86400};
    memcpy(m.params, testhttp_cdnow_bgnbd, sizeof testhttp_cdnow_bgnbd);
    memcpy(m.gg_params, testhttp_cdnow_gg, sizeof testhttp_cdnow_gg);
    ck_assert_int_eq(cache_snapshot_set(acme->cache, &m), CACHE_OK);
    app_tenant_release(acme);
    testhttp_request(t.port, "GET", "/v1/tenants/acme/acquisition", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(status_of(r.json), "not_applicable");
    assert_schema(r.json);
    testhttp_response_free(&r);
    get_ready(&r);
    ck_assert_double_eq(
        testhttp_jnum(channel(r.json, "search"), "new_customer_repeat_ltv"), search);
    testhttp_response_free(&r);
    ck_assert_uint_eq(app_acq_chan_fits(), fits);
}
END_TEST

/* A model without covariates: not applicable at once, no fit. */
START_TEST(test_acq_chan_http_not_applicable)
{
    cache_model m = {.model = btyd_model_find("mbgnbd"),
                     .has_spend = true,
                     .period_days = 7,
                     .version = 9,
                     .as_of = (double)last_day() * 86400};
    memcpy(m.params, testhttp_cdnow_bgnbd, sizeof testhttp_cdnow_bgnbd);
    memcpy(m.gg_params, testhttp_cdnow_gg, sizeof testhttp_cdnow_gg);
    ck_assert_int_eq(cache_snapshot_set(t.app->dflt->cache, &m), CACHE_OK);
    unsigned long fits = app_acq_chan_fits();
    testhttp_response r;
    testhttp_request(t.port, "GET", "/v1/acquisition", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(status_of(r.json), "not_applicable");
    assert_pooled(r.json);
    testhttp_response_free(&r);
    ck_assert_uint_eq(app_acq_chan_fits(), fits);
}
END_TEST

Suite *suite_acq_channels_http(void)
{
    Suite *s = suite_create("acq_channels_http");
    TCase *tc = tcase_create("acq_channels_http");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_acq_chan_http_fitting_then_ready);
    tcase_add_test(tc, test_acq_chan_http_not_applicable);
    tcase_add_test(tc, test_acq_chan_http_tenants_apart);
    tcase_add_test(tc, test_acq_chan_http_long_horizon);
    suite_add_tcase(s, tc);
    return s;
}

/* Per-channel values of a new customer from the covariate model (issue 11,
 * "Channels differ"; model/acq_channels.h, `ltvd acquisition`): on a
 * simulated base whose channels have known different BG/NBD and Pareto/NBD
 * parameters, the channel with the higher purchase rate (or the longer
 * lifetimes) is worth more, each channel's value is acquisition.h's at
 * the parameters cov_design_level_params implies for it (1e-12), small
 * channels are pooled and said so; fewer than two channels or another
 * model: no channel model; and the CLI end to end on the CDNOW sample. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/acq_channels.h"
#include "model/simulate.h"
#include "testhttp.h"
#include "testrun.h"

#define TXNS "tests/data/cdnow_sample_transactions.csv"
#define ATTRS "tests/data/cdnow_attributes.csv"

static const double GG[3] = {6.248802489748406, 3.7445884532794302, 15.447748009316763};

static void assert_rel(double got, double want, double rel, const char *what)
{
    ck_assert_msg(fabs(got - want) <= rel * fabs(want), "%s: %.17g vs %.17g", what, got,
                  want);
}

/* n[k] customers of channel k simulated at params[k] (T in 20..60 weeks). */
static btyd_pattern *simulate(const btyd_model *m, const double (*params)[4],
                              const size_t *n, size_t n_ch, uint32_t **ch, size_t *total)
{
    *total = 0;
    for (size_t k = 0; k < n_ch; k++)
        *total += n[k];
    btyd_pattern *p = malloc(*total * sizeof *p);
    *ch = malloc(*total * sizeof **ch);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261207);
    size_t at = 0;
    for (size_t k = 0; k < n_ch; k++) {
        ck_assert_int_eq(
            simulate_customers(m, params[k], n[k], 20, 60, 1.0 / 7, rng, p + at),
            GSL_SUCCESS);
        for (size_t i = 0; i < n[k]; i++)
            (*ch)[at + i] = (uint32_t)k;
        at += n[k];
    }
    gsl_rng_free(rng);
    return p;
}

static acq_model pooled_at(const btyd_model *m, const double *params)
{
    acq_model a = {.m = m, .clv = {36, 0.01, 1, 4.345}};
    memcpy(a.params, params, 4 * sizeof *params);
    memcpy(a.gg, GG, sizeof GG);
    return a;
}

/* Channels 0 and 1 differ (1 buys more, or lives longer), channel 2 is
 * small (pooled), channel 3 has no customer. */
static void check_model(const char *name, const double (*truth)[4])
{
    const btyd_model *m = btyd_model_find(name);
    size_t n[3] = {3000, 3000, 12}, total;
    uint32_t *ch;
    btyd_pattern *p = simulate(m, truth, n, 3, &ch, &total);
    acq_channel_fit f;
    const char *why = "";
    ck_assert_int_eq(acq_channels_fit(m, p, ch, total, 4, 30, &f, &why), GSL_SUCCESS);
    ck_assert_ptr_null(why);
    ck_assert_int_eq(f.source[0], ACQ_SRC_BASELINE); /* the first on a tie */
    ck_assert_int_eq(f.source[1], ACQ_SRC_OWN);
    ck_assert_int_eq(f.source[2], ACQ_SRC_IN_BASELINE); /* "other" too small too */
    ck_assert_int_eq(f.reason[2], COV_POOL_SMALL);
    ck_assert_int_eq(f.source[3], ACQ_SRC_POOLED);
    ck_assert_uint_eq(f.r.lr_df, 2);
    ck_assert(f.r.lr_p_value < 1e-3); /* the channels differ */
    acq_model a = pooled_at(m, f.r.base.params);
    acq_value distinct[ACQ_CHANNELS_DISTINCT];
    const acq_value *per[4];
    ck_assert_uint_eq(acq_channels_values(&f, &a, distinct, per), 2);
    ck_assert_ptr_null(per[3]);
    ck_assert_ptr_eq(per[2], per[0]); /* pooled with the baseline: its value */
    ck_assert_msg(per[1]->ltv > 1.2 * per[0]->ltv, "%s: %g vs %g", name, per[1]->ltv,
                  per[0]->ltv);
    /* each the value at the parameters the design implies for its level */
    for (size_t k = 0; k < 2; k++) {
        double lp[4], lse[4], v;
        ck_assert_int_eq(cov_design_level_params(m, &f.d, &f.r, 0, k, lp, lse),
                         GSL_SUCCESS);
        acq_model b = pooled_at(m, lp);
        ck_assert_int_eq(acq_repeat_ltv(&b, NULL, &v), GSL_SUCCESS);
        assert_rel(per[k]->ltv, v, 1e-12, "channel value");
        /* and the truth's direction: within a few standard errors */
        double tv;
        acq_model c = pooled_at(m, truth[k]);
        ck_assert_int_eq(acq_repeat_ltv(&c, NULL, &tv), GSL_SUCCESS);
        ck_assert_msg(fabs(per[k]->ltv - tv) < 4 * per[k]->se + 0.05 * tv,
                      "%s channel %zu: %g vs truth %g (se %g)", name, k, per[k]->ltv, tv,
                      per[k]->se);
    }
    acq_channels_free(&f);
    free(p);
    free(ch);
}

START_TEST(test_acq_channels_bgnbd_simulated)
{
    /* channel 1 buys twice as often: alpha halved */
    static const double truth[3][4] = {
        {0.8, 8, 0.6, 3}, {0.8, 4, 0.6, 3}, {0.8, 8, 0.6, 3}};
    check_model("bgnbd", truth);
}
END_TEST

START_TEST(test_acq_channels_pareto_simulated)
{
    /* channel 1 lives three times as long: beta tripled */
    static const double truth[3][4] = {
        {0.8, 8, 0.6, 10}, {0.8, 8, 0.6, 30}, {0.8, 8, 0.6, 10}};
    check_model("pareto", truth);
}
END_TEST

START_TEST(test_acq_channels_not_applicable)
{
    static const double truth[2][4] = {{0.8, 8, 0.6, 3}, {0.8, 4, 0.6, 3}};
    const btyd_model *m = btyd_model_find("bgnbd");
    size_t n[2] = {400, 20}, total;
    uint32_t *ch;
    btyd_pattern *p = simulate(m, truth, n, 2, &ch, &total);
    acq_channel_fit f;
    const char *why = NULL;
    /* every channel small: nothing to tell apart */
    ck_assert_int_eq(acq_channels_fit(m, p, ch, total, 2, 1000, &f, &why), GSL_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "fewer customers than the minimum"));
    /* one channel with customers (the other's left out) */
    for (size_t i = 0; i < total; i++)
        ch[i] = ch[i] == 1 ? ACQ_CHANNEL_NONE : 0;
    ck_assert_int_eq(acq_channels_fit(m, p, ch, total, 2, 30, &f, &why), GSL_EINVAL);
    ck_assert_str_eq(why, "fewer than two channels with customers");
    /* a model without covariates */
    ck_assert_int_eq(
        acq_channels_fit(btyd_model_find("mbgnbd"), p, ch, total, 2, 30, &f, &why),
        GSL_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "bgnbd and pareto"));
    free(p);
    free(ch);
}
END_TEST

/* The model's parameters printed in object o, into p. */
static void params_of(json_t *o, const btyd_model *m, double *p)
{
    for (size_t i = 0; i < 4; i++)
        p[i] = testhttp_jnum(o, m->param_names[i]);
}

/* Each channel's repeat value is acquisition.h's at the parameters it
 * prints (its own, "other"'s or the baseline's), with the printed spend
 * model; customers without a channel have the pooled value. */
static void check_cli(const char *model)
{
    char args[512];
    snprintf(args, sizeof args,
             "acquisition --period week --model %s --transactions " TXNS
             " --attributes " ATTRS,
             model);
    json_t *d = testrun_json(args);
    const btyd_model *m = btyd_model_find(model);
    json_t *cm = json_object_get(d, "channel_model");
    ck_assert_str_eq(json_string_value(json_object_get(cm, "status")), "ready");
    ck_assert_str_eq(json_string_value(json_object_get(cm, "baseline")), "search");
    ck_assert_int_eq((int)testhttp_jnum(json_object_get(cm, "lr_test"), "df"), 4);
    ck_assert_uint_eq(json_array_size(json_object_get(cm, "coefficients")), 4);
    ck_assert_int_eq((int)testhttp_jnum(cm, "n_customers"), 2357 - 235);
    json_t *pm = json_object_get(d, "model"), *chs = json_object_get(d, "channels"), *g;
    acq_model a = {.m = m, .clv = {36, 0.01, 1, 4.345}};
    static const char *const gn[3] = {"p", "q", "v"};
    for (int i = 0; i < 3; i++)
        a.gg[i] = testhttp_jnum(
            json_object_get(json_object_get(pm, "spend_model"), "params"), gn[i]);
    size_t i, own = 0;
    json_array_foreach(chs, i, g)
    {
        json_t *cp = json_object_get(g, "channel_params");
        const char *src = json_string_value(json_object_get(cp, "source"));
        double v = testhttp_jnum(g, "new_customer_repeat_ltv");
        if (json_is_null(json_object_get(g, "channel"))) {
            ck_assert_str_eq(src, "pooled_model");
            assert_rel(
                v,
                testhttp_jnum(json_object_get(d, "overall"), "new_customer_repeat_ltv"),
                0, "no channel: the pooled value");
            continue;
        }
        own += strcmp(src, "own") == 0;
        ck_assert(strcmp(src, "own") == 0 || strcmp(src, "baseline") == 0);
        params_of(json_object_get(cp, "params"), m, a.params);
        double want;
        ck_assert_int_eq(acq_repeat_ltv(&a, NULL, &want), GSL_SUCCESS);
        assert_rel(v, want, 1e-12, "a channel's value at its parameters");
        assert_rel(testhttp_jnum(g, "new_customer_ltv"),
                   v + testhttp_jnum(g, "first_purchase_value"), 1e-12, "its LTV");
        assert_rel(testhttp_jnum(g, "max_cac"), testhttp_jnum(g, "new_customer_ltv") / 3,
                   1e-12, "max CAC");
    }
    ck_assert_uint_eq(own, 2); /* social and referral */
    json_decref(d);
}

START_TEST(test_acq_channels_cli_cdnow)
{
    check_cli("bgnbd");
    check_cli("pareto");
}
END_TEST

/* One channel, or a model without covariates: as before, and said. */
START_TEST(test_acq_channels_cli_not_applicable)
{
    testrun_out r = testrun_sh("printf 'customer_id,acquisition_channel\\n1,search\\n2,"
                               "search\\n' > /tmp/ltvd_acqcov_one.csv");
    ck_assert_int_eq(r.status, 0);
    testrun_free(&r);
    const char *cases[2] = {
        "acquisition --period week --transactions " TXNS
        " --attributes /tmp/ltvd_acqcov_one.csv",
        "acquisition --period week --model mbgnbd --transactions " TXNS
        " --attributes " ATTRS};
    for (int c = 0; c < 2; c++) {
        json_t *d = testrun_json(cases[c]);
        json_t *cm = json_object_get(d, "channel_model");
        ck_assert_str_eq(json_string_value(json_object_get(cm, "status")),
                         "not_applicable");
        ck_assert(json_is_string(json_object_get(cm, "reason")));
        double pooled =
            testhttp_jnum(json_object_get(d, "overall"), "new_customer_repeat_ltv");
        json_t *g;
        size_t i;
        json_array_foreach(json_object_get(d, "channels"), i, g)
        {
            ck_assert_double_eq(testhttp_jnum(g, "new_customer_repeat_ltv"), pooled);
            ck_assert_str_eq(json_string_value(json_object_get(
                                 json_object_get(g, "channel_params"), "source")),
                             "pooled_model");
        }
        json_decref(d);
    }
}
END_TEST

Suite *suite_acq_channels(void)
{
    Suite *s = suite_create("acq_channels");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_acq_channels_bgnbd_simulated);
    tcase_add_test(tc, test_acq_channels_pareto_simulated);
    tcase_add_test(tc, test_acq_channels_not_applicable);
    tcase_add_test(tc, test_acq_channels_cli_cdnow);
    tcase_add_test(tc, test_acq_channels_cli_not_applicable);
    suite_add_tcase(s, tc);
    return s;
}

/* The acquisition and cohort answers (issue 11, part A): a new customer's
 * value against 40-digit mpmath values (tests/reference/acquisition.py), at
 * the parameters the fit lands on; CAC, payback and lead value on a
 * hand-computed example; cohorts and channels on a small hand-made set; and
 * `ltvd acquisition` / `ltvd cohorts` end to end on the CDNOW sample with the
 * made-up channels and spend of tests/data. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/acq_doc.h"
#include "model/acquisition.h"
#include "model/fit.h"
#include "model/gg.h"
#include "summary/cohorts.h"
#include "summary/summary.h"
#include "testhttp.h"
#include "testrun.h"

#define CDNOW_SUMMARY "tests/data/cdnow_customers_summary_with_transactions.csv"
#define TXNS "tests/data/cdnow_sample_transactions.csv"
#define ATTRS "tests/data/cdnow_attributes.csv"
#define SPEND "tests/data/cdnow_spend.csv"

/* The fits of `ltvd fit --period week` on CDNOW_SUMMARY, as the reference
 * script takes them. */
static const double BGNBD[4] = {0.24259290720447074, 4.413531561205545,
                                0.7928861480791182, 2.4257534364271605};
static const double PARETO[4] = {0.5532755087061523, 10.577612238820695,
                                 0.6062135684816935, 11.667911232069512};
static const double GG[3] = {6.248802489748406, 3.7445884532794302, 15.447748009316763};

/* Printed by /usr/bin/python3 tests/reference/acquisition.py (mpmath, 40
 * digits, closed forms independent of the C code). */
static const struct {
    const char *model;
    double t, ex;
} EX[] = {
    {"bgnbd", 1, 0.05318474077621479906},   {"bgnbd", 10, 0.43176102029233366829},
    {"bgnbd", 52, 1.4440208455063080751},   {"bgnbd", 156.42, 2.7588472209175254235},
    {"pareto", 1, 0.051006545258805605217}, {"pareto", 10, 0.42779405550580456112},
    {"pareto", 52, 1.4734414027943287614},  {"pareto", 156.42, 2.8811938923272969292},
};
static const struct {
    const char *model;
    unsigned months;
    double d, margin, M, ltv;
} LTV[] = {
    {"bgnbd", 36, 0.01, 1, 4.345, 84.918511730944208924},
    {"bgnbd", 12, 0.1, 0.3, 4.345, 9.5474402077363159115},
    {"bgnbd", 1, 0, 1, 4.345, 7.4163551991411366504},
    {"bgnbd", 120, 0.005, 0.25, 4.345, 36.29274246456325092},
    {"pareto", 36, 0.01, 1, 4.345, 88.430477526330291021},
    {"pareto", 12, 0.1, 0.3, 4.345, 9.6807915150305880155},
    {"pareto", 1, 0, 1, 4.345, 7.2364811459965840592},
    {"pareto", 120, 0.005, 0.25, 4.345, 39.263497351096298594},
};

static void assert_rel(double got, double want, double rel, const char *what)
{
    ck_assert_msg(fabs(got - want) <= rel * fabs(want), "%s: %.17g vs %.17g (rel %.3g)",
                  what, got, want, fabs(got - want) / fabs(want));
}

static acq_model model_at(const char *name, const double *params)
{
    acq_model a = {.m = btyd_model_find(name)};
    memcpy(a.params, params, 4 * sizeof *params);
    memcpy(a.gg, GG, sizeof GG);
    return a;
}

START_TEST(test_acq_expected_new_matches_mpmath)
{
    for (size_t i = 0; i < sizeof EX / sizeof EX[0]; i++) {
        const btyd_model *m = btyd_model_find(EX[i].model);
        const double *p = strcmp(EX[i].model, "bgnbd") == 0 ? BGNBD : PARETO;
        double e;
        ck_assert_int_eq(m->expected_new(p, EX[i].t, &e), GSL_SUCCESS);
        assert_rel(e, EX[i].ex, 1e-10, EX[i].model);
    }
}
END_TEST

START_TEST(test_acq_repeat_ltv_matches_mpmath)
{
    for (size_t i = 0; i < sizeof LTV / sizeof LTV[0]; i++) {
        acq_model a =
            model_at(LTV[i].model, strcmp(LTV[i].model, "bgnbd") == 0 ? BGNBD : PARETO);
        a.clv = (clv_options){LTV[i].months, LTV[i].d, LTV[i].margin, LTV[i].M};
        double v, inc[120], sum = 0;
        ck_assert_int_eq(acq_repeat_ltv(&a, inc, &v), GSL_SUCCESS);
        assert_rel(v, LTV[i].ltv, 1e-10, LTV[i].model);
        for (unsigned k = 0; k < LTV[i].months; k++)
            sum += inc[k];
        assert_rel(sum, v, 1e-12, "the monthly terms add up");
    }
}
END_TEST

/* Fits model name (or Gamma-Gamma for NULL) on the CDNOW summary. */
static fit_result fit_cdnow(const char *name)
{
    summary_set s;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(summary_read_csv(CDNOW_SUMMARY, &s, err) == 0, "%s", err);
    fit_result r;
    if (name != NULL) {
        btyd_pattern *p;
        size_t n;
        ck_assert_int_eq(summary_patterns(&s, &p, &n), 0);
        ck_assert_int_eq(fit_btyd(btyd_model_find(name), p, n, 0, NULL, &r), GSL_SUCCESS);
        free(p);
    } else {
        gg_pattern *p;
        size_t n;
        ck_assert_int_eq(summary_gg_patterns(&s, &p, &n), 0);
        ck_assert_int_eq(gg_fit(p, n, 0, NULL, &r), GSL_SUCCESS);
        free(p);
    }
    summary_set_free(&s);
    return r;
}

START_TEST(test_acq_value_at_the_fitted_parameters)
{
    fit_result g = fit_cdnow(NULL);
    for (int i = 0; i < 3; i++)
        assert_rel(g.params[i], GG[i], 1e-6, "gg parameter");
    const char *names[2] = {"bgnbd", "pareto"};
    for (int k = 0; k < 2; k++) {
        fit_result r = fit_cdnow(names[k]);
        const double *ref = k == 0 ? BGNBD : PARETO;
        for (int i = 0; i < 4; i++)
            assert_rel(r.params[i], ref[i], 1e-6, "the fit lands on the reference");
        acq_model a = {.m = btyd_model_find(names[k]), .clv = {36, 0.01, 1, 4.345}};
        memcpy(a.params, r.params, sizeof a.params);
        memcpy(a.gg, g.params, sizeof a.gg);
        double v;
        ck_assert_int_eq(acq_repeat_ltv(&a, NULL, &v), GSL_SUCCESS);
        assert_rel(v, LTV[k == 0 ? 0 : 4].ltv, 1e-5, "value at the fitted parameters");
        /* the interval's standard error is positive and finite */
        memcpy(a.se, r.std_errors, sizeof a.se);
        memcpy(a.gg_se, g.std_errors, sizeof a.gg_se);
        double se;
        ck_assert_int_eq(acq_repeat_ltv_se(&a, &se), GSL_SUCCESS);
        ck_assert(se > 0 && se < v);
    }
}
END_TEST

/* The delta method's standard error against a hand computation with one
 * uncertain parameter: only Gamma-Gamma's v, on which the value is linear
 * (repeat LTV = margin * p v/(q-1) * D), so SE = LTV * se_v / v exactly. */
START_TEST(test_acq_se_linear_in_v)
{
    acq_model a = model_at("bgnbd", BGNBD);
    a.clv = (clv_options){36, 0.01, 1, 4.345};
    a.gg_se[2] = 1.5;
    double v, se;
    ck_assert_int_eq(acq_repeat_ltv(&a, NULL, &v), GSL_SUCCESS);
    ck_assert_int_eq(acq_repeat_ltv_se(&a, &se), GSL_SUCCESS);
    assert_rel(se, v * 1.5 / GG[2], 1e-12, "se of v");
    /* a purchase parameter: the central difference against a wider one */
    acq_model b = model_at("bgnbd", BGNBD);
    b.clv = a.clv;
    b.se[0] = 0.01;
    double se_r, hi, lo;
    ck_assert_int_eq(acq_repeat_ltv_se(&b, &se_r), GSL_SUCCESS);
    b.params[0] = BGNBD[0] * 1.001;
    acq_repeat_ltv(&b, NULL, &hi);
    b.params[0] = BGNBD[0] * 0.999;
    acq_repeat_ltv(&b, NULL, &lo);
    assert_rel(se_r, fabs(hi - lo) / (0.002 * BGNBD[0]) * 0.01, 1e-5, "se of r");
}
END_TEST

/* The hand-computed example:
 *   repeat LTV 30 in monthly terms 10, 8, 6, 4, 2 (N = 5), margin 0.5;
 *   4 customers whose first days spent 20, 30, 40, 50: mean 35, so
 *   first_purchase_value = 0.5 * 35 = 17.5 and new_customer_ltv = 47.5;
 *   spend 1000 over the 25 customers of the spend months: CAC = 40,
 *   LTV/CAC = 47.5 / 40 = 1.1875; at R = 2.5 the most to pay is 19;
 *   payback: month 0 has 17.5, then 27.5, 35.5, 41.5 >= 40: month 3;
 *   leads 100 in months with 25 customers: conversion 0.25, lead value
 *   0.25 * 47.5 = 11.875;
 *   interval: the first-day spend's sample variance is
 *   (20^2+30^2+40^2+50^2 - 4 * 35^2) / 3 = 500/3, the mean's 500/12, times
 *   margin^2: 10.41667; with the repeat SE 3: sqrt(9 + 10.41667) = 4.406435,
 *   times 1.959964 = 8.636454: [38.863546, 56.136454]. */
START_TEST(test_acq_figures_by_hand)
{
    static const double inc[5] = {10, 8, 6, 4, 2};
    acq_inputs in = {.repeat_ltv = 30,
                     .repeat_ltv_se = 3,
                     .inc = inc,
                     .months = 5,
                     .margin = 0.5,
                     .customers = 4,
                     .first_sum = 140,
                     .first_sumsq = 5400,
                     .has_spend = true,
                     .spend = 1000,
                     .spend_customers = 25,
                     .has_leads = true,
                     .leads = 100,
                     .lead_customers = 25,
                     .target_ratio = 2.5};
    acq_figures f;
    acq_figures_compute(&in, &f);
    ck_assert(f.has_ltv && f.has_cac && f.has_ratio && f.has_conversion && f.has_max_cac);
    ck_assert_double_eq_tol(f.first_purchase_value, 17.5, 1e-12);
    ck_assert_double_eq_tol(f.new_customer_ltv, 47.5, 1e-12);
    ck_assert_double_eq_tol(f.cac, 40, 1e-12);
    ck_assert_double_eq_tol(f.ltv_cac, 1.1875, 1e-12);
    ck_assert_double_eq_tol(f.max_cac, 19, 1e-12);
    ck_assert_int_eq(f.payback_month, 3);
    ck_assert_double_eq_tol(f.conversion, 0.25, 1e-12);
    ck_assert_double_eq_tol(f.lead_value, 11.875, 1e-12);
    ck_assert_double_eq_tol(f.ltv_low, 38.863546, 1e-6);
    ck_assert_double_eq_tol(f.ltv_high, 56.136454, 1e-6);
    /* a target ratio so small that LTV / R overflows: no max_cac, but the
     * rest stands (never an Inf in a document) */
    in.target_ratio = 1e-320;
    acq_figures_compute(&in, &f);
    ck_assert(f.has_ltv && !f.has_max_cac && f.has_ratio);
    in.target_ratio = 2.5;
    /* a CAC the value never reaches within N: no payback */
    in.spend = 2500; /* CAC 100 > 17.5 + 30 */
    acq_figures_compute(&in, &f);
    ck_assert_int_eq(f.payback_month, -1);
    /* a CAC the first purchase pays: month 0 */
    in.spend = 250; /* CAC 10 */
    acq_figures_compute(&in, &f);
    ck_assert_int_eq(f.payback_month, 0);
    /* spend but no customer acquired in its months: no CAC, ratio or payback */
    in.spend_customers = 0;
    acq_figures_compute(&in, &f);
    ck_assert(!f.has_cac && !f.has_ratio && f.payback_month == -1);
    /* no leads counted: no conversion; no customers: no value */
    in.leads = 0;
    in.customers = 0;
    acq_figures_compute(&in, &f);
    ck_assert(!f.has_conversion && !f.has_lead_value && !f.has_ltv);
}
END_TEST

START_TEST(test_acq_months)
{
    int64_t day = summary_days_from_civil(2024, 2, 29);
    int32_t mo = cohort_month_of_day(day), back;
    ck_assert_int_eq(mo, 2024 * 12 + 1);
    char s[8];
    ck_assert_int_eq(cohort_format_month(mo, s), 0);
    ck_assert_str_eq(s, "2024-02");
    ck_assert_int_eq(cohort_parse_month("2024-02", &back), 0);
    ck_assert_int_eq(back, mo);
    ck_assert_int_eq(cohort_month_of_day(summary_days_from_civil(1969, 12, 31)),
                     1969 * 12 + 11);
    ck_assert_int_eq(cohort_parse_month("2024-13", &back), -1);
    ck_assert_int_eq(cohort_parse_month("2024-1", &back), -1);
    ck_assert_int_eq(cohort_parse_month("2024-01x", &back), -1);
}
END_TEST

/* The hand-made customers:
 *   A: 2024-01-15 (10), 2024-03-02 (5)             search, predicted 4
 *   B: 2024-01-31 (20)                              social, predicted 1
 *   C: 2024-02-01 (7), 02-20 (3), 2024-04-01 (1)    search, predicted 2
 *   D: 2024-03-10 (12)                              no channel, no prediction
 * as of April 2024. */
static void hand_customers(cohort_customer c[4])
{
    c[0] = (cohort_customer){summary_days_from_civil(2024, 1, 15), 2, 0, 10, 5, 0x5, 4};
    c[1] = (cohort_customer){summary_days_from_civil(2024, 1, 31), 1, 1, 20, 0, 0x1, 1};
    c[2] = (cohort_customer){summary_days_from_civil(2024, 2, 1), 3, 0, 7, 4, 0x5, 2};
    c[3] = (cohort_customer){
        summary_days_from_civil(2024, 3, 10), 1, COHORT_NO_CHANNEL, 12, 0, 0x1, NAN};
}

START_TEST(test_acq_cohorts_by_hand)
{
    cohort_customer c[4];
    hand_customers(c);
    cohort_set s;
    ck_assert_int_eq(cohort_build(c, 4, 2024 * 12 + 3, &s), 0);
    ck_assert_uint_eq(s.n, 3);
    /* January: A and B, one repeater, 10 + 5 + 20 = 35, predicted 5, four
     * months Jan..Apr, bought in Jan: 2, Feb: 0, Mar: 1 (A), Apr: 0 */
    ck_assert_uint_eq(s.rows[0].customers, 2);
    ck_assert_uint_eq(s.rows[0].repeaters, 1);
    ck_assert_double_eq_tol(s.rows[0].revenue, 35, 1e-12);
    ck_assert_double_eq_tol(s.rows[0].predicted, 5, 1e-12);
    ck_assert_uint_eq(s.rows[0].n_later, 4);
    size_t jan[4] = {2, 0, 1, 0};
    for (int k = 0; k < 4; k++)
        ck_assert_uint_eq(s.rows[0].active[k], jan[k]);
    /* February: C, a repeater, 11, months Feb..Apr: 1, 0, 1 */
    ck_assert_uint_eq(s.rows[1].customers, 1);
    ck_assert_uint_eq(s.rows[1].repeaters, 1);
    ck_assert_double_eq_tol(s.rows[1].revenue, 11, 1e-12);
    ck_assert_uint_eq(s.rows[1].n_later, 3);
    ck_assert_uint_eq(s.rows[1].active[2], 1);
    /* March: D, no prediction */
    ck_assert_uint_eq(s.rows[2].n_predicted, 0);
    ck_assert_uint_eq(s.rows[2].n_later, 2);
    cohort_set_free(&s);
}
END_TEST

/* One customer at a time, months arriving in any order (growing the range
 * down and up, from 1990 to 2030), equals a count made by hand; so do
 * 10,000 channels over decades; a range of more than COHORT_MAX_MONTHS
 * months fails, and stays failed. */
START_TEST(test_acq_accumulator_any_order)
{
    enum { N = 5000, CH = 3 };
    int32_t lo = 1990 * 12, span = 41 * 12;
    static size_t want[41 * 12][CH + 1];
    memset(want, 0, sizeof want);
    cohort_acc *a = cohort_acc_new(CH, lo + span - 1);
    ck_assert_ptr_nonnull(a);
    uint64_t x = 88172645463325252ull; /* xorshift: a fixed, scattered order */
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int32_t mo = lo + (int32_t)(x % (uint64_t)span);
        uint32_t ch = (uint32_t)((x >> 20) % (CH + 1));
        cohort_customer c = {
            summary_days_from_civil(mo / 12, mo % 12 + 1, 1 + (int)(x >> 40) % 28),
            1,
            ch == CH ? COHORT_NO_CHANNEL : ch,
            1,
            0,
            1,
            1};
        want[mo - lo][ch]++;
        ck_assert_int_eq(cohort_acc_add(a, &c), 0);
    }
    cohort_spend sp = {1, lo + 7, 10, false, 0};
    cohort_set s;
    cohort_channels cc;
    ck_assert_int_eq(cohort_acc_finish(a, &sp, 1, &s, &cc), 0);
    size_t row = 0, total = 0;
    for (int32_t j = 0; j < span; j++) {
        size_t m = want[j][0] + want[j][1] + want[j][2] + want[j][3];
        total += m;
        if (m == 0)
            continue;
        ck_assert_int_eq(s.rows[row].month, lo + j);
        ck_assert_uint_eq(s.rows[row].customers, m);
        row++;
    }
    ck_assert_uint_eq(s.n, row);
    ck_assert_uint_eq(cc.all.customers, N);
    ck_assert_uint_eq(total, N);
    for (uint32_t ch = 0; ch <= CH; ch++) {
        size_t got = 0;
        for (size_t k = 0; k < cc.ch[ch].n_months; k++) {
            int32_t j = cc.ch[ch].by_month[k].month - lo;
            ck_assert_uint_eq(cc.ch[ch].by_month[k].customers, want[j][ch]);
            got += cc.ch[ch].by_month[k].customers;
        }
        ck_assert_uint_eq(got, cc.ch[ch].customers);
    }
    ck_assert_uint_eq(cc.ch[1].spend_customers, want[7][1]);
    cohort_set_free(&s);
    cohort_channels_free(&cc);
    cohort_acc_free(a);

    /* 10,000 channels over 36 years: pairs, not channels times months
     * (4.3M cells before); months arriving down then far up, then up then
     * far down, keep every count */
    const int32_t orders[2][3] = {{2000 * 12, 2000 * 12 - 1, 2034 * 12 + 8},
                                  {24001, 24002, 23584}};
    for (int o = 0; o < 2; o++) {
        a = cohort_acc_new(10000, orders[o][2]);
        ck_assert_ptr_nonnull(a);
        for (int i = 0; i < 3; i++) {
            int32_t mo = orders[o][i];
            cohort_customer c = {summary_days_from_civil(mo / 12, mo % 12 + 1, 1),
                                 1,
                                 (uint32_t)(9999 - i),
                                 1,
                                 0,
                                 1,
                                 1};
            ck_assert_int_eq(cohort_acc_add(a, &c), 0);
        }
        ck_assert_int_eq(cohort_acc_finish(a, NULL, 0, &s, &cc), 0);
        ck_assert_uint_eq(s.n, 3);
        ck_assert_uint_eq(cc.all.customers, 3);
        ck_assert_uint_eq(cc.all.n_months, 3);
        for (int i = 0; i < 3; i++) {
            ck_assert_uint_eq(cc.ch[9999 - i].n_months, 1);
            ck_assert_int_eq(cc.ch[9999 - i].by_month[0].month, orders[o][i]);
        }
        cohort_set_free(&s);
        cohort_channels_free(&cc);
        cohort_acc_free(a);
    }

    /* past COHORT_MAX_MONTHS months spanned: fails, and stays failed */
    a = cohort_acc_new(2, 0);
    ck_assert_ptr_nonnull(a);
    cohort_customer c = {summary_days_from_civil(1000, 1, 1), 1, 0, 1, 0, 1, 1};
    ck_assert_int_eq(cohort_acc_add(a, &c), 0);
    c.first_day = summary_days_from_civil(1000 + COHORT_MAX_MONTHS / 12, 1, 1);
    ck_assert_int_eq(cohort_acc_add(a, &c), -1);
    c.first_day = summary_days_from_civil(1000, 1, 2);
    ck_assert_int_eq(cohort_acc_add(a, &c), -1); /* failed stays failed */
    ck_assert_int_eq(cohort_acc_finish(a, NULL, 0, &s, NULL), -1);
    ck_assert_uint_eq(s.n, 0);
    cohort_acc_free(a);
}
END_TEST

START_TEST(test_acq_channels_by_hand)
{
    cohort_customer c[4];
    hand_customers(c);
    int32_t jan = 2024 * 12, feb = jan + 1, mar = jan + 2;
    cohort_spend sp[3] = {
        {0, jan, 100, true, 10}, {0, feb, 50, false, 0}, {1, mar, 30, false, 0}};
    cohort_channels cc;
    ck_assert_int_eq(cohort_channels_build(c, 4, 2, sp, 3, &cc), 0);
    const cohort_channel *search = &cc.ch[0], *social = &cc.ch[1], *none = &cc.ch[2];
    /* search: A (January) and C (February), spend 150 over both: CAC 75;
     * leads 10 in January (A): conversion 1/10 */
    ck_assert_uint_eq(search->customers, 2);
    ck_assert_double_eq_tol(search->first_sum, 17, 1e-12);
    ck_assert_double_eq_tol(search->first_sumsq, 149, 1e-12);
    ck_assert_double_eq_tol(search->revenue, 26, 1e-12);
    ck_assert_uint_eq(search->n_months, 2);
    ck_assert_int_eq(search->by_month[1].month, feb);
    ck_assert_double_eq_tol(search->spend, 150, 1e-12);
    ck_assert_uint_eq(search->spend_customers, 2);
    ck_assert(search->has_leads);
    ck_assert_uint_eq(search->lead_customers, 1);
    /* social: B in January, spend in March when nobody came: no CAC */
    ck_assert_uint_eq(social->customers, 1);
    ck_assert(social->has_spend && social->spend_customers == 0 && !social->has_leads);
    ck_assert_uint_eq(none->customers, 1);
    ck_assert(!none->has_spend);
    /* overall */
    ck_assert_uint_eq(cc.all.customers, 4);
    ck_assert_uint_eq(cc.all.n_months, 3);
    ck_assert_uint_eq(cc.all.by_month[0].customers, 2);
    ck_assert_double_eq_tol(cc.all.spend, 180, 1e-12);
    ck_assert_uint_eq(cc.all.spend_customers, 2);
    ck_assert_double_eq_tol(cc.all.revenue, 58, 1e-12);
    cohort_channels_free(&cc);
    /* no customers at all */
    ck_assert_int_eq(cohort_channels_build(c, 0, 2, sp, 3, &cc), 0);
    ck_assert_uint_eq(cc.all.customers, 0);
    ck_assert_double_eq_tol(cc.all.spend, 180, 1e-12);
    cohort_channels_free(&cc);
}
END_TEST

/* ------------------------------------------------- the CLI, end to end */

static json_t *channel(json_t *doc, const char *name)
{
    json_t *chs = json_object_get(doc, "channels"), *g;
    size_t i;
    json_array_foreach(chs, i, g)
    {
        json_t *n = json_object_get(g, "channel");
        if (name == NULL ? json_is_null(n) : strcmp(json_string_value(n), name) == 0)
            return g;
    }
    ck_abort_msg("no channel %s", name ? name : "null");
    return NULL;
}

/* The mean first-day spend of the CDNOW sample, computed here. */
static double mean_first_day_spend(void)
{
    txn_set t;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(TXNS, &t, err) == 0, "%s", err);
    int64_t *first = malloc(t.n_customers * sizeof *first);
    for (size_t i = 0; i < t.n_customers; i++)
        first[i] = INT64_MAX;
    for (size_t j = 0; j < t.n; j++)
        if (t.items[j].day < first[t.items[j].customer])
            first[t.items[j].customer] = t.items[j].day;
    double sum = 0;
    for (size_t j = 0; j < t.n; j++)
        if (t.items[j].day == first[t.items[j].customer])
            sum += t.items[j].amount;
    double mean = sum / (double)t.n_customers;
    free(first);
    txn_set_free(&t);
    return mean;
}

START_TEST(test_acq_cli_acquisition_cdnow)
{
    json_t *d = testrun_json("acquisition --period week --margin 0.3 --transactions " TXNS
                             " --attributes " ATTRS " --spend " SPEND);
    json_t *all = json_object_get(d, "overall");
    ck_assert_int_eq((int)testhttp_jnum(all, "customers"), 2357);
    /* the repeat value is model/acquisition's at the parameters printed */
    json_t *pm = json_object_get(d, "model");
    acq_model a = {.m = btyd_model_find("bgnbd"), .clv = {36, 0.01, 0.3, 4.345}};
    const char *names[4] = {"r", "alpha", "a", "b"}, *gn[3] = {"p", "q", "v"};
    for (int i = 0; i < 4; i++)
        a.params[i] = testhttp_jnum(json_object_get(pm, "params"), names[i]);
    for (int i = 0; i < 3; i++)
        a.gg[i] = testhttp_jnum(
            json_object_get(json_object_get(pm, "spend_model"), "params"), gn[i]);
    double repeat;
    ck_assert_int_eq(acq_repeat_ltv(&a, NULL, &repeat), GSL_SUCCESS);
    assert_rel(testhttp_jnum(all, "new_customer_repeat_ltv"), repeat, 1e-12,
               "repeat value");
    assert_rel(testhttp_jnum(all, "first_purchase_value"), 0.3 * mean_first_day_spend(),
               1e-12, "first purchase value");
    double ltv = testhttp_jnum(all, "new_customer_ltv");
    assert_rel(ltv, repeat + testhttp_jnum(all, "first_purchase_value"), 1e-12,
               "their sum");
    json_t *iv = json_object_get(all, "new_customer_ltv_interval");
    ck_assert(testhttp_jnum(iv, "low") < ltv && ltv < testhttp_jnum(iv, "high"));
    json_t *mi = json_object_get(all, "max_cac_interval");
    assert_rel(testhttp_jnum(mi, "low"), testhttp_jnum(iv, "low") / 3, 1e-12,
               "max_cac interval");
    assert_rel(testhttp_jnum(mi, "high"), testhttp_jnum(iv, "high") / 3, 1e-12,
               "max_cac interval");
    /* search: 1179 customers (ids ending 0-4), 72000 spent, 11999 leads */
    json_t *s = channel(d, "search");
    ck_assert_int_eq((int)testhttp_jnum(s, "customers"), 1179);
    assert_rel(testhttp_jnum(s, "spend"), 72000, 1e-12, "spend");
    assert_rel(testhttp_jnum(s, "cac"), 72000.0 / 1179, 1e-12, "cac");
    assert_rel(testhttp_jnum(s, "conversion"), 1179.0 / 11999, 1e-12, "conversion");
    double sl = testhttp_jnum(s, "new_customer_ltv");
    assert_rel(testhttp_jnum(s, "lead_value"), 1179.0 / 11999 * sl, 1e-12, "lead value");
    assert_rel(testhttp_jnum(s, "ltv_cac"), sl / (72000.0 / 1179), 1e-12, "ltv/cac");
    json_t *si = json_object_get(s, "new_customer_ltv_interval");
    assert_rel(testhttp_jnum(json_object_get(s, "lead_value_interval"), "high"),
               1179.0 / 11999 * testhttp_jnum(si, "high"), 1e-12, "lead value interval");
    assert_rel(testhttp_jnum(json_object_get(s, "ltv_cac_interval"), "low"),
               testhttp_jnum(si, "low") / (72000.0 / 1179), 1e-12, "ltv/cac interval");
    assert_rel(testhttp_jnum(s, "max_cac"), sl / 3, 1e-12, "max cac");
    ck_assert(json_is_null(json_object_get(s, "payback_month"))); /* LTV < CAC */
    /* referral pays back: month 0 < CAC 3600/235 <= the 36 months' value */
    json_t *ref = channel(d, "referral");
    ck_assert_int_eq((int)testhttp_jnum(ref, "customers"), 235);
    ck_assert(json_is_integer(json_object_get(ref, "payback_month")));
    /* social: spend, no leads; customers without a channel: nothing to pay */
    json_t *so = channel(d, "social"), *none = channel(d, NULL);
    ck_assert(json_is_null(json_object_get(so, "conversion")));
    ck_assert_int_eq((int)testhttp_jnum(none, "customers"), 235);
    ck_assert(json_is_null(json_object_get(none, "cac")));
    ck_assert(json_is_null(json_object_get(none, "spend")));
    json_decref(d);
}
END_TEST

START_TEST(test_acq_cli_cohorts_cdnow)
{
    json_t *d = testrun_json("cohorts --period week --transactions " TXNS);
    ck_assert_str_eq(json_string_value(json_object_get(d, "by")), "month");
    json_t *rows = json_object_get(d, "cohorts"), *r;
    ck_assert_uint_eq(json_array_size(rows), 3);
    static const int customers[3] = {781, 857, 719};
    double revenue = 0;
    size_t i;
    json_array_foreach(rows, i, r)
    {
        ck_assert_int_eq((int)testhttp_jnum(r, "customers"), customers[i]);
        revenue += testhttp_jnum(r, "revenue");
        json_t *ret = json_object_get(r, "retention");
        /* 1997-01..03 to 1998-06: 18, 17, 16 months */
        ck_assert_uint_eq(json_array_size(ret), 18 - i);
        ck_assert_double_eq(json_number_value(json_array_get(ret, 0)), 1.0);
        ck_assert(testhttp_jnum(r, "predicted_remaining_value") > 0);
        ck_assert(testhttp_jnum(r, "repeat_share") > 0 &&
                  testhttp_jnum(r, "repeat_share") < 1);
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "month")),
                     "1997-01");
    ck_assert_double_eq_tol(revenue, 244091.94, 1e-6);
    json_decref(d);
}
END_TEST

/* Runs ltvd ARGS expecting exit status 2 and `what` on stderr. */
static void expect_usage_error(const char *args, const char *what)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "$LTVD %s", args);
    testrun_out r = testrun_sh(cmd);
    ck_assert_msg(r.status == 2, "ltvd %s: status %d", args, r.status);
    ck_assert_msg(strstr(r.err, what) != NULL, "ltvd %s: stderr %s", args, r.err);
    ck_assert_str_eq(r.out, "");
    testrun_free(&r);
}

START_TEST(test_acq_cli_errors)
{
    expect_usage_error("acquisition", "--transactions FILE is required");
    expect_usage_error("acquisition --transactions " TXNS " --months 0", "--months");
    expect_usage_error("acquisition --transactions " TXNS " --target-ratio -1",
                       "--target-ratio");
    expect_usage_error("acquisition --transactions " TXNS " --model bgbb", "--model");
    expect_usage_error("cohorts --transactions " TXNS " --by week", "--by must be month");
    expect_usage_error("cohorts --transactions " TXNS " --spend " SPEND,
                       "for ltvd acquisition");
    testrun_out r = testrun_sh(
        "printf 'channel,month,spend\\nsearch,1997-01,-5\\n' > "
        "/tmp/ltvd_acq_bad_spend.csv; printf "
        "'channel,month,spend\\nsearch,1997-1,5\\n' > "
        "/tmp/ltvd_acq_bad_month.csv; printf "
        "'channel,month,spend\\na,1997-01,5\\na,1997-01,6\\n' > "
        "/tmp/ltvd_acq_dup.csv; printf "
        "'customer_id,campaign\\n1,x\\n' > /tmp/ltvd_acq_attr.csv; printf "
        "'channel,month,spend\\n\\377x,1997-01,5\\n' > /tmp/ltvd_acq_utf8.csv; printf "
        "'channel,month,spend\\na\\001b,1997-01,5\\n' > /tmp/ltvd_acq_ctl.csv; printf "
        "'customer_id,acquisition_channel\\n1,\"a\\nb\"\\n' > /tmp/ltvd_acq_attr_nl.csv; "
        "printf 'channel,month,spend\\na,1997-01,1e308\\na,1997-02,1e308\\n' > "
        "/tmp/ltvd_acq_big.csv; printf "
        "'channel,month,spend,leads\\na,1997-01,5,1e300\\n' "
        "> /tmp/ltvd_acq_leads.csv");
    ck_assert_int_eq(r.status, 0);
    testrun_free(&r);
    expect_usage_error("acquisition --transactions " TXNS
                       " --spend /tmp/ltvd_acq_bad_spend.csv",
                       "ltvd_acq_bad_spend.csv:2: spend must be a number >= 0");
    expect_usage_error("acquisition --transactions " TXNS
                       " --spend /tmp/ltvd_acq_bad_month.csv",
                       "month must be YYYY-MM");
    expect_usage_error("acquisition --transactions " TXNS
                       " --spend /tmp/ltvd_acq_dup.csv",
                       "given twice");
    expect_usage_error("acquisition --transactions " TXNS
                       " --attributes /tmp/ltvd_acq_attr.csv",
                       "no acquisition_channel column");
    expect_usage_error("acquisition --transactions /nonexistent.csv", "/nonexistent.csv");
    expect_usage_error("acquisition --transactions " TXNS
                       " --spend /tmp/ltvd_acq_utf8.csv",
                       "bytes of UTF-8");
    /* the service's rules: no control character in a channel; a spend
     * below 1e14 and leads up to 2^53 (two spends of 1e308 summed to inf,
     * and the channel's ltv_cac and conversion came out 0) */
    expect_usage_error("acquisition --transactions " TXNS
                       " --spend /tmp/ltvd_acq_ctl.csv",
                       "without control characters");
    expect_usage_error("acquisition --transactions " TXNS
                       " --attributes /tmp/ltvd_acq_attr_nl.csv",
                       "ltvd_acq_attr_nl.csv:2: acquisition_channel must be");
    expect_usage_error("acquisition --transactions " TXNS
                       " --spend /tmp/ltvd_acq_big.csv",
                       "ltvd_acq_big.csv:2: spend must be a number >= 0 below 1e14");
    expect_usage_error("acquisition --transactions " TXNS
                       " --spend /tmp/ltvd_acq_leads.csv",
                       "leads must be empty or a number from 0 to 2^53");
}
END_TEST

/* A channel with a value of its own (a covariate model's) gets it; the
 * others the common one; the overall figure the common one. */
START_TEST(test_acq_doc_channel_values)
{
    cohort_customer c[4];
    hand_customers(c);
    cohort_channels cc;
    ck_assert_int_eq(cohort_channels_build(c, 4, 2, NULL, 0, &cc), 0);
    acq_model a = model_at("bgnbd", BGNBD);
    a.clv = (clv_options){12, 0.01, 1, 4.345};
    static acq_value common, own;
    ck_assert_int_eq(acq_value_compute(&a, &common), GSL_SUCCESS);
    a.params[0] *= 2; /* twice the purchase rate for "social" */
    ck_assert_int_eq(acq_value_compute(&a, &own), GSL_SUCCESS);
    const acq_value *per[2] = {NULL, &own};
    const char *names[2] = {"search", "social"};
    acq_doc_in in = {.model = &a,
                     .value = &common,
                     .channel_values = per,
                     .names = names,
                     .cc = &cc,
                     .target_ratio = 3,
                     .as_of_day = 19800};
    const char *why = NULL;
    json_t *d = acq_doc_acquisition(&in, &why);
    ck_assert_ptr_nonnull(d);
    json_t *chs = json_object_get(d, "channels");
    ck_assert_double_eq(testhttp_jnum(json_array_get(chs, 0), "new_customer_repeat_ltv"),
                        common.ltv);
    ck_assert_double_eq(testhttp_jnum(json_array_get(chs, 1), "new_customer_repeat_ltv"),
                        own.ltv);
    ck_assert_double_eq(
        testhttp_jnum(json_object_get(d, "overall"), "new_customer_repeat_ltv"),
        common.ltv);
    ck_assert(own.ltv > common.ltv);
    json_decref(d);
    /* no usable model (no spend model served): every value is null, the
     * counts and spend are there */
    in.model = NULL;
    d = acq_doc_acquisition(&in, &why);
    ck_assert_ptr_nonnull(d);
    json_t *all = json_object_get(d, "overall");
    ck_assert(json_is_null(json_object_get(d, "new_customer_repeat_ltv")));
    ck_assert(json_is_null(json_object_get(all, "new_customer_ltv")));
    ck_assert(json_is_null(json_object_get(all, "new_customer_ltv_interval")));
    ck_assert(json_is_null(json_object_get(all, "max_cac")));
    ck_assert(json_is_null(json_object_get(d, "months")));
    ck_assert_int_eq((int)testhttp_jnum(all, "customers"), 4);
    json_decref(d);
    cohort_channels_free(&cc);
}
END_TEST

/* A tenant with more channel names than a document lists: the 200 with
 * most customers are listed (in channel order), the total is said, and
 * "overall" still counts every customer (65,000 names made a 40 MB answer
 * in over a second before). */
START_TEST(test_acq_doc_many_channels)
{
    enum { N_CH = 260 };
    /* channel k has k + 1 customers: the 200 largest are 60..259 */
    size_t n = (size_t)N_CH * (N_CH + 1) / 2, i = 0;
    cohort_customer *c = calloc(n, sizeof *c);
    ck_assert_ptr_nonnull(c);
    for (uint32_t k = 0; k < N_CH; k++)
        for (uint32_t j = 0; j <= k; j++)
            c[i++] = (cohort_customer){
                summary_days_from_civil(2024, 1, 15), 1, k, 10, 0, 0x1, NAN};
    cohort_channels cc;
    ck_assert_int_eq(cohort_channels_build(c, n, N_CH, NULL, 0, &cc), 0);
    static char name_buf[N_CH][16];
    const char *names[N_CH];
    for (int k = 0; k < N_CH; k++) {
        snprintf(name_buf[k], sizeof name_buf[k], "c%03d", k);
        names[k] = name_buf[k];
    }
    acq_doc_in in = {.names = names, .cc = &cc, .target_ratio = 3, .as_of_day = 19800};
    const char *why = NULL;
    json_t *d = acq_doc_acquisition(&in, &why);
    ck_assert_ptr_nonnull(d);
    json_t *chs = json_object_get(d, "channels");
    ck_assert_uint_eq(json_array_size(chs), ACQ_DOC_CHANNELS_MAX);
    ck_assert_int_eq((int)testhttp_jnum(d, "channels_total"), N_CH);
    ck_assert_int_eq((int)testhttp_jnum(d, "channels_listed"), ACQ_DOC_CHANNELS_MAX);
    for (size_t k = 0; k < json_array_size(chs); k++) {
        json_t *g = json_array_get(chs, k);
        ck_assert_str_eq(json_string_value(json_object_get(g, "channel")),
                         names[N_CH - ACQ_DOC_CHANNELS_MAX + k]);
        ck_assert_int_eq((int)testhttp_jnum(g, "customers"),
                         N_CH - ACQ_DOC_CHANNELS_MAX + (int)k + 1);
    }
    ck_assert_int_eq((long long)testhttp_jnum(json_object_get(d, "overall"), "customers"),
                     (long long)n);
    json_decref(d);
    cohort_channels_free(&cc);
    free(c);
}
END_TEST

Suite *suite_acquisition(void)
{
    Suite *s = suite_create("acquisition");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_acq_expected_new_matches_mpmath);
    tcase_add_test(tc, test_acq_repeat_ltv_matches_mpmath);
    tcase_add_test(tc, test_acq_value_at_the_fitted_parameters);
    tcase_add_test(tc, test_acq_se_linear_in_v);
    tcase_add_test(tc, test_acq_figures_by_hand);
    tcase_add_test(tc, test_acq_months);
    tcase_add_test(tc, test_acq_cohorts_by_hand);
    tcase_add_test(tc, test_acq_doc_many_channels);
    tcase_add_test(tc, test_acq_channels_by_hand);
    tcase_add_test(tc, test_acq_accumulator_any_order);
    tcase_add_test(tc, test_acq_doc_channel_values);
    tcase_add_test(tc, test_acq_cli_acquisition_cdnow);
    tcase_add_test(tc, test_acq_cli_cohorts_cdnow);
    tcase_add_test(tc, test_acq_cli_errors);
    suite_add_tcase(s, tc);
    return s;
}

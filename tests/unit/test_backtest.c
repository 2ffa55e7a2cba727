/* The calibration/holdout back-test (model/backtest.h, summary/backtest_data.h,
 * report/backtest_json.h, `ltvd backtest`): lifetimes' figures on the CDNOW
 * sample against tests/data/ref_backtest_cdnow.csv (tests/reference/
 * backtest.py: calibration_and_holdout_data with freq='D', freq_multiplier=7,
 * BetaGeoFitter, GammaGammaFitter, written out in mpmath), the split's
 * conventions on a hand-made file, the internal consistency of the tables,
 * the JSON contract and the command's errors. Run from the repository root;
 * the binary is ./ltvd unless LTVD_BIN says otherwise. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/backtest.h"
#include "report/backtest_json.h"
#include "summary/backtest_data.h"
#include "testrun.h"

#define TXNS "tests/data/cdnow_sample_transactions.csv"
#define REF "tests/data/ref_backtest_cdnow.csv"
#define REL_TOL 1e-6
#define CDNOW_ARGS                                                                       \
    "backtest --model bgnbd --spend-model gg --transactions " TXNS                       \
    " --calibration-end 1997-09-30 --holdout-end 1998-06-30 --period week"

static void setup(void)
{
    gsl_set_error_handler_off();
}

/* ---- the reference file: key,value lines ---- */

#define REF_MAX 128

typedef struct ref_table {
    char keys[REF_MAX][48];
    double values[REF_MAX];
    size_t n;
} ref_table;

static void ref_load(ref_table *t)
{
    FILE *f = fopen(REF, "r");
    ck_assert_msg(f != NULL, "cannot open %s", REF);
    char line[256];
    t->n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char *comma = strchr(line, ',');
        if (line[0] == '#' || comma == NULL || strncmp(line, "key,", 4) == 0)
            continue;
        ck_assert(t->n < REF_MAX);
        *comma = '\0';
        ck_assert(strlen(line) < sizeof t->keys[0]);
        memcpy(t->keys[t->n], line, strlen(line) + 1);
        t->values[t->n++] = strtod(comma + 1, NULL);
    }
    fclose(f);
    ck_assert_msg(t->n > 50, "%s: only %zu values", REF, t->n);
}

static double ref(const ref_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->keys[i], key) == 0)
            return t->values[i];
    ck_abort_msg("%s has no %s", REF, key);
    return 0;
}

static void assert_rel(double got, double want, const char *what)
{
    double err = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
    ck_assert_msg(err <= REL_TOL, "%s: %.12g vs reference %.12g (rel. error %.2g)", what,
                  got, want, err);
}

/* ---- the CDNOW back-test in the library ---- */

typedef struct cdnow_run {
    txn_set txns;
    summary_backtest data;
    fit_result fit, gg;
    double n_fit, n_gg;
    backtest_figures fig;
} cdnow_run;

static void cdnow_run_all(cdnow_run *r)
{
    char err[SUMMARY_ERR_MAX];
    int64_t cal, obs;
    memset(r, 0, sizeof *r);
    ck_assert_int_eq(txn_read_csv(TXNS, &r->txns, err), 0);
    ck_assert_int_eq(summary_parse_day("1997-09-30", &cal), 0);
    ck_assert_int_eq(summary_parse_day("1998-06-30", &obs), 0);
    ck_assert_int_eq(summary_backtest_data(&r->txns, cal, obs, 7, &r->data),
                     SUMMARY_BACKTEST_OK);
    ck_assert_int_eq(backtest_fit(&bgnbd_model, r->data.customers, r->data.n, 0, &r->fit,
                                  &r->n_fit, &r->gg, &r->n_gg),
                     GSL_SUCCESS);
    backtest_input in =
        summary_backtest_input(&r->data, &bgnbd_model, r->fit.params, r->gg.params);
    ck_assert_int_eq(backtest_compute(&in, &r->fig, NULL), GSL_SUCCESS);
}

static void cdnow_run_free(cdnow_run *r)
{
    backtest_figures_free(&r->fig);
    summary_backtest_free(&r->data);
    txn_set_free(&r->txns);
}

static const char *const bin_label[BACKTEST_BINS] = {"0", "1", "2", "3",
                                                     "4", "5", "6", "7+"};

START_TEST(test_backtest_cdnow_lifetimes_figures)
{
    ref_table t;
    cdnow_run r;
    ref_load(&t);
    cdnow_run_all(&r);
    const backtest_figures *f = &r.fig;
    /* the figures, as lifetimes prints them */
    ck_assert_msg(fabs(f->holdout.mae - 0.7855) < 5e-5, "MAE %.6f", f->holdout.mae);
    ck_assert_int_eq((long)lround(f->holdout.predicted_total), 1653);
    ck_assert_int_eq((long)lround(f->holdout.actual_total), 1882);
    ck_assert_int_eq((int)f->holdout.customers, 2357);
    /* and the reference's, to 1e-6 */
    ck_assert_int_eq((int)r.n_fit, (int)ref(&t, "n_customers"));
    assert_rel(r.fit.params[0], ref(&t, "r"), "r");
    assert_rel(r.fit.params[1], ref(&t, "alpha"), "alpha");
    assert_rel(r.fit.params[2], ref(&t, "a"), "a");
    assert_rel(r.fit.params[3], ref(&t, "b"), "b");
    assert_rel(r.fit.log_likelihood, ref(&t, "log_likelihood"), "log-likelihood");
    assert_rel(r.data.holdout_periods, ref(&t, "duration_holdout"), "duration_holdout");
    assert_rel(f->holdout.mae, ref(&t, "holdout_mae"), "mae");
    assert_rel(f->holdout.rmse, ref(&t, "holdout_rmse"), "rmse");
    assert_rel(f->holdout.predicted_total, ref(&t, "holdout_predicted_total"),
               "predicted");
    assert_rel(f->holdout.actual_total, ref(&t, "holdout_actual_total"), "actual");
    assert_rel(f->naive.mae, ref(&t, "naive_mae"), "naive mae");
    assert_rel(f->naive.rmse, ref(&t, "naive_rmse"), "naive rmse");
    assert_rel(f->naive.predicted_total, ref(&t, "naive_predicted_total"), "naive total");
    ck_assert(!f->worse_than_naive);
    cdnow_run_free(&r);
}
END_TEST

START_TEST(test_backtest_cdnow_tables)
{
    ref_table t;
    cdnow_run r;
    char key[64];
    ref_load(&t);
    cdnow_run_all(&r);
    const backtest_figures *f = &r.fig;
    for (size_t b = 0; b < BACKTEST_BINS; b++) {
        snprintf(key, sizeof key, "freq_%s_customers", bin_label[b]);
        ck_assert_int_eq((int)f->by_frequency[b].customers, (int)ref(&t, key));
        snprintf(key, sizeof key, "freq_%s_actual_mean", bin_label[b]);
        assert_rel(f->by_frequency[b].actual_mean, ref(&t, key), key);
        snprintf(key, sizeof key, "freq_%s_predicted_mean", bin_label[b]);
        assert_rel(f->by_frequency[b].predicted_mean, ref(&t, key), key);
        snprintf(key, sizeof key, "hist_%s_actual", bin_label[b]);
        ck_assert_int_eq((int)f->histogram[b].actual, (int)ref(&t, key));
        snprintf(key, sizeof key, "hist_%s_model", bin_label[b]);
        assert_rel(f->histogram[b].model, ref(&t, key), key);
    }
    /* tracking: the calibration and holdout sums of the series */
    double cal_act = 0, cal_mod = 0, hold_act = 0, hold_mod = 0;
    for (size_t p = 0; p < f->n_periods; p++) {
        int cal = p < f->n_periods_cal;
        *(cal ? &cal_act : &hold_act) += f->tracking[p].actual;
        *(cal ? &cal_mod : &hold_mod) += f->tracking[p].model;
    }
    ck_assert_int_eq(f->n_periods, 78);
    ck_assert_int_eq(f->n_periods_cal, 39);
    assert_rel(cal_act, ref(&t, "tracking_calibration_actual"), "calibration actual");
    assert_rel(hold_act, ref(&t, "tracking_holdout_actual"), "holdout actual");
    assert_rel(cal_mod, ref(&t, "tracking_calibration_model"), "calibration model");
    assert_rel(hold_mod, ref(&t, "tracking_holdout_model"), "holdout model");
    /* spend */
    assert_rel(r.gg.params[0], ref(&t, "p"), "p");
    assert_rel(r.gg.params[1], ref(&t, "q"), "q");
    assert_rel(r.gg.params[2], ref(&t, "v"), "v");
    ck_assert_int_eq((int)r.n_gg, (int)ref(&t, "gg_customers"));
    ck_assert(f->has_spend);
    ck_assert_int_eq((int)f->spend.customers, (int)ref(&t, "spend_customers"));
    assert_rel(f->spend.actual_mean, ref(&t, "spend_actual_mean"), "spend actual");
    assert_rel(f->spend.predicted_mean, ref(&t, "spend_predicted_mean"),
               "spend predicted");
    assert_rel(f->spend.mae, ref(&t, "spend_mae"), "spend mae");
    cdnow_run_free(&r);
}
END_TEST

/* The tables agree with each other: the histogram counts every customer
 * (and so does its model), the series adds up to the summaries and the
 * holdout, the cumulative columns are running sums. */
START_TEST(test_backtest_cdnow_consistent)
{
    cdnow_run r;
    cdnow_run_all(&r);
    const backtest_figures *f = &r.fig;
    double hist_act = 0, hist_mod = 0, bins = 0, x_sum = 0, pred = 0;
    for (size_t b = 0; b < BACKTEST_BINS; b++) {
        hist_act += f->histogram[b].actual;
        hist_mod += f->histogram[b].model;
        bins += f->by_frequency[b].customers;
        pred += f->by_frequency[b].predicted_mean * f->by_frequency[b].customers;
        ck_assert_double_eq(f->histogram[b].actual, f->by_frequency[b].customers);
    }
    ck_assert_double_eq(hist_act, (double)r.data.n);
    ck_assert_double_eq(bins, (double)r.data.n);
    ck_assert_double_eq_tol(hist_mod, (double)r.data.n, 1e-9 * r.data.n);
    ck_assert_double_eq_tol(pred, f->holdout.predicted_total, 1e-9 * pred);
    for (size_t i = 0; i < r.data.n; i++)
        x_sum += r.data.customers[i].x;
    double act = 0, mod = 0, hold = 0;
    for (size_t p = 0; p < f->n_periods; p++) {
        act += f->tracking[p].actual;
        mod += f->tracking[p].model;
        ck_assert_double_eq(f->tracking[p].actual_cumulative, act);
        ck_assert_double_eq_tol(f->tracking[p].model_cumulative, mod, 1e-9 * (1 + mod));
        ck_assert(f->tracking[p].model >= 0);
        if (p + 1 == f->n_periods_cal)
            ck_assert_double_eq(act, x_sum);
        if (p >= f->n_periods_cal)
            hold += f->tracking[p].actual;
    }
    ck_assert_double_eq(hold, f->holdout.actual_total);
    cdnow_run_free(&r);
}
END_TEST

/* ---- the split's conventions on a hand-made file ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Customer a: two rows on 2024-01-01 (one purchase day), repeats on 01-08
 * and 01-15, holdout on 01-16 (twice) and 01-20. b: one purchase, none
 * after. c: first purchase in the holdout (left out). Calibration end
 * 2024-01-15, holdout end 2024-01-29. */
static const char small_csv[] = "customer_id,occurred_at,amount\n"
                                "a,2024-01-01,10\n"
                                "a,2024-01-01,5\n"
                                "b,2024-01-10,7\n"
                                "a,2024-01-08,20\n"
                                "a,2024-01-15,30\n"
                                "c,2024-01-20,1\n"
                                "a,2024-01-16,1\n"
                                "a,2024-01-16,3\n"
                                "a,2024-01-20,6\n"
                                "a,2024-02-20,99\n";

START_TEST(test_backtest_split_conventions)
{
    char path[] = "/tmp/ltvd_backtest_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    write_file(path, small_csv);
    txn_set t;
    char err[SUMMARY_ERR_MAX];
    int64_t cal, obs;
    ck_assert_int_eq(txn_read_csv(path, &t, err), 0);
    summary_parse_day("2024-01-15", &cal);
    summary_parse_day("2024-01-29", &obs);
    summary_backtest b;
    ck_assert_int_eq(summary_backtest_data(&t, cal, obs, 7, &b), SUMMARY_BACKTEST_OK);
    ck_assert_int_eq(b.n, 2);
    ck_assert_str_eq(b.ids[0], "a");
    ck_assert_str_eq(b.ids[1], "b");
    const backtest_customer *a = &b.customers[0], *c = &b.customers[1];
    ck_assert_double_eq(a->x, 2);
    ck_assert_double_eq(a->t_x, 2);
    ck_assert_double_eq(a->T, 2);
    ck_assert_double_eq(a->m, 25);
    ck_assert_double_eq(a->x_holdout, 2); /* 01-16 and 01-20 */
    ck_assert_double_eq(a->m_holdout, 5); /* (1 + 3 + 6) / 2 days */
    ck_assert_double_eq(a->duration_holdout, 2);
    ck_assert_double_eq(c->x, 0);
    ck_assert_double_eq_tol(c->T, 5.0 / 7, 1e-15);
    ck_assert_double_eq(c->x_holdout, 0);
    /* periods of 7 days ending on the calibration end: 01-02..01-08, 01-09..01-15
     * are calibration (a's 01-01 lies before: the series starts 12-26) */
    ck_assert_int_eq(b.n_periods_cal, 3);
    ck_assert_int_eq(b.n_periods, 5);
    char day[11];
    summary_format_day(b.first_period_day, day);
    ck_assert_str_eq(day, "2023-12-26");
    ck_assert_int_eq(b.last_day, 34);
    ck_assert_int_eq(a->first_day, 6);
    ck_assert_int_eq(c->first_day, 15);
    double want[5] = {0, 1, 1, 2, 0};
    for (int p = 0; p < 5; p++)
        ck_assert_double_eq(b.actual_repeat[p], want[p]);
    /* the library refuses what it cannot take */
    fit_result fit = {.params = {0.5, 2, 1.5, 2.5}};
    backtest_input in = summary_backtest_input(&b, &bgnbd_model, fit.params, NULL);
    backtest_figures f;
    backtest_customer_out out[2];
    ck_assert_int_eq(backtest_compute(&in, &f, out), GSL_SUCCESS);
    ck_assert(!f.has_spend);
    /* b has T > 0 and x = 0: the naive prediction is 0 */
    ck_assert_double_eq_tol(f.naive.predicted_total, 2.0 / 2 * 2, 1e-12);
    ck_assert(out[1].p_alive == 1); /* x = 0: alive for BG/NBD */
    ck_assert_double_eq_tol(f.holdout.predicted_total,
                            out[0].predicted_holdout + out[1].predicted_holdout, 1e-12);
    ck_assert_double_eq(f.by_frequency[1].customers, 0);
    backtest_figures_free(&f);
    backtest_input bad = in;
    bad.n = 0;
    ck_assert_int_eq(backtest_compute(&bad, &f, NULL), GSL_EDOM);
    bad = in;
    bad.n_periods_cal = 9;
    ck_assert_int_eq(backtest_compute(&bad, &f, NULL), GSL_EDOM);
    bad = in;
    bad.last_day = BACKTEST_MAX_DAYS;
    ck_assert_int_eq(backtest_compute(&bad, &f, NULL), GSL_EDOM);
    summary_backtest_free(&b);
    /* the statuses of the split */
    ck_assert_int_eq(summary_backtest_data(&t, cal, cal, 7, &b),
                     SUMMARY_BACKTEST_BAD_ARGS);
    ck_assert_int_eq(summary_backtest_data(&t, cal, obs, 3, &b),
                     SUMMARY_BACKTEST_BAD_ARGS);
    ck_assert_int_eq(summary_backtest_data(&t, cal - 30, obs, 1, &b),
                     SUMMARY_BACKTEST_NO_CUSTOMERS);
    ck_assert_int_eq(summary_backtest_data(&t, cal, cal + BACKTEST_MAX_DAYS, 1, &b),
                     SUMMARY_BACKTEST_LONG);
    ck_assert_int_eq(summary_backtest_data(&t, cal, obs, 1, &b), SUMMARY_BACKTEST_OK);
    ck_assert_int_eq(b.n_periods_cal, 15);
    ck_assert_int_eq(b.n_periods, 29);
    summary_backtest_free(&b);
    txn_set_free(&t);
    unlink(path);
}
END_TEST

/* Amounts are summed in exact units of 1e-4 on both paths: a day of 0.1 +
 * 0.2 + 0.7 (1.0000000000000002 in doubles, summed in that order) has the
 * mean 1 exactly; the builder fed with the aggregates the service reads
 * (customer_days' exact decimal sums as units, in another customer order)
 * gives the same doubles as summary_backtest_data on the transactions. */
START_TEST(test_backtest_exact_units)
{
    ck_assert_int_eq(summary_backtest_units(0.1), 1000);
    ck_assert_int_eq(summary_backtest_units(12345678901.2345), 123456789012345LL);
    ck_assert_int_eq(summary_backtest_units(0.00005), 1); /* half away from zero */
    /* customer 0: days 100 (first), 103 (0.1 + 0.2 + 0.7), 104 (2.3); holdout 110
     * (0.3 + 0.6); customer 1: day 102, holdout 111 and 112 */
    txn items[] = {{0, 100, 5},   {0, 103, 0.1}, {0, 103, 0.2}, {0, 103, 0.7},
                   {0, 104, 2.3}, {0, 110, 0.3}, {0, 110, 0.6}, {1, 102, 1},
                   {1, 111, 0.1}, {1, 112, 0.2}};
    char *ids[] = {"a", "b"};
    txn_set t = {
        .items = items, .n = 10, .customer_ids = ids, .n_customers = 2, .last_day = 112};
    summary_backtest csv, agg;
    ck_assert_int_eq(summary_backtest_data(&t, 105, 112, 1, &csv), SUMMARY_BACKTEST_OK);
    /* 3.3 / 2, whatever order the doubles of day 103 are summed in */
    ck_assert_double_eq(csv.customers[0].m, 33000 / 1e4 / 2);
    ck_assert_double_eq(csv.customers[0].m_holdout, 0.9);
    ck_assert_int_eq(summary_backtest_begin(&agg, 105, 112, 1), SUMMARY_BACKTEST_OK);
    summary_backtest_agg b = {102, 102, 1, 0, 2, 3000};
    summary_backtest_agg a = {100, 104, 3, 33000, 1, 9000};
    ck_assert_int_eq(summary_backtest_add(&agg, &b), SUMMARY_BACKTEST_OK);
    ck_assert_int_eq(summary_backtest_add(&agg, &a), SUMMARY_BACKTEST_OK);
    /* a calibration day after the calibration end */
    summary_backtest_agg bad = {100, 106, 2, 0, 0, 0};
    ck_assert_int_eq(summary_backtest_add(&agg, &bad), SUMMARY_BACKTEST_BAD_ARGS);
    ck_assert_int_eq(summary_backtest_end(&agg), SUMMARY_BACKTEST_OK);
    /* the calibration's purchase days per day (first days included), then
     * the holdout's */
    summary_backtest_add_days(&agg, 100, 1);
    summary_backtest_add_days(&agg, 102, 1);
    summary_backtest_add_days(&agg, 103, 1);
    summary_backtest_add_days(&agg, 104, 1);
    summary_backtest_add_days(&agg, 110, 1);
    summary_backtest_add_days(&agg, 111, 1);
    summary_backtest_add_days(&agg, 112, 1);
    ck_assert_ptr_null(agg.ids);
    ck_assert_int_eq(agg.n, 2);
    ck_assert(memcmp(&agg.customers[1], &csv.customers[0], sizeof agg.customers[0]) == 0);
    ck_assert(memcmp(&agg.customers[0], &csv.customers[1], sizeof agg.customers[0]) == 0);
    ck_assert_int_eq(agg.n_periods, csv.n_periods);
    ck_assert_int_eq(agg.n_periods_cal, csv.n_periods_cal);
    ck_assert_int_eq(agg.first_period_day, csv.first_period_day);
    ck_assert_int_eq(agg.last_day, csv.last_day);
    ck_assert(memcmp(agg.actual_repeat, csv.actual_repeat,
                     csv.n_periods * sizeof *csv.actual_repeat) == 0);
    summary_backtest_free(&agg);
    summary_backtest_free(&csv);
    /* nobody in the calibration */
    ck_assert_int_eq(summary_backtest_begin(&agg, 105, 112, 7), SUMMARY_BACKTEST_OK);
    ck_assert_int_eq(summary_backtest_end(&agg), SUMMARY_BACKTEST_NO_CUSTOMERS);
    summary_backtest_free(&agg);
}
END_TEST

/* ---- the document ---- */

static const char *const contract_keys[] = {"model",
                                            "spend_model",
                                            "period",
                                            "calibration_end",
                                            "holdout_end",
                                            "holdout_periods",
                                            "calibration_fit",
                                            "holdout",
                                            "naive",
                                            "worse_than_naive",
                                            "conditional_expectations",
                                            "tracking",
                                            "calibration_histogram",
                                            "spend"};

START_TEST(test_backtest_json_contract)
{
    cdnow_run r;
    cdnow_run_all(&r);
    int64_t cal, obs;
    summary_parse_day("1997-09-30", &cal);
    summary_parse_day("1998-06-30", &obs);
    report_backtest rep = {&bgnbd_model,
                           7,
                           cal,
                           obs,
                           r.data.holdout_periods,
                           r.data.first_period_day,
                           &r.fit,
                           r.n_fit,
                           &r.gg,
                           r.n_gg,
                           &r.fig};
    json_t *j = report_backtest_json(&rep);
    ck_assert(j != NULL);
    ck_assert_int_eq(json_object_size(j), sizeof contract_keys / sizeof contract_keys[0]);
    for (size_t i = 0; i < sizeof contract_keys / sizeof contract_keys[0]; i++)
        ck_assert_msg(json_object_get(j, contract_keys[i]) != NULL, "no %s",
                      contract_keys[i]);
    ck_assert_str_eq(json_string_value(json_object_get(j, "period")), "week");
    ck_assert_str_eq(json_string_value(json_object_get(j, "spend_model")), "gg");
    ck_assert_str_eq(json_string_value(json_object_get(j, "calibration_end")),
                     "1997-09-30");
    json_t *fit = json_object_get(j, "calibration_fit");
    ck_assert(json_is_number(json_object_get(json_object_get(fit, "params"), "alpha")));
    ck_assert(json_is_object(json_object_get(fit, "std_errors")));
    ck_assert(json_is_object(json_object_get(fit, "spend")));
    json_t *ho = json_object_get(j, "holdout");
    ck_assert_int_eq(json_integer_value(json_object_get(ho, "actual_total")), 1882);
    ck_assert_int_eq(json_integer_value(json_object_get(ho, "customers")), 2357);
    json_t *ce = json_object_get(j, "conditional_expectations");
    ck_assert_int_eq(json_array_size(ce), 8);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(ce, 7), "frequency")), "7+");
    json_t *tr = json_object_get(j, "tracking");
    ck_assert_int_eq(json_array_size(tr), 78);
    json_t *t38 = json_array_get(tr, 38), *t39 = json_array_get(tr, 39);
    ck_assert_str_eq(json_string_value(json_object_get(t38, "phase")), "calibration");
    ck_assert_str_eq(json_string_value(json_object_get(t39, "phase")), "holdout");
    ck_assert_str_eq(json_string_value(json_object_get(t39, "period_start")),
                     "1997-10-01");
    ck_assert_int_eq(json_array_size(json_object_get(j, "calibration_histogram")), 8);
    char *text = json_dumps(j, 0);
    ck_assert(strstr(text, "nan") == NULL && strstr(text, "inf") == NULL);
    free(text);
    json_decref(j);
    /* without spend, and with an empty class: nulls, not NaN */
    r.fig.has_spend = false;
    r.fig.by_frequency[3].customers = 0;
    rep.spend_fit = NULL;
    j = report_backtest_json(&rep);
    ck_assert(j != NULL);
    ck_assert(json_is_null(json_object_get(j, "spend")));
    ck_assert(json_is_null(json_object_get(j, "spend_model")));
    ck_assert(
        json_is_null(json_object_get(json_object_get(j, "calibration_fit"), "spend")));
    json_t *c3 = json_array_get(json_object_get(j, "conditional_expectations"), 3);
    ck_assert(json_is_null(json_object_get(c3, "actual_mean")));
    ck_assert(json_is_null(json_object_get(c3, "predicted_mean")));
    json_decref(j);
    cdnow_run_free(&r);
}
END_TEST

/* ---- the command ---- */

static testrun_out run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "$LTVD %s", args);
    return testrun_sh(cmd);
}

START_TEST(test_backtest_cli_cdnow)
{
    char pc[] = "/tmp/ltvd_backtest_pc_XXXXXX";
    int fd = mkstemp(pc);
    ck_assert(fd >= 0);
    close(fd);
    char args[1024];
    snprintf(args, sizeof args, CDNOW_ARGS " --per-customer %s", pc);
    testrun_out r = run(args);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", e.text);
    json_t *ho = json_object_get(j, "holdout");
    double mae = json_number_value(json_object_get(ho, "mae"));
    ck_assert_msg(fabs(mae - 0.7855) < 5e-5, "MAE %.6f", mae);
    ck_assert_int_eq(lround(json_number_value(json_object_get(ho, "predicted_total"))),
                     1653);
    ck_assert_int_eq(json_integer_value(json_object_get(ho, "actual_total")), 1882);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "holdout_periods")), 39);
    /* the served figures are the library's: same tracking sum */
    json_t *tr = json_object_get(j, "tracking");
    double hold = 0;
    for (size_t i = 0; i < json_array_size(tr); i++) {
        json_t *row = json_array_get(tr, i);
        if (strcmp(json_string_value(json_object_get(row, "phase")), "holdout") == 0)
            hold += json_number_value(json_object_get(row, "actual"));
    }
    ck_assert_double_eq(hold, 1882);
    /* the per-customer file: one row per customer, predictions adding up */
    FILE *f = fopen(pc, "r");
    ck_assert(f != NULL);
    char line[512];
    ck_assert(fgets(line, sizeof line, f) != NULL);
    ck_assert_str_eq(line,
                     "customer_id,frequency_cal,recency_cal,T_cal,frequency_holdout,"
                     "duration_holdout,predicted_holdout,p_alive,"
                     "monetary_value_holdout,predicted_spend\n");
    int rows = 0;
    double pred = 0, act = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        double v[9];
        char *p = strchr(line, ',');
        for (int k = 0; k < 9 && p != NULL; k++) {
            v[k] = strtod(p + 1, &p);
            ck_assert(isfinite(v[k]));
        }
        act += v[3];
        pred += v[5];
        ck_assert(v[6] >= 0 && v[6] <= 1);
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 2357);
    ck_assert_double_eq(act, 1882);
    ck_assert_double_eq_tol(
        pred, json_number_value(json_object_get(ho, "predicted_total")), 1e-6);
    json_decref(j);
    testrun_free(&r);
    unlink(pc);
}
END_TEST

START_TEST(test_backtest_cli_errors)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"backtest --transactions " TXNS " --calibration-end 1997-09-30",
         "--model is required"},
        {"backtest --model bgbb --transactions " TXNS " --calibration-end 1997-09-30",
         "not 'bgbb' (bgbb counts opportunities, not time)"},
        /* not the bgbb reason for a model that is no purchase model at all */
        {"backtest --model gg --transactions " TXNS " --calibration-end 1997-09-30",
         "not 'gg' (gg is the spend model: --spend-model gg)"},
        {"backtest --model nope --transactions " TXNS " --calibration-end 1997-09-30",
         "or bgpois, not 'nope'\n"},
        {"backtest --model bgnbd --spend-model pareto --transactions " TXNS
         " --calibration-end 1997-09-30",
         "--spend-model must be gg"},
        {"backtest --model bgnbd --transactions " TXNS " --calibration-end 1997-09-30 "
         "--period month",
         "--period must be day or week"},
        {"backtest --model bgnbd --transactions " TXNS " --calibration-end 1997-13-01",
         "--calibration-end must be a date"},
        {"backtest --model bgnbd --transactions " TXNS,
         "--calibration-end DATE is required"},
        {"backtest --model bgnbd --calibration-end 1997-09-30", "--transactions FILE is"},
        {"backtest --model bgnbd --transactions " TXNS " --calibration-end 1997-09-30 "
         "--holdout-end 1997-09-30",
         "--holdout-end must be after --calibration-end"},
        {"backtest --model bgnbd --transactions " TXNS " --calibration-end 1996-12-31",
         "before the first transaction (1997-01-01)"},
        {"backtest --model bgnbd --transactions " TXNS " --calibration-end 1998-06-30",
         "the holdout is empty"},
        {"backtest --model bgnbd --transactions " TXNS " --calibration-end 1998-06-30 "
         "--holdout-end 1998-09-30",
         "the holdout is empty"},
        {"backtest --model bgnbd --transactions " TXNS
         " --calibration-end 1997-09-30 --nope",
         "unknown option"},
        {"backtest --model bgnbd --transactions " TXNS
         " --calibration-end 1997-09-30 extra",
         "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        testrun_out r = run(cases[i].args);
        ck_assert_msg(r.status == 2, "%s: exit %d (%s)", cases[i].args, r.status, r.err);
        ck_assert_msg(strstr(r.err, cases[i].message) != NULL, "%s: stderr '%s'",
                      cases[i].args, r.err);
        ck_assert_msg(strncmp(r.err, "ltvd backtest: ", 15) == 0, "%s", r.err);
        ck_assert_msg(r.out[0] == '\0', "%s: stdout '%.80s'", cases[i].args, r.out);
        testrun_free(&r);
    }
    testrun_out r = run("backtest --model bgnbd --transactions /nonexistent/x.csv "
                        "--calibration-end 1997-09-30");
    ck_assert_int_eq(r.status, 1);
    ck_assert(strstr(r.err, "/nonexistent/x.csv") != NULL);
    testrun_free(&r);
    r = run("backtest --help");
    ck_assert_int_eq(r.status, 0);
    ck_assert(strncmp(r.out, "usage: ltvd backtest ", 21) == 0);
    testrun_free(&r);
}
END_TEST

Suite *suite_backtest(void)
{
    Suite *s = suite_create("backtest");
    TCase *tc = tcase_create("backtest");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_backtest_cdnow_lifetimes_figures);
    tcase_add_test(tc, test_backtest_cdnow_tables);
    tcase_add_test(tc, test_backtest_cdnow_consistent);
    tcase_add_test(tc, test_backtest_split_conventions);
    tcase_add_test(tc, test_backtest_exact_units);
    tcase_add_test(tc, test_backtest_json_contract);
    tcase_add_test(tc, test_backtest_cli_cdnow);
    tcase_add_test(tc, test_backtest_cli_errors);
    suite_add_tcase(s, tc);
    return s;
}

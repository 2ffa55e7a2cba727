/* `ltvd backtest`: the calibration/holdout back-test of a purchase model
 * (and Gamma-Gamma) on a transactions CSV, split as lifetimes'
 * calibration_and_holdout_data splits it (summary/backtest_data.h), fitted
 * on the calibration part and printed as the back-test JSON
 * (report/backtest_json.h); --per-customer writes each customer's figures.
 * Exit 0; 1 for unreadable data, a fit that failed or cannot be used (the
 * document is still printed when it can be computed), or a write error; 2
 * for a usage error or a split the data cannot make. */
#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_data.h"
#include "model/accept.h"
#include "model/backtest.h"
#include "report/backtest_json.h"
#include "summary/backtest_data.h"

static const char backtest_usage[] =
    "usage: ltvd backtest --model M [--spend-model gg] --transactions FILE\n"
    "                     --calibration-end DATE [--holdout-end DATE]\n"
    "                     [--period day|week] [--per-customer FILE]\n"
    "Fits the model on the transactions up to --calibration-end (inclusive) and\n"
    "compares what it predicts with the holdout (--calibration-end, --holdout-end],\n"
    "as lifetimes' calibration_and_holdout_data does with freq='D' and\n"
    "freq_multiplier 1 (day) or 7 (week): purchases collapse per day, times are\n"
    "days divided by 1 or 7 (as ltvd fit summarises).\n"
    "Prints one JSON object: model, spend_model, period, calibration_end,\n"
    "holdout_end, holdout_periods, calibration_fit, holdout (customers, mae, rmse,\n"
    "predicted_total, actual_total), naive (each customer repeats x/T per period),\n"
    "worse_than_naive, conditional_expectations (by calibration frequency 0..6,\n"
    "7+), tracking (repeat purchases per period, actual and model),\n"
    "calibration_histogram and spend (null without --spend-model).\n"
    "  --model M              bgnbd, pareto, mbgnbd, bggeo, bgpois\n"
    "  --spend-model gg       also fit Gamma-Gamma and compare holdout spend\n"
    "  --transactions FILE    customer_id,occurred_at,amount (as ltvd fit reads)\n"
    "  --calibration-end DATE YYYY-MM-DD, the last day of the calibration\n"
    "  --holdout-end DATE     the last day of the holdout (default: the last\n"
    "                         transaction's day)\n"
    "  --period day|week      the time unit (default day)\n"
    "  --per-customer FILE    also write customer_id, frequency_cal, recency_cal,\n"
    "                         T_cal, frequency_holdout, duration_holdout,\n"
    "                         predicted_holdout, p_alive (and with gg\n"
    "                         monetary_value_holdout, predicted_spend) as CSV\n"
    "  -h, --help             this text\n"
    "Exit status: 0, 1 for bad data or a fit that cannot be used, 2 for a usage\n"
    "error or a split the data cannot make.\n";

enum {
    OPT_MODEL = 1000,
    OPT_SPEND,
    OPT_TXNS,
    OPT_CAL,
    OPT_HOLD,
    OPT_PERIOD,
    OPT_PER,
    OPT_HELP
};

static const struct option long_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"spend-model", required_argument, NULL, OPT_SPEND},
    {"transactions", required_argument, NULL, OPT_TXNS},
    {"calibration-end", required_argument, NULL, OPT_CAL},
    {"holdout-end", required_argument, NULL, OPT_HOLD},
    {"period", required_argument, NULL, OPT_PERIOD},
    {"per-customer", required_argument, NULL, OPT_PER},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct options {
    const btyd_model *model;
    bool spend;
    const char *transactions, *per_customer;
    bool has_cal, has_hold;
    int64_t cal_end, hold_end;
    int period_days;
} options;

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error("backtest", fmt, arg);
}

static int parse_date(const char *arg, const char *name, int64_t *day)
{
    if (strlen(arg) == 10 && summary_parse_day(arg, day) == 0)
        return 0;
    fprintf(stderr, "ltvd backtest: %s must be a date YYYY-MM-DD, not '", name);
    char safe[80];
    cli_printable(arg, safe, sizeof safe);
    fprintf(stderr, "%s'\n", safe);
    return 2;
}

static int parse_option(int opt, const char *arg, options *o)
{
    switch (opt) {
    case OPT_MODEL:
        o->model = btyd_model_find(arg);
        if (o->model != NULL && o->model->discrete)
            return usage_error("--model must be bgnbd, pareto, mbgnbd, bggeo or bgpois, "
                               "not '%s' (bgbb counts opportunities, not time)",
                               arg);
        if (o->model == NULL && strcmp(arg, "gg") == 0)
            return usage_error("--model must be bgnbd, pareto, mbgnbd, bggeo or bgpois, "
                               "not '%s' (gg is the spend model: --spend-model gg)",
                               arg);
        if (o->model == NULL)
            return usage_error("--model must be bgnbd, pareto, mbgnbd, bggeo or bgpois, "
                               "not '%s'",
                               arg);
        return 0;
    case OPT_SPEND:
        if (strcmp(arg, "gg") != 0)
            return usage_error("--spend-model must be gg, not '%s'", arg);
        o->spend = true;
        return 0;
    case OPT_TXNS:
        o->transactions = arg;
        return 0;
    case OPT_CAL:
        o->has_cal = true;
        return parse_date(arg, "--calibration-end", &o->cal_end);
    case OPT_HOLD:
        o->has_hold = true;
        return parse_date(arg, "--holdout-end", &o->hold_end);
    case OPT_PERIOD:
        if (strcmp(arg, "day") != 0 && strcmp(arg, "week") != 0)
            return usage_error("--period must be day or week, not '%s'", arg);
        o->period_days = strcmp(arg, "week") == 0 ? 7 : 1;
        return 0;
    case OPT_PER:
        o->per_customer = arg;
        return 0;
    }
    return usage_error("unknown option or missing value: '%s'", arg);
}

/* Returns 0, 1 after printing the usage (help), or 2 after a usage error. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.period_days = 1};
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(backtest_usage, stdout);
            return 1;
        }
    optind = 1;
    opterr = 0;
    for (;;) {
        int opt = getopt_long(argc, argv, "h", long_options, NULL);
        if (opt == -1)
            break;
        if (opt == '?' || opt == ':')
            return usage_error("unknown option or missing value: '%s'", argv[optind - 1]);
        int rc = parse_option(opt, optarg, o);
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->model == NULL)
        return usage_error("%s", "--model is required (bgnbd, pareto, mbgnbd, bggeo, "
                                 "bgpois)");
    if (o->transactions == NULL)
        return usage_error("%s", "--transactions FILE is required");
    if (!o->has_cal)
        return usage_error("%s", "--calibration-end DATE is required");
    if (o->has_hold && o->hold_end <= o->cal_end)
        return usage_error("%s", "--holdout-end must be after --calibration-end");
    return 0;
}

/* ------------------------------------------------------------------------
 * The split and the fits.
 * ------------------------------------------------------------------------ */

static int split_error(summary_backtest_status st, const txn_set *t)
{
    char first[11] = "?", last[11] = "?";
    int64_t lo = t->n > 0 ? t->items[0].day : 0;
    for (size_t i = 1; i < t->n; i++)
        if (t->items[i].day < lo)
            lo = t->items[i].day;
    summary_format_day(lo, first);
    summary_format_day(t->last_day, last);
    switch (st) {
    case SUMMARY_BACKTEST_NOMEM:
        fprintf(stderr, "ltvd backtest: out of memory\n");
        return 1;
    case SUMMARY_BACKTEST_BAD_ARGS:
        fprintf(stderr,
                "ltvd backtest: the holdout is empty: --holdout-end (default the last "
                "transaction, %s) must be after --calibration-end\n",
                last);
        return 2;
    case SUMMARY_BACKTEST_NO_CUSTOMERS:
        fprintf(stderr,
                "ltvd backtest: --calibration-end is before the first transaction (%s): "
                "no customer to fit on\n",
                first);
        return 2;
    case SUMMARY_BACKTEST_LONG:
        fprintf(stderr,
                "ltvd backtest: from the first purchase (%s) to --holdout-end is %d days "
                "or more\n",
                first, BACKTEST_MAX_DAYS);
        return 2;
    case SUMMARY_BACKTEST_OK:
        break;
    }
    return 0;
}

/* The holdout must hold a purchase of a calibration customer. */
static bool holdout_empty(const summary_backtest *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->customers[i].x_holdout > 0)
            return false;
    return true;
}

/* Fits and checks acceptance. Returns 0, 1 when a fit is refused (printed
 * on stderr, the back-test still runs) or -1 when it failed. */
static int fit_all(const options *o, const summary_backtest *b, fit_result *fit,
                   double *n_fit, fit_result *gg, double *n_gg)
{
    int rc = backtest_fit(o->model, b->customers, b->n, 0, fit, n_fit,
                          o->spend ? gg : NULL, n_gg);
    if (rc != GSL_SUCCESS) {
        fprintf(stderr, "ltvd backtest: the calibration fit failed: %s%s\n",
                gsl_strerror(rc),
                rc == GSL_EDOM && o->spend && *n_fit > 0
                    ? " (Gamma-Gamma needs customers with repeat purchases of positive "
                      "value)"
                    : "");
        return -1;
    }
    char why[512];
    int refused = 0;
    if (accept_btyd(o->model, fit, why, sizeof why) != ACCEPT_OK) {
        fprintf(stderr, "ltvd backtest: the %s fit cannot be used: %s\n", o->model->name,
                why);
        refused = 1;
    }
    if (o->spend && accept_gg(gg, why, sizeof why) != ACCEPT_OK) {
        fprintf(stderr, "ltvd backtest: the gg fit cannot be used: %s\n", why);
        refused = 1;
    }
    return refused;
}

/* ------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------ */

static void put_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_per_customer(const options *o, const summary_backtest *b,
                              const backtest_customer_out *out)
{
    FILE *f = fopen(o->per_customer, "w");
    if (f == NULL) {
        fprintf(stderr, "ltvd backtest: cannot write %s: %s\n", o->per_customer,
                strerror(errno));
        return 1;
    }
    fputs("customer_id,frequency_cal,recency_cal,T_cal,frequency_holdout,"
          "duration_holdout,predicted_holdout,p_alive",
          f);
    fputs(o->spend ? ",monetary_value_holdout,predicted_spend\n" : "\n", f);
    for (size_t i = 0; i < b->n; i++) {
        const backtest_customer *c = &b->customers[i];
        put_field(f, b->ids[i]);
        fprintf(f, ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", c->x, c->t_x, c->T,
                c->x_holdout, c->duration_holdout, out[i].predicted_holdout,
                out[i].p_alive);
        if (o->spend)
            fprintf(f, ",%.17g,%.17g", c->m_holdout, out[i].predicted_spend);
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "ltvd backtest: cannot write %s\n", o->per_customer);
        return 1;
    }
    return 0;
}

static int print_document(const options *o, const summary_backtest *b,
                          const backtest_figures *fig, const fit_result *fit,
                          double n_fit, const fit_result *gg, double n_gg)
{
    report_backtest r = {
        .model = o->model,
        .period_days = o->period_days,
        .calibration_end_day = o->cal_end,
        .holdout_end_day = o->hold_end,
        .holdout_periods = b->holdout_periods,
        .first_period_day = b->first_period_day,
        .fit = fit,
        .fit_customers = n_fit,
        .spend_fit = o->spend ? gg : NULL,
        .spend_customers = n_gg,
        .figures = fig,
    };
    json_t *doc = report_backtest_json(&r);
    if (doc == NULL ||
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        fprintf(stderr, "ltvd backtest: cannot write the result\n");
        json_decref(doc);
        return 1;
    }
    json_decref(doc);
    putchar('\n');
    return cli_flush_stdout("backtest");
}

/* Fits on b, computes, prints. Returns the exit status. */
static int run(const options *o, const summary_backtest *b)
{
    fit_result fit, gg = {0};
    double n_fit = 0, n_gg = 0;
    backtest_figures fig = {0};
    int refused = fit_all(o, b, &fit, &n_fit, &gg, &n_gg);
    if (refused < 0)
        return 1;
    int status = 1;
    backtest_customer_out *out = NULL;
    if (o->per_customer != NULL && (out = malloc(b->n * sizeof *out)) == NULL) {
        fprintf(stderr, "ltvd backtest: out of memory\n");
        return 1;
    }
    backtest_input in =
        summary_backtest_input(b, o->model, fit.params, o->spend ? gg.params : NULL);
    int rc = backtest_compute(&in, &fig, out);
    if (rc != GSL_SUCCESS) {
        fprintf(stderr,
                "ltvd backtest: the back-test cannot be computed with %s fit: %s\n",
                refused ? "the refused" : "this", gsl_strerror(rc));
        goto cleanup;
    }
    status = print_document(o, b, &fig, &fit, n_fit, &gg, n_gg);
    if (status == 0 && out != NULL)
        status = write_per_customer(o, b, out);
    if (status == 0 && refused)
        status = 1;
cleanup:
    free(out);
    backtest_figures_free(&fig);
    return status;
}

int cli_backtest_main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    txn_set t = {0};
    summary_backtest b = {0};
    char err[SUMMARY_ERR_MAX];
    if (txn_read_csv(o.transactions, &t, err) != 0) {
        fprintf(stderr, "ltvd backtest: %s\n", err);
        txn_set_free(&t);
        return 1;
    }
    if (!o.has_hold)
        o.hold_end = t.last_day;
    summary_backtest_status st =
        summary_backtest_data(&t, o.cal_end, o.hold_end, o.period_days, &b);
    int status = split_error(st, &t);
    if (status == 0 && holdout_empty(&b)) {
        fprintf(stderr, "ltvd backtest: the holdout is empty: no customer of the "
                        "calibration bought after --calibration-end\n");
        status = 2;
    }
    if (status == 0)
        status = run(&o, &b);
    summary_backtest_free(&b);
    txn_set_free(&t);
    return status;
}

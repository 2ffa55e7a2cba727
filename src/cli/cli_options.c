/* Parsing and validation of the `ltvd fit` / `ltvd score` options. */
#include "cli/cli_options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary/summary.h"

enum {
    OPT_MODEL = 1000,
    OPT_TRANSACTIONS,
    OPT_SUMMARY,
    OPT_PARAMS,
    OPT_SPEND_MODEL,
    OPT_SPEND_PARAMS,
    OPT_PERIOD,
    OPT_AS_OF,
    OPT_PENALIZER,
    OPT_HORIZON,
    OPT_DISCOUNT,
    OPT_MARGIN,
    OPT_CLV_MONTHS,
    OPT_COVARIATES,
    OPT_COVARIATE_COLUMNS,
    OPT_MIN_CUSTOMERS,
    OPT_INTERVALS,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"transactions", required_argument, NULL, OPT_TRANSACTIONS},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"params", required_argument, NULL, OPT_PARAMS},
    {"spend-model", required_argument, NULL, OPT_SPEND_MODEL},
    {"spend-params", required_argument, NULL, OPT_SPEND_PARAMS},
    {"period", required_argument, NULL, OPT_PERIOD},
    {"as-of", required_argument, NULL, OPT_AS_OF},
    {"penalizer", required_argument, NULL, OPT_PENALIZER},
    {"horizon", required_argument, NULL, OPT_HORIZON},
    {"discount-rate", required_argument, NULL, OPT_DISCOUNT},
    {"margin", required_argument, NULL, OPT_MARGIN},
    {"clv-months", required_argument, NULL, OPT_CLV_MONTHS},
    {"covariates", required_argument, NULL, OPT_COVARIATES},
    {"covariate-columns", required_argument, NULL, OPT_COVARIATE_COLUMNS},
    {"min-customers", required_argument, NULL, OPT_MIN_CUSTOMERS},
    {"intervals", no_argument, NULL, OPT_INTERVALS},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char fit_usage[] =
    "usage: ltvd fit --model MODEL [OPTIONS] (--transactions FILE | --summary FILE)\n"
    "Fits MODEL by maximum likelihood and prints the fit as one JSON object: model,\n"
    "period, params, std_errors (null when the Hessian is not negative definite),\n"
    "log_likelihood (the total), n_customers, n_patterns, converged, iterations,\n"
    "seconds. Parameters of the time models are in --period units.\n"
    "  --model MODEL         bgnbd, pareto, mbgnbd, bgbb (discrete opportunities)\n"
    "                        or gg (Gamma-Gamma spend per purchase)\n"
    "  --transactions FILE   CSV with customer_id, occurred_at, amount (any order)\n"
    "  --summary FILE        CSV of per-customer summaries as lifetimes writes them\n"
    "  --period day|week     the time unit of every duration (default day)\n"
    "  --as-of YYYY-MM-DD    summarise transactions up to this day (default: the last)\n"
    "  --penalizer C         L2 penalty, lifetimes' convention (default 0)\n"
    "  --covariates FILE     bgnbd and pareto: time-invariant covariates, a CSV with\n"
    "                        customer_id and one column per covariate (text columns\n"
    "                        become dummies against their largest level, numeric\n"
    "                        ones are used as they are); prints the coefficients,\n"
    "                        the likelihood-ratio test and each level's parameters\n"
    "                        (docs/covariates.md)\n"
    "  --covariate-columns A,B  use only these columns of --covariates FILE\n"
    "  --min-customers N     a level with fewer customers is pooled into \"other\"\n"
    "                        (default 30)\n"
    "  -h, --help            this text\n"
    "Exit status: 0, 1 for bad data or a failed fit, 2 for a usage error (and for a\n"
    "--covariates FILE that does not match the customers).\n";

static const char score_usage[] =
    "usage: ltvd score --model MODEL [--params FILE] [--spend-model gg [--spend-params "
    "FILE]]\n"
    "                  --horizon T [OPTIONS] (--transactions FILE | --summary FILE)\n"
    "       ltvd score --model gg [--params FILE] (--transactions FILE | --summary "
    "FILE)\n"
    "Prints one CSV row per customer (the model is fitted first unless --params):\n"
    "  frequency           repeat purchases (distinct purchase days - 1)\n"
    "  recency, T          first to last purchase, first purchase to --as-of, in "
    "periods\n"
    "  p_alive             probability the customer is still active at --as-of\n"
    "  expected_purchases  purchases expected in the next T periods (--horizon)\n"
    "  p_purchase          probability of at least one purchase in those T periods\n"
    "  monetary_value      mean value of the repeat purchases, per purchase\n"
    "  expected_spend      expected value of one future purchase (Gamma-Gamma), per "
    "purchase\n"
    "  clv                 discounted value over --clv-months months (a month is 30 "
    "days,\n"
    "                      4.345 weeks, or 1 opportunity for bgbb), times --margin\n"
    "With --model gg alone: customer_id,frequency,monetary_value,expected_spend\n"
    "(no --horizon needed).\n"
    "  --model MODEL           bgnbd, pareto, mbgnbd, bgbb or gg\n"
    "  --horizon T             periods ahead for expected_purchases and p_purchase\n"
    "                          (a whole number of opportunities for bgbb)\n"
    "  --params FILE           a fit printed by ltvd fit (same model and period)\n"
    "  --spend-model gg        add monetary_value, expected_spend and clv\n"
    "  --spend-params FILE     the Gamma-Gamma fit to use (default: fitted here)\n"
    "  --period day|week       the time unit of every duration (default day)\n"
    "  --as-of YYYY-MM-DD      summarise transactions up to this day (default: the "
    "last)\n"
    "  --discount-rate D       CLV discount rate per month (default 0.01)\n"
    "  --margin M              share of spend that is profit (default 1)\n"
    "  --clv-months N          CLV horizon in months (default 12)\n"
    "  --penalizer C           L2 penalty of the fits done here (default 0)\n"
    "  --intervals             add the 90% intervals p_alive_lo, p_alive_hi,\n"
    "                          expected_lo, expected_hi (and clv_lo, clv_hi with a\n"
    "                          spend model) from the fits' covariance (fitted here:\n"
    "                          not with --params or --spend-params)\n"
    "  -h, --help              this text\n"
    "Exit status: 0, 1 for bad data or a failed fit, 2 for a usage error.\n";

static const int score_only[] = {OPT_PARAMS, OPT_SPEND_MODEL, OPT_SPEND_PARAMS,
                                 OPT_HORIZON, OPT_INTERVALS};
static const int fit_only[] = {OPT_COVARIATES, OPT_COVARIATE_COLUMNS, OPT_MIN_CUSTOMERS};

static int fail(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "ltvd %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return -1;
}

/* A finite number with nothing after it, at least `min` (and, when
 * min_open, strictly greater). */
static int parse_number(const char *s, double min, bool min_open, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    if (v < min || (min_open && v == min))
        return -1;
    *out = v;
    return 0;
}

static bool is_score_only(int opt)
{
    for (size_t i = 0; i < sizeof score_only / sizeof score_only[0]; i++)
        if (score_only[i] == opt)
            return true;
    return false;
}

static bool is_fit_only(int opt)
{
    for (size_t i = 0; i < sizeof fit_only / sizeof fit_only[0]; i++)
        if (fit_only[i] == opt)
            return true;
    return false;
}

static int set_option(const char *cmd, int opt, const char *arg, cli_options *o)
{
    double v;
    switch (opt) {
    case OPT_COVARIATES:
        o->covariates = arg;
        return 0;
    case OPT_COVARIATE_COLUMNS:
        o->covariate_columns = arg;
        return 0;
    case OPT_MIN_CUSTOMERS:
        if (parse_number(arg, 1, false, &o->min_customers) != 0)
            return fail(cmd, "--min-customers must be a number >= 1, not '%s'", arg);
        return 0;
    case OPT_INTERVALS:
        o->intervals = true;
        return 0;
    case OPT_MODEL:
        o->model = arg;
        return 0;
    case OPT_TRANSACTIONS:
        o->transactions = arg;
        return 0;
    case OPT_SUMMARY:
        o->summary = arg;
        return 0;
    case OPT_PARAMS:
        o->params = arg;
        return 0;
    case OPT_SPEND_PARAMS:
        o->spend_params = arg;
        return 0;
    case OPT_SPEND_MODEL:
        if (strcmp(arg, "gg") != 0)
            return fail(cmd, "--spend-model must be gg, not '%s'", arg);
        o->spend_model = arg;
        return 0;
    case OPT_PERIOD:
        if (strcmp(arg, "day") == 0)
            o->period_days = 1;
        else if (strcmp(arg, "week") == 0)
            o->period_days = 7;
        else
            return fail(cmd, "--period must be day or week, not '%s'", arg);
        o->period = arg;
        return 0;
    case OPT_AS_OF:
        if (summary_parse_day(arg, &o->as_of_day) != 0)
            return fail(cmd, "--as-of must be a date YYYY-MM-DD, not '%s'", arg);
        o->has_as_of = true;
        return 0;
    case OPT_PENALIZER:
        if (parse_number(arg, 0, false, &o->penalizer) != 0)
            return fail(cmd, "--penalizer must be a number >= 0, not '%s'", arg);
        return 0;
    case OPT_HORIZON:
        if (parse_number(arg, 0, false, &o->horizon) != 0)
            return fail(cmd, "--horizon must be a number of periods >= 0, not '%s'", arg);
        return 0;
    case OPT_DISCOUNT:
        if (parse_number(arg, -1, true, &o->discount_rate) != 0)
            return fail(cmd, "--discount-rate must be a number > -1, not '%s'", arg);
        return 0;
    case OPT_MARGIN:
        if (parse_number(arg, 0, false, &o->margin) != 0)
            return fail(cmd, "--margin must be a number >= 0, not '%s'", arg);
        return 0;
    case OPT_CLV_MONTHS:
        if (parse_number(arg, 1, false, &v) != 0 || v != floor(v) || v > 1200)
            return fail(cmd, "--clv-months must be a whole number 1..1200, not '%s'",
                        arg);
        o->clv_months = (unsigned)v;
        return 0;
    }
    return -1;
}

static int check_combination(const char *cmd, bool score, cli_options *o)
{
    if (o->model == NULL)
        return fail(cmd, "%s", "--model is required (bgnbd, pareto, mbgnbd, bgbb or gg)");
    if ((o->transactions == NULL) == (o->summary == NULL))
        return fail(cmd, "%s",
                    "give exactly one of --transactions FILE or --summary FILE");
    /* Gamma-Gamma alone scores spend per purchase: no time horizon. */
    if (score && o->horizon < 0 && strcmp(o->model, "gg") != 0)
        return fail(cmd, "%s", "--horizon T (in periods) is required");
    if (o->spend_params != NULL && o->spend_model == NULL && strcmp(o->model, "gg") != 0)
        return fail(cmd, "%s", "--spend-params needs --spend-model gg");
    if (o->covariates == NULL && (o->covariate_columns != NULL || o->min_customers > 0))
        return fail(cmd, "%s",
                    "--covariate-columns and --min-customers need --covariates");
    if (o->intervals &&
        (strcmp(o->model, "gg") == 0 || o->params != NULL || o->spend_params != NULL))
        return fail(cmd, "%s",
                    "--intervals needs a purchase model fitted here (the fit's "
                    "covariance): not with --model gg, --params or --spend-params");
    if (o->covariates != NULL && o->penalizer > 0)
        return fail(cmd, "%s", "--penalizer is not available with --covariates");
    return 0;
}

int cli_options_parse(int argc, char **argv, bool score, cli_options *o)
{
    const char *cmd = argv[0];
    *o = (cli_options){.period = "day",
                       .period_days = 1,
                       .horizon = -1,
                       .discount_rate = 0.01,
                       .margin = 1,
                       .clv_months = 12};
    optind = 1;
    opterr = 0;
    for (;;) {
        int idx = -1;
        int opt = getopt_long(argc, argv, "h", long_options, &idx);
        if (opt == -1)
            break;
        if (opt == '?' || opt == ':') {
            char shortopt[3] = {'-', (char)optopt, '\0'};
            const char *bad = optopt > 0 && optopt < 256 ? shortopt : argv[optind - 1];
            return fail(cmd, "unknown option or missing value: '%s'", bad);
        }
        if (opt == 'h' || opt == OPT_HELP) {
            fputs(cli_options_usage(score), stdout);
            return 1;
        }
        if (!score && is_score_only(opt))
            return fail(cmd, "--%s is an option of `ltvd score`", long_options[idx].name);
        if (score && is_fit_only(opt))
            return fail(cmd, "--%s is an option of `ltvd fit`", long_options[idx].name);
        if (set_option(cmd, opt, optarg, o) != 0)
            return -1;
    }
    if (optind < argc)
        return fail(cmd, "unexpected argument '%s'", argv[optind]);
    return check_combination(cmd, score, o);
}

const char *cli_options_usage(bool score)
{
    return score ? score_usage : fit_usage;
}

bool cli_options_help_requested(int argc, char **argv)
{
    bool help = false;
    optind = 1;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1;)
        help = help || opt == 'h' || opt == OPT_HELP;
    optind = 1;
    return help;
}

/* `ltvd acquisition` and `ltvd cohorts`: the acquisition and cohort answers
 * of the service (docs/acquisition.md, "Answers") from a transactions CSV,
 * plus an optional attributes CSV (customer_id,acquisition_channel,campaign)
 * and spend CSV (channel,month,spend,leads), printed as one JSON document.
 * The purchase model and Gamma-Gamma are fitted as `ltvd fit` fits them and
 * must be accepted as the service would (model/accept.h). With two channels
 * or more and BG/NBD or Pareto/NBD, the model is also fitted with channel
 * dummies (model/acq_channels.h) and each channel valued with its own
 * parameters ("channel_model", "channel_params"). Exit status: 0;
 * 1 when a fit cannot be used; 2 for a usage error or a bad input file. */
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/acq_files.h"
#include "cli/cli.h"
#include "cli/cli_data.h"
#include "http/acq_channel_doc.h"
#include "http/acq_doc.h"
#include "model/accept.h"
#include "model/score.h"

typedef struct acq_opts {
    bool cohorts; /* `ltvd cohorts` */
    const char *transactions, *attributes, *spend, *model, *period, *by;
    double period_days, target_ratio, margin, discount_rate;
    unsigned months;
} acq_opts;

static const char acq_usage[] =
    "usage: ltvd acquisition --transactions FILE [--attributes FILE] [--spend FILE]\n"
    "                        [--model M] [--months N] [--target-ratio R] [--margin X]\n"
    "                        [--discount-rate D] [--period day|week]\n"
    "       ltvd cohorts --transactions FILE [--by month] [--model M] [--months N]\n"
    "                    [--margin X] [--discount-rate D] [--period day|week]\n"
    "Prints the acquisition answer (value of a new customer, CAC, LTV/CAC, payback,\n"
    "lead value, overall and per channel) or the cohorts by first-purchase month,\n"
    "as JSON (docs/acquisition.md). The model and Gamma-Gamma are fitted first.\n"
    "  --transactions FILE   CSV with customer_id, occurred_at, amount\n"
    "  --attributes FILE     CSV with customer_id, acquisition_channel (campaign)\n"
    "  --spend FILE          CSV with channel, month (YYYY-MM), spend, leads (optional)\n"
    "  --model M             bgnbd (default), pareto, mbgnbd, bggeo, bgpois\n"
    "  --months N            horizon of the values in months (default 36)\n"
    "  --target-ratio R      the LTV/CAC the business aims at (default 3)\n"
    "  --margin X            share of spend that is profit (default 1)\n"
    "  --discount-rate D     per month (default 0.01)\n"
    "  --period day|week     the models' time unit (default day)\n"
    "Exit status: 0, 1 when a fit cannot be used, 2 for bad usage or input.\n";

static int fail(const acq_opts *o, const char *what, const char *arg)
{
    fprintf(stderr, "ltvd %s: %s, not '%s'\n", o->cohorts ? "cohorts" : "acquisition",
            what, arg);
    return -1;
}

static int number(const char *s, double *out)
{
    return summary_parse_number(s, out);
}

static int set_option(acq_opts *o, int c, const char *arg)
{
    double v;
    switch (c) {
    case 't':
        o->transactions = arg;
        return 0;
    case 'a':
        o->attributes = arg;
        return 0;
    case 's':
        o->spend = arg;
        return 0;
    case 'm':
        o->model = arg;
        return 0;
    case 'b':
        o->by = arg;
        return strcmp(arg, "month") == 0 ? 0 : fail(o, "--by must be month", arg);
    case 'n':
        if (number(arg, &v) != 0 || v < 1 || v > ACQ_MAX_MONTHS || v != floor(v))
            return fail(o, "--months must be a whole number from 1 to 1200", arg);
        o->months = (unsigned)v;
        return 0;
    case 'r':
        if (number(arg, &o->target_ratio) != 0 || !(o->target_ratio > 0))
            return fail(o, "--target-ratio must be a number > 0", arg);
        return 0;
    case 'g':
        if (number(arg, &o->margin) != 0 || o->margin < 0)
            return fail(o, "--margin must be a number >= 0", arg);
        return 0;
    case 'd':
        if (number(arg, &o->discount_rate) != 0 || !(o->discount_rate > -1))
            return fail(o, "--discount-rate must be a number > -1", arg);
        return 0;
    case 'p':
        if (strcmp(arg, "day") != 0 && strcmp(arg, "week") != 0)
            return fail(o, "--period must be day or week", arg);
        o->period = arg;
        o->period_days = strcmp(arg, "day") == 0 ? 1 : 7;
        return 0;
    }
    fprintf(stderr, "%s", acq_usage);
    return -1;
}

/* 0, 1 after --help, -1 after a message. */
static int parse(int argc, char **argv, acq_opts *o)
{
    static const struct option longs[] = {
        {"transactions", required_argument, NULL, 't'},
        {"attributes", required_argument, NULL, 'a'},
        {"spend", required_argument, NULL, 's'},
        {"model", required_argument, NULL, 'm'},
        {"by", required_argument, NULL, 'b'},
        {"months", required_argument, NULL, 'n'},
        {"target-ratio", required_argument, NULL, 'r'},
        {"margin", required_argument, NULL, 'g'},
        {"discount-rate", required_argument, NULL, 'd'},
        {"period", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (acq_opts){.cohorts = strcmp(argv[0], "cohorts") == 0,
                    .model = "bgnbd",
                    .period = "day",
                    .period_days = 1,
                    .target_ratio = 3,
                    .margin = 1,
                    .discount_rate = 0.01,
                    .months = 36};
    optind = 1;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(acq_usage, stdout);
            return 1;
        }
        if (set_option(o, c, optarg) != 0)
            return -1;
    }
    const char *cmd = o->cohorts ? "cohorts" : "acquisition";
    if (optind < argc) {
        fprintf(stderr, "ltvd %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return -1;
    }
    if (o->transactions == NULL) {
        fprintf(stderr, "ltvd %s: --transactions FILE is required\n", cmd);
        return -1;
    }
    if (o->cohorts && (o->attributes || o->spend)) {
        fprintf(stderr,
                "ltvd cohorts: --attributes and --spend are for ltvd acquisition\n");
        return -1;
    }
    const btyd_model *m = btyd_model_find(o->model);
    if (m == NULL || m->discrete || m->expected_new == NULL)
        return fail(o, "--model must be bgnbd, pareto, mbgnbd, bggeo or bgpois",
                    o->model);
    return 0;
}

typedef struct run {
    acq_opts o;
    const char *cmd;
    cli_data d;
    acq_model a;
    cohort_customer *c;
    acq_names names;
    cohort_spend *sp;
    size_t n_sp;
} run;

/* Fits the purchase model and Gamma-Gamma; 0, or -1 after a message. */
static int fit_models(run *r)
{
    fit_result fr, gr;
    double n_customers;
    size_t n_patterns;
    char why[256];
    if (cli_fit_model(r->cmd, r->a.m, &r->d, 0, &fr, &n_customers, &n_patterns) != 0 ||
        cli_fit_model(r->cmd, NULL, &r->d, 0, &gr, &n_customers, &n_patterns) != 0)
        return -1;
    accept_code c = accept_btyd(r->a.m, &fr, why, sizeof why);
    if (c == ACCEPT_OK)
        c = accept_gg(&gr, why, sizeof why);
    if (c != ACCEPT_OK) {
        fprintf(stderr, "ltvd %s: a fit cannot be used (%s): %s\n", r->cmd,
                accept_code_label(c), why);
        return -1;
    }
    memcpy(r->a.params, fr.params, sizeof r->a.params);
    memcpy(r->a.gg, gr.params, sizeof r->a.gg);
    for (size_t i = 0; i < BTYD_MAX_PARAMS; i++)
        r->a.se[i] = fr.std_errors_ok ? fr.std_errors[i] : 0;
    for (size_t i = 0; i < 3; i++)
        r->a.gg_se[i] = gr.std_errors_ok ? gr.std_errors[i] : 0;
    return 0;
}

/* Every customer's predicted LTV over the horizon (as ltvd score's clv). */
static int predict(run *r)
{
    const summary_set *sum = &r->d.sum;
    score_input *in = malloc((sum->n ? sum->n : 1) * sizeof *in);
    score_output *out = malloc((sum->n ? sum->n : 1) * sizeof *out);
    int status = -1;
    if (in == NULL || out == NULL)
        goto cleanup;
    for (size_t i = 0; i < sum->n; i++) {
        const cust_summary *s = &sum->rows[i];
        in[i] = (score_input){s->frequency, s->recency, s->T, s->monetary_value};
    }
    score_spec spec = {r->a.m, r->a.params, r->a.gg, r->a.clv.month_periods, r->a.clv};
    size_t bad = 0;
    if (score_batch(&spec, in, sum->n, out, &bad) == GSL_SUCCESS) {
        for (size_t i = 0; i < sum->n; i++)
            r->c[i].predicted_ltv = out[i].clv;
        status = 0;
    } else { /* a customer that cannot be scored: no prediction, said by null */
        fprintf(stderr, "ltvd %s: customer %zu cannot be scored: no predicted values\n",
                r->cmd, bad + 1);
        status = 0;
    }
cleanup:
    free(in);
    free(out);
    return status;
}

/* Loads the transactions and the optional files; 0, or -1 after a message. */
static int load(run *r)
{
    cli_options co = {.model = r->o.model,
                      .transactions = r->o.transactions,
                      .period = r->o.period,
                      .period_days = r->o.period_days};
    if (cli_data_load(r->cmd, &co, false, &r->d) != 0)
        return -1;
    r->c = acq_customers_from_txns(&r->d.txns, &r->d.sum);
    if (r->c == NULL) {
        fprintf(stderr, "ltvd %s: out of memory\n", r->cmd);
        return -1;
    }
    char err[SUMMARY_ERR_MAX];
    if ((r->o.attributes != NULL &&
         acq_read_attributes(r->o.attributes, &r->d.txns, r->c, &r->names, err) != 0) ||
        (r->o.spend != NULL &&
         acq_read_spend(r->o.spend, &r->names, &r->sp, &r->n_sp, err) != 0)) {
        fprintf(stderr, "ltvd %s: %s\n", r->cmd, err);
        return -1;
    }
    return 0;
}

/* The per-channel model of r's customers: fills *cm ("channel_model"),
 * params[k] and values[k] for each channel (values[k] NULL: the pooled
 * value). f is the caller's (acq_channels_free it). */
static void channel_model(run *r, acq_channel_fit *f, json_t **cm, json_t **params,
                          const acq_value **values, acq_value *own)
{
    const summary_set *sum = &r->d.sum;
    size_t n = sum->n, nc = r->names.n;
    btyd_pattern *pat = malloc((n ? n : 1) * sizeof *pat);
    uint32_t *ch = malloc((n ? n : 1) * sizeof *ch);
    const char *why = "out of memory";
    int rc = GSL_ENOMEM;
    if (pat != NULL && ch != NULL) {
        for (size_t i = 0; i < n; i++) {
            const cust_summary *c = &sum->rows[i];
            pat[i] = (btyd_pattern){c->frequency, c->recency, c->T, c->weight};
            ch[i] = r->c[i].channel < nc ? r->c[i].channel : ACQ_CHANNEL_NONE;
        }
        rc = acq_channels_fit(r->a.m, pat, ch, n, nc, COV_MIN_CUSTOMERS_DEFAULT, f, &why);
    }
    free(pat);
    free(ch);
    if (rc != GSL_SUCCESS) {
        *cm = acq_channel_doc_status(rc == GSL_EINVAL ? "not_applicable" : "failed", why);
        fprintf(stderr,
                "ltvd acquisition: every channel valued with the pooled model: %s\n",
                why);
        return;
    }
    *cm = acq_channel_doc_model(f, (const char *const *)r->names.v);
    acq_channels_values(f, &r->a, own, values);
    for (size_t k = 0; k < nc; k++) {
        params[k] =
            acq_channel_doc_params(f, k, values[k] != NULL,
                                   f->source[k] == ACQ_SRC_POOLED
                                       ? "no customer of the channel in the fit"
                                       : "its parameters cannot value a new customer");
    }
}

/* "channel_model" when no covariate fit is made. */
static json_t *no_channel_model(const run *r)
{
    if (!cov_model_supported(r->a.m))
        return acq_channel_doc_status(
            "not_applicable", "per-channel parameters need bgnbd or pareto (covariates)");
    return acq_channel_doc_status(
        "not_applicable", "fewer than two channels: one model for every customer");
}

static json_t *answer(run *r)
{
    json_t *prov = acq_doc_provenance(&r->a, -1, NAN, true), *doc = NULL;
    int64_t as_of = r->d.txns.last_day;
    if (r->o.cohorts) {
        cohort_set s;
        if (predict(r) == 0 &&
            cohort_build(r->c, r->d.sum.n, cohort_month_of_day(as_of), &s) == 0) {
            doc = acq_doc_cohorts(&s, prov, as_of);
            cohort_set_free(&s);
        }
    } else {
        cohort_channels cc;
        const char *why = "out of memory";
        acq_value *v = malloc(sizeof *v);
        size_t nc = r->names.n;
        acq_channel_fit f = {0};
        json_t *cm = NULL, **params = calloc(nc + 1, sizeof *params);
        const acq_value **values = calloc(nc + 1, sizeof *values);
        acq_value *own = malloc(ACQ_CHANNELS_DISTINCT * sizeof *own);
        if (nc >= 2 && cov_model_supported(r->a.m) && params != NULL && values != NULL &&
            own != NULL)
            channel_model(r, &f, &cm, params, values, own);
        else
            cm = no_channel_model(r);
        if (v != NULL && acq_value_compute(&r->a, v) != GSL_SUCCESS)
            why = "the model cannot value a new customer (its expectation overflows)";
        else if (v != NULL && cohort_channels_build(r->c, r->d.sum.n, r->names.n, r->sp,
                                                    r->n_sp, &cc) == 0) {
            acq_doc_in in = {.model = &r->a,
                             .value = v,
                             .provenance = prov,
                             .names = (const char *const *)r->names.v,
                             .cc = &cc,
                             .target_ratio = r->o.target_ratio,
                             .as_of_day = as_of,
                             .channel_values = values,
                             .channel_model = cm,
                             .channel_params = params,
                             .params_why =
                                 json_string_value(json_object_get(cm, "reason"))};
            doc = acq_doc_acquisition(&in, &why);
            cohort_channels_free(&cc);
        }
        free(v);
        for (size_t k = 0; params != NULL && k < nc; k++)
            json_decref(params[k]);
        free(params);
        free(values);
        free(own);
        json_decref(cm);
        acq_channels_free(&f);
        if (doc == NULL)
            fprintf(stderr, "ltvd acquisition: %s\n", why);
    }
    json_decref(prov);
    return doc;
}

int cli_acquisition_main(int argc, char **argv)
{
    run r = {.cmd = strcmp(argv[0], "cohorts") == 0 ? "cohorts" : "acquisition"};
    int parsed = parse(argc, argv, &r.o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    r.a.m = btyd_model_find(r.o.model);
    r.a.clv = (clv_options){r.o.months, r.o.discount_rate, r.o.margin,
                            clv_month_periods(r.a.m, r.o.period_days)};
    int status = 2;
    if (!clv_options_valid(&r.a.clv)) {
        fprintf(stderr,
                "ltvd %s: --discount-rate %g over --months %u cannot be represented\n",
                r.cmd, r.o.discount_rate, r.o.months);
        goto cleanup;
    }
    if (load(&r) != 0)
        goto cleanup;
    status = 1;
    if (fit_models(&r) != 0)
        goto cleanup;
    json_t *doc = answer(&r);
    if (doc == NULL ||
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        json_decref(doc);
        goto cleanup;
    }
    json_decref(doc);
    putchar('\n');
    status = cli_flush_stdout(r.cmd);
cleanup:
    cli_data_free(&r.d);
    free(r.c);
    free(r.sp);
    acq_names_free(&r.names);
    return status;
}

/* `ltvd retention`: fits a contractual retention model (sBG or BdW,
 * model/retention.h) on survivor counts given on the command line
 * (--survivors) or in a file of cohorts (--cohorts), and prints the fit and
 * what it projects as one JSON object: the survivor curve, P(renew), DERL by
 * renewals made, the value of a new subscriber, and the naive constant-churn
 * figure beside it. Exit 0; 1 for bad data in --cohorts, or a fit that failed,
 * did not converge or is not identified (printed with "problem" saying why,
 * the reason on stderr too); 2 for a usage error. */
#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_data.h"
#include "cli/retention_input.h"
#include "model/retention.h"

#define MAX_HORIZON 1000
#define DEFAULT_EXTRA_PERIODS 5
#define DEFAULT_DISCOUNT 0.1

static const char retention_usage[] =
    "usage: ltvd retention --model sbg|bdw (--survivors N0,N1,... | --cohorts FILE)\n"
    "                      [--horizon H] [--discount-rate D]\n"
    "Fits a subscription retention model by maximum likelihood on survivor counts\n"
    "and prints one JSON object: model, params (alpha, beta; c for bdw), std_errors\n"
    "(null when the Hessian is not negative definite), log_likelihood, n_cohorts,\n"
    "n_subscribers, converged, problem (null, or why the fit cannot be used),\n"
    "iterations, horizon, discount_rate, survivor_share\n"
    "(projected S(t), t = 0..H), survivors (counts, one cohort only), p_renew and\n"
    "derl indexed by renewals made (0..H), new_subscriber_value (1 + derl[0]:\n"
    "payments, the first at the start) and naive (the constant-churn figure).\n"
    "  --model sbg|bdw       shifted-beta-geometric (Fader & Hardie 2007) or\n"
    "                        beta-discrete-Weibull (Fader, Hardie et al. 2018)\n"
    "  --survivors LIST      one cohort: its size, then how many are still\n"
    "                        subscribed after each period (non-increasing)\n"
    "  --cohorts FILE        several cohorts, one per line as in --survivors\n"
    "                        (lines may differ in length; '#' lines and blank\n"
    "                        lines are skipped)\n"
    "  --horizon H           periods to project, 0..1000 (default: the longest\n"
    "                        cohort's periods + 5)\n"
    "  --discount-rate D     per period, >= 0 (default 0.1, e.g. 10% a year;\n"
    "                        0 only for an sBG with alpha > 1)\n"
    "  -h, --help            this text\n"
    "Exit status: 0, 1 for bad data or a failed fit, 2 for a usage error.\n";

enum {
    OPT_MODEL = 1000,
    OPT_SURVIVORS,
    OPT_COHORTS,
    OPT_HORIZON,
    OPT_DISCOUNT,
    OPT_HELP
};

static const struct option long_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"survivors", required_argument, NULL, OPT_SURVIVORS},
    {"cohorts", required_argument, NULL, OPT_COHORTS},
    {"horizon", required_argument, NULL, OPT_HORIZON},
    {"discount-rate", required_argument, NULL, OPT_DISCOUNT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct options {
    retention_kind kind;
    const char *model, *survivors, *cohorts;
    long horizon; /* -1: the default */
    double discount;
} options;

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error("retention", fmt, arg);
}

static int parse_option(int opt, const char *arg, options *o)
{
    char *end;
    errno = 0;
    switch (opt) {
    case OPT_MODEL:
        if (!retention_kind_parse(arg, &o->kind))
            return usage_error("--model must be sbg or bdw, not '%s'", arg);
        o->model = arg;
        return 0;
    case OPT_SURVIVORS:
        o->survivors = arg;
        return 0;
    case OPT_COHORTS:
        o->cohorts = arg;
        return 0;
    case OPT_HORIZON:
        o->horizon = strtol(arg, &end, 10);
        if (end == arg || *end != '\0' || errno == ERANGE || o->horizon < 0 ||
            o->horizon > MAX_HORIZON)
            return usage_error("--horizon must be a whole number 0..1000, not '%s'", arg);
        return 0;
    case OPT_DISCOUNT:
        o->discount = strtod(arg, &end);
        if (end == arg || *end != '\0' || errno == ERANGE || !isfinite(o->discount) ||
            o->discount < 0)
            return usage_error("--discount-rate must be a number >= 0, not '%s'", arg);
        return 0;
    }
    return usage_error("unknown option or missing value: '%s'", arg);
}

/* -h or --help anywhere wins over whatever else is wrong. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

/* Returns 0, 1 after printing the usage (help), or 2 after a usage error. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.horizon = -1, .discount = DEFAULT_DISCOUNT};
    if (wants_help(argc, argv)) {
        fputs(retention_usage, stdout);
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
        return usage_error("%s", "--model is required (sbg or bdw)");
    if ((o->survivors == NULL) == (o->cohorts == NULL))
        return usage_error("%s",
                           "give exactly one of --survivors LIST or --cohorts FILE");
    if (o->discount == 0 && o->kind == RETENTION_BDW)
        return usage_error("%s", "--discount-rate 0 is for the sbg only: the bdw's "
                                 "undiscounted DERL is not computed");
    return 0;
}

/* ---- the document ---- */

static const char *const param_names[] = {"alpha", "beta", "c"};

static json_t *params_json(const retention_fit_result *r, bool errors)
{
    size_t n = r->params.kind == RETENTION_BDW ? 3 : 2;
    json_t *obj = json_object();
    for (size_t i = 0; i < n && obj != NULL; i++)
        json_object_set_new(obj, param_names[i],
                            json_real(errors ? r->fit.std_errors[i] : r->fit.params[i]));
    return obj;
}

/* An array of f(k) for k = 0..h; NULL (after a line on stderr) when one
 * cannot be computed. */
typedef int (*series_fn)(const retention_params *p, unsigned k, double arg, double *out);

static int survival_at(const retention_params *p, unsigned k, double arg, double *out)
{
    (void)arg;
    return retention_survival(p, k, out);
}

static int p_renew_at(const retention_params *p, unsigned k, double arg, double *out)
{
    (void)arg;
    return retention_p_renew(p, k, out);
}

static json_t *series(const char *what, series_fn f, const retention_params *p,
                      unsigned h, double arg, double scale)
{
    json_t *a = json_array();
    for (unsigned k = 0; k <= h && a != NULL; k++) {
        double v;
        int rc = f(p, k, arg, &v);
        if (rc != GSL_SUCCESS) {
            fprintf(stderr, "ltvd retention: %s at %u cannot be computed: %s\n", what, k,
                    gsl_strerror(rc));
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, json_real(v * scale));
    }
    return a;
}

/* The naive view: one constant churn rate for everyone, the pooled share
 * of those at risk who left (the geometric model's estimate); its value of a
 * new subscriber with the same conventions ((1 + d) / (d + churn) payments),
 * its DERL, the same whatever the renewals made ((1 - churn)(1 + d) / (d +
 * churn)), and ARPA / churn (1 / churn payments, undiscounted). */
static json_t *naive_json(const retention_cohort *c, size_t n, double d)
{
    double left = 0, at_risk = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 1; t < c[i].n; t++) {
            left += c[i].survivors[t - 1] - c[i].survivors[t];
            at_risk += c[i].survivors[t - 1];
        }
    double churn = at_risk > 0 ? left / at_risk : 0;
    json_t *o = json_object();
    json_object_set_new(o, "churn", json_real(churn));
    json_object_set_new(o, "value",
                        d + churn > 0 ? json_real((1 + d) / (d + churn)) : json_null());
    json_object_set_new(o, "derl",
                        d + churn > 0 ? json_real((1 - churn) * (1 + d) / (d + churn))
                                      : json_null());
    json_object_set_new(o, "arpa_over_churn",
                        churn > 0 ? json_real(1 / churn) : json_null());
    return o;
}

static json_t *projection(json_t *out, const retention_fit_result *r,
                          const retention_input *in, unsigned h, double d)
{
    const retention_params *p = &r->params;
    json_t *share = series("the survivor share", survival_at, p, h, 0, 1);
    json_t *counts = NULL;
    if (share != NULL && in->n_cohorts == 1)
        counts =
            series("the survivors", survival_at, p, h, 0, in->cohorts[0].survivors[0]);
    json_t *renew = series("p_renew", p_renew_at, p, h, 0, 1);
    json_t *derl = series("DERL", retention_derl, p, h, d, 1);
    double value;
    int rc = retention_new_subscriber_value(p, 1, d, &value);
    if (share == NULL || (in->n_cohorts == 1 && counts == NULL) || renew == NULL ||
        derl == NULL || rc != GSL_SUCCESS) {
        json_decref(share);
        json_decref(counts);
        json_decref(renew);
        json_decref(derl);
        json_decref(out);
        return NULL;
    }
    json_object_set_new(out, "survivor_share", share);
    json_object_set_new(out, "survivors", counts != NULL ? counts : json_null());
    json_object_set_new(out, "p_renew", renew);
    json_object_set_new(out, "derl", derl);
    json_object_set_new(out, "new_subscriber_value", json_real(value));
    json_object_set_new(out, "naive", naive_json(in->cohorts, in->n_cohorts, d));
    return out;
}

/* Why the fit cannot be used, or NULL: not converged, or parameters the
 * counts do not determine (the Hessian is not negative definite, e.g. one
 * period only, or nobody or everybody leaving). */
static const char *problem(const retention_fit_result *r)
{
    if (!r->fit.converged)
        return "the fit did not converge";
    if (!r->fit.std_errors_ok)
        return "the counts do not determine the parameters (the Hessian is not negative "
               "definite): more periods are needed, with some but not all subscribers "
               "leaving";
    return NULL;
}

static json_t *build(const options *o, const retention_fit_result *r,
                     const retention_input *in, unsigned h)
{
    json_t *out = json_object();
    if (out == NULL)
        return NULL;
    json_object_set_new(out, "model", json_string(retention_kind_name(o->kind)));
    json_object_set_new(out, "params", params_json(r, false));
    json_object_set_new(out, "std_errors",
                        r->fit.std_errors_ok ? params_json(r, true) : json_null());
    json_object_set_new(out, "log_likelihood", json_real(r->fit.log_likelihood));
    json_object_set_new(out, "n_cohorts", json_integer((json_int_t)in->n_cohorts));
    json_object_set_new(out, "n_subscribers", json_real(in->weight));
    json_object_set_new(out, "converged", json_boolean(r->fit.converged));
    const char *why = problem(r);
    json_object_set_new(out, "problem", why != NULL ? json_string(why) : json_null());
    json_object_set_new(out, "iterations", json_integer((json_int_t)r->fit.iterations));
    json_object_set_new(out, "horizon", json_integer(h));
    json_object_set_new(out, "discount_rate", json_real(o->discount));
    return projection(out, r, in, h, o->discount);
}

static int load(const options *o, retention_input *in)
{
    char err[RETENTION_INPUT_ERR_MAX];
    if (o->survivors != NULL) {
        if (retention_input_list(o->survivors, in, err) != 0)
            return usage_error("--survivors: %s", err);
        return 0;
    }
    if (retention_input_file(o->cohorts, in, err) != 0) {
        fprintf(stderr, "ltvd retention: %s\n", err);
        return 1;
    }
    return 0;
}

static int fit_and_print(const options *o, const retention_input *in)
{
    /* m periods give m free cells of a multinomial: fewer cannot determine
     * the model's parameters (one period fixes only alpha / (alpha + beta)). */
    size_t n_params = o->kind == RETENTION_BDW ? 3 : 2;
    if (in->max_periods < n_params) {
        fprintf(
            stderr,
            "ltvd retention: the %s has %zu parameters: it needs a cohort observed for "
            "at least %zu periods after its start (the longest has %zu)\n",
            o->model, n_params, n_params, in->max_periods);
        return 1;
    }
    retention_fit_result r;
    int rc = retention_fit(o->kind, in->cohorts, in->n_cohorts, &r);
    if (rc != GSL_SUCCESS) {
        fprintf(stderr, "ltvd retention: the %s fit failed: %s\n", o->model,
                gsl_strerror(rc));
        return 1;
    }
    unsigned h = o->horizon >= 0 ? (unsigned)o->horizon
                                 : (unsigned)(in->max_periods + DEFAULT_EXTRA_PERIODS);
    if (h > MAX_HORIZON)
        h = MAX_HORIZON;
    if (o->discount == 0 && !(r.params.alpha > 1)) {
        fprintf(stderr,
                "ltvd retention: the fitted alpha = %.4g is <= 1: without discounting a "
                "subscriber's expected lifetime is infinite; give --discount-rate > 0\n",
                r.params.alpha);
        return 1;
    }
    json_t *doc = build(o, &r, in, h);
    if (doc == NULL)
        return 1;
    int fail = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0;
    json_decref(doc);
    if (fail) {
        fprintf(stderr, "ltvd retention: cannot write the result\n");
        return 1;
    }
    putchar('\n');
    int status = cli_flush_stdout("retention");
    const char *why = problem(&r);
    if (status == 0 && why != NULL) {
        fprintf(stderr, "ltvd retention: the %s fit cannot be used: %s\n", o->model, why);
        status = 1;
    }
    return status;
}

int cli_retention_main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    retention_input in;
    rc = load(&o, &in);
    if (rc != 0)
        return rc;
    rc = fit_and_print(&o, &in);
    retention_input_free(&in);
    return rc;
}

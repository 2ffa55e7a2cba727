/* `ltvd score`: per-customer P(alive), expected purchases, P(purchase) over a
 * horizon and, with a spend model, expected spend and CLV, printed as CSV;
 * with --intervals their 90% intervals from the fits' covariance
 * (model/intervals.h). */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_data.h"
#include "model/accept.h"
#include "model/clv.h"
#include "model/intervals.h"
#include "model/score.h"

typedef struct scorer {
    const cli_options *o;
    const btyd_model *m; /* NULL: score spend only (--model gg) */
    double params[BTYD_MAX_PARAMS];
    int with_spend;
    double spend_params[3];
    clv_options clv;
    /* --intervals: the fits' covariances (NULL when not available) */
    double cov[FIT_MAX_PARAMS * FIT_MAX_PARAMS], spend_cov[9];
    const double *cov_p, *spend_cov_p;
} scorer;

/* Writes a CSV field, quoted when it holds a comma, quote or line break. */
static void put_field(const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* The parameters from path, or fitted on d (their covariance then into
 * cov when not NULL: *cov_p points to it, or is NULL when the fit has none). */
static int get_params(const char *path, const btyd_model *m, const cli_data *d,
                      const cli_options *o, double *params, double *cov,
                      const double **cov_p)
{
    fit_json_model jm = cli_json_model(m);
    if (path != NULL) {
        char err[FIT_JSON_ERR_MAX];
        if (fit_json_read_params(path, &jm, o->period, params, err) == 0)
            return 0;
        fprintf(stderr, "ltvd score: %s\n", err);
        return -1;
    }
    fit_result r;
    double n_customers;
    size_t n_patterns;
    if (cli_fit_model("score", m, d, o->penalizer, &r, &n_customers, &n_patterns) != 0)
        return -1;
    /* the same rule as ltvd fit and the service (model/accept.h): a fit
     * that is not converged or not identified scores nothing */
    char why[200];
    accept_code c =
        m != NULL ? accept_btyd(m, &r, why, sizeof why) : accept_gg(&r, why, sizeof why);
    if (c != ACCEPT_OK) {
        fprintf(stderr, "ltvd score: the %s fit cannot be used (%s): %s\n", jm.name,
                accept_code_label(c), why);
        return -1;
    }
    memcpy(params, r.params, jm.n_params * sizeof params[0]);
    if (cov != NULL && r.covariance_ok) {
        memcpy(cov, r.covariance, jm.n_params * jm.n_params * sizeof cov[0]);
        *cov_p = cov;
    }
    return 0;
}

static void print_header(const scorer *s)
{
    if (s->m == NULL) {
        puts("customer_id,frequency,monetary_value,expected_spend");
        return;
    }
    fputs("customer_id,frequency,recency,T,p_alive,expected_purchases,p_purchase",
          stdout);
    fputs(s->with_spend ? ",monetary_value,expected_spend,clv" : "", stdout);
    if (s->o->intervals)
        fputs(s->with_spend
                  ? ",p_alive_lo,p_alive_hi,expected_lo,expected_hi,clv_lo,clv_hi"
                  : ",p_alive_lo,p_alive_hi,expected_lo,expected_hi",
              stdout);
    putchar('\n');
}

/* ",lo,hi", or two empty fields when the interval is not available. */
static void print_bound(const intervals_bound *b)
{
    if (b->ok)
        printf(",%.17g,%.17g", b->lo, b->hi);
    else
        fputs(",,", stdout);
}

/* The interval columns of one customer (--intervals). */
static void print_intervals(const scorer *s, const cust_summary *c)
{
    intervals_spec spec = {.model = s->m,
                           .params = s->params,
                           .covariance = s->cov_p,
                           .gg_params = s->with_spend ? s->spend_params : NULL,
                           .gg_covariance = s->spend_cov_p,
                           .horizon = s->o->horizon,
                           .clv = s->with_spend ? &s->clv : NULL,
                           .level = INTERVALS_LEVEL};
    intervals_result r;
    if (intervals_compute(&spec, c->frequency, c->recency, c->T, c->monetary_value, &r) !=
        GSL_SUCCESS)
        memset(&r, 0, sizeof r);
    print_bound(&r.p_alive);
    print_bound(&r.expected);
    if (s->with_spend)
        print_bound(&r.ltv);
}

static void print_failure(const cust_summary *c, int rc)
{
    char id[128];
    cli_printable(c->id, id, sizeof id);
    fprintf(stderr, "ltvd score: customer '%s' (frequency %g, recency %g, T %g): %s\n",
            id, c->frequency, c->recency, c->T,
            rc == GSL_EDOM     ? "outside the model's domain"
            : rc == GSL_ERANGE ? "a value overflows (check --margin and the spend values)"
                               : gsl_strerror(rc));
}

/* --model gg alone: expected spend per customer (checked before the header
 * is printed, so a failure leaves stdout empty). */
static int print_spend_rows(const scorer *s, const summary_set *sum)
{
    double e;
    for (size_t i = 0; i < sum->n; i++) {
        const cust_summary *c = &sum->rows[i];
        int rc = gg_expected_spend(s->spend_params, c->frequency, c->monetary_value, &e);
        if (rc != GSL_SUCCESS) {
            print_failure(c, rc);
            return -1;
        }
    }
    print_header(s);
    for (size_t i = 0; i < sum->n; i++) {
        const cust_summary *c = &sum->rows[i];
        gg_expected_spend(s->spend_params, c->frequency, c->monetary_value, &e);
        put_field(c->id);
        printf(",%.17g,%.17g,%.17g\n", c->frequency, c->monetary_value, e);
    }
    return 0;
}

static void print_row(const scorer *s, const cust_summary *c, const score_output *v)
{
    put_field(c->id);
    printf(",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", c->frequency, c->recency, c->T,
           v->p_alive, v->expected, v->p_purchase);
    if (s->with_spend)
        printf(",%.17g,%.17g,%.17g", c->monetary_value, v->expected_spend, v->clv);
    if (s->o->intervals)
        print_intervals(s, c);
    putchar('\n');
}

static int print_rows(const scorer *s, const summary_set *sum)
{
    if (s->m == NULL)
        return print_spend_rows(s, sum);
    int status = -1;
    score_input *in = malloc((sum->n ? sum->n : 1) * sizeof *in);
    score_output *out = malloc((sum->n ? sum->n : 1) * sizeof *out);
    if (in == NULL || out == NULL) {
        fputs("ltvd score: out of memory\n", stderr);
        goto cleanup;
    }
    for (size_t i = 0; i < sum->n; i++) {
        const cust_summary *c = &sum->rows[i];
        in[i] = (score_input){c->frequency, c->recency, c->T, c->monetary_value};
    }
    score_spec spec = {s->m, s->params, s->with_spend ? s->spend_params : NULL,
                       s->o->horizon, s->clv};
    size_t bad = 0;
    int rc = score_batch(&spec, in, sum->n, out, &bad);
    if (rc != GSL_SUCCESS) {
        if (rc == GSL_ENOMEM)
            fputs("ltvd score: out of memory\n", stderr);
        else
            print_failure(&sum->rows[bad], rc);
        goto cleanup;
    }
    print_header(s);
    for (size_t i = 0; i < sum->n; i++)
        print_row(s, &sum->rows[i], &out[i]);
    status = 0;
cleanup:
    free(in);
    free(out);
    return status;
}

static int resolve_models(const cli_options *o, scorer *s)
{
    if (strcmp(o->model, "gg") == 0) {
        if (o->spend_model != NULL || o->spend_params != NULL) {
            fputs("ltvd score: with --model gg, give its parameters with --params (no "
                  "--spend-model or --spend-params)\n",
                  stderr);
            return -1;
        }
        s->m = NULL;
        s->with_spend = 1;
        return 0;
    }
    s->m = btyd_model_find(o->model);
    if (s->m == NULL) {
        fprintf(stderr,
                "ltvd score: unknown --model '%s' (bgnbd, pareto, mbgnbd, bgbb, gg)\n",
                o->model);
        return -1;
    }
    s->with_spend = o->spend_model != NULL;
    if (s->m->discrete && o->horizon != floor(o->horizon)) {
        fprintf(stderr,
                "ltvd score: --horizon counts purchase opportunities for %s: a whole "
                "number, not %g\n",
                s->m->name, o->horizon);
        return -1;
    }
    return 0;
}

int cli_score_main(int argc, char **argv)
{
    cli_options o;
    cli_data d;
    scorer s = {.o = &o};
    int parsed = cli_options_parse(argc, argv, true, &o);
    if (parsed > 0)
        return 0;
    if (parsed != 0 || resolve_models(&o, &s) != 0)
        return 2;
    if (cli_data_load("score", &o, false, &d) != 0)
        return 1;
    int status = 1;
    if (s.with_spend && !d.sum.has_monetary) {
        fputs(
            "ltvd score: a spend model needs monetary values: a monetary_value (or zbar) "
            "column or --transactions\n",
            stderr);
        goto cleanup;
    }
    if (s.m != NULL && get_params(o.params, s.m, &d, &o, s.params,
                                  o.intervals ? s.cov : NULL, &s.cov_p) != 0)
        goto cleanup;
    if (s.with_spend &&
        get_params(s.m ? o.spend_params : o.params, NULL, &d, &o, s.spend_params,
                   o.intervals ? s.spend_cov : NULL, &s.spend_cov_p) != 0)
        goto cleanup;
    if (s.with_spend && !(s.spend_params[1] > 1)) {
        fprintf(stderr,
                "ltvd score: the Gamma-Gamma q = %g is not above 1: the expected "
                "spend is infinite (spend too heavy-tailed for this model)\n",
                s.spend_params[1]);
        goto cleanup;
    }
    if (s.m != NULL)
        s.clv = (clv_options){o.clv_months, o.discount_rate, o.margin,
                              clv_month_periods(s.m, o.period_days)};
    if (s.m != NULL && s.with_spend && !clv_options_valid(&s.clv)) {
        fprintf(stderr,
                "ltvd score: --discount-rate %g over --clv-months %u gives a discount "
                "factor that cannot be represented\n",
                o.discount_rate, o.clv_months);
        goto cleanup;
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    if (print_rows(&s, &d.sum) != 0)
        goto cleanup;
    status = cli_flush_stdout("score");
cleanup:
    cli_data_free(&d);
    return status;
}

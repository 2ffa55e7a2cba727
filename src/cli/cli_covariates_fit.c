/* `ltvd fit --covariates FILE`: the fit (model/cov_design.h) and its JSON:
 * the baseline's parameters, each coefficient with its standard error and
 * z, the log-likelihoods with and without covariates, the likelihood-ratio
 * test, every level's role (own coefficient, pooled into "other", pooled
 * into the baseline) and implied parameters. */
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_covariates.h"
#include "cli/cli_data.h"

/* ---- JSON pieces ---- */

static json_t *real_or_null(double v, bool ok)
{
    return ok && isfinite(v) ? json_real(v) : json_null();
}

/* A count of customers: an integer when whole (weights may not be). */
static json_t *count(double n)
{
    return n == floor(n) && n <= 9007199254740992.0 ? json_integer((json_int_t)n)
                                                    : json_real(n);
}

static json_t *named4(const btyd_model *m, const double *v, bool ok)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < COV_BASE_PARAMS; i++)
        json_object_set_new(o, m->param_names[i], real_or_null(v[i], ok));
    return o;
}

/* "channel=email", "channel=other" or a numeric variable's name. */
static void column_name(const cli_cov_table *t, const cov_design *d, size_t k, char *out,
                        size_t len)
{
    const cov_column *c = &d->columns[k];
    const cov_variable *v = &t->vars[c->var];
    if (!v->categorical)
        snprintf(out, len, "%s", v->name);
    else if (c->level == COV_OTHER)
        snprintf(out, len, "%s=other", v->name);
    else
        snprintf(out, len, "%s=%s", v->name, t->level_names[c->var][c->level]);
}

static json_t *coefficients(const cli_cov_table *t, const cov_design *d,
                            const cov_result *r)
{
    json_t *arr = json_array();
    size_t K = d->n_columns;
    static const char *const process[2] = {"purchase", "dropout"};
    for (size_t p = 0; arr != NULL && p < 2; p++)
        for (size_t k = 0; k < K; k++) {
            size_t i = COV_BASE_PARAMS + p * K + k;
            char name[300];
            column_name(t, d, k, name, sizeof name);
            double se = r->std_errors[i];
            bool ok = r->std_errors_ok && se > 0;
            json_array_append_new(arr, json_pack("{s:s, s:s, s:f, s:o, s:o}", "covariate",
                                                 name, "process", process[p], "gamma",
                                                 r->params[i], "std_error",
                                                 real_or_null(se, ok), "z",
                                                 real_or_null(r->params[i] / se, ok)));
        }
    return arr;
}

static json_t *level_doc(const btyd_model *m, const cli_cov_table *t, const cov_design *d,
                         const cov_result *r, size_t v, size_t l)
{
    const cov_level *lv = &t->vars[v].levels[l];
    double p[4], se[4];
    bool ok = cov_design_level_params(m, d, r, v, l, p, se) == GSL_SUCCESS;
    const char *reason = cov_pool_reason_label(lv->reason);
    return json_pack("{s:s, s:o, s:s, s:o, s:o, s:o}", "level", t->level_names[v][l],
                     "customers", count(lv->customers), "role",
                     cov_level_role_label(lv->role), "pooled_because",
                     reason[0] != '\0' ? json_string(reason) : json_null(), "params",
                     ok ? named4(m, p, true) : json_null(), "std_errors",
                     ok ? named4(m, se, r->std_errors_ok) : json_null());
}

static json_t *variables(const btyd_model *m, const cli_cov_table *t, const cov_design *d,
                         const cov_result *r)
{
    json_t *arr = json_array();
    for (size_t v = 0; arr != NULL && v < t->n_vars; v++) {
        const cov_variable *var = &t->vars[v];
        if (!var->categorical) {
            json_array_append_new(
                arr, json_pack("{s:s, s:s}", "name", var->name, "type", "numeric"));
            continue;
        }
        json_t *levels = json_array();
        const char *baseline = "";
        for (size_t l = 0; levels != NULL && l < var->n_levels; l++) {
            json_array_append_new(levels, level_doc(m, t, d, r, v, l));
            if (var->levels[l].role == COV_LEVEL_BASELINE)
                baseline = t->level_names[v][l];
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "name", var->name,
                                             "type", "categorical", "baseline", baseline,
                                             "levels", levels));
    }
    return arr;
}

/* The pooled levels (also said on stderr). */
static json_t *pooled(const cli_cov_table *t)
{
    json_t *arr = json_array();
    for (size_t v = 0; arr != NULL && v < t->n_vars; v++)
        for (size_t l = 0; t->vars[v].categorical && l < t->vars[v].n_levels; l++) {
            const cov_level *lv = &t->vars[v].levels[l];
            if (lv->role != COV_LEVEL_OTHER && lv->role != COV_LEVEL_IN_BASELINE)
                continue;
            const char *into = lv->role == COV_LEVEL_OTHER ? "other" : "baseline";
            const char *why = cov_pool_reason_label(lv->reason);
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:o, s:s, s:s}", "variable", t->vars[v].name,
                               "level", t->level_names[v][l], "customers",
                               count(lv->customers), "into", into, "because", why));
            fprintf(stderr, "ltvd fit: %s '%s' (%g customers) pooled into %s: %s\n",
                    t->vars[v].name, t->level_names[v][l], lv->customers, into, why);
        }
    return arr;
}

static const char *problem_of(const cov_result *r)
{
    if (!r->converged)
        return "the fit did not converge";
    if (!r->std_errors_ok)
        return "not identified: the Hessian is not negative definite (numeric covariates "
               "that do not vary, or collinear columns?)";
    return NULL;
}

static json_t *build_doc(const btyd_model *m, const cli_options *o,
                         const cli_cov_table *t, const cov_design *d, const cov_result *r)
{
    const char *problem = problem_of(r);
    json_t *doc = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:f, s:f, s:o, s:{s:f, s:I, s:f}, s:o, s:o, s:f, s:o, "
        "s:I, s:I, s:b, s:b, s:I, s:f, s:o}",
        "model", m->name, "period", o->period, "params", named4(m, r->params, true),
        "std_errors", named4(m, r->std_errors, r->std_errors_ok), "coefficients",
        coefficients(t, d, r), "log_likelihood", r->log_likelihood,
        "log_likelihood_without_covariates", r->base.log_likelihood,
        "params_without_covariates", named4(m, r->base.params, true), "lr_test",
        "statistic", r->lr_statistic, "df", (json_int_t)r->lr_df, "p_value",
        r->lr_p_value, "variables", variables(m, t, d, r), "pooled", pooled(t),
        "min_customers", d->min_customers, "n_customers", count(r->n_customers),
        "n_patterns", (json_int_t)r->n_patterns, "n_covariate_rows",
        (json_int_t)t->n_rows, "converged", r->converged, "std_errors_ok",
        r->std_errors_ok, "iterations", (json_int_t)r->iterations, "seconds", r->seconds,
        "problem", problem != NULL ? json_string(problem) : json_null());
    return doc;
}

/* ---- the command ---- */

/* Customers as patterns (weight = the summary row's weight). */
static btyd_pattern *customer_patterns(const summary_set *s, double **w)
{
    btyd_pattern *p = malloc((s->n > 0 ? s->n : 1) * sizeof *p);
    *w = malloc((s->n > 0 ? s->n : 1) * sizeof **w);
    if (p == NULL || *w == NULL) {
        free(p);
        free(*w);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        const cust_summary *c = &s->rows[i];
        p[i] = (btyd_pattern){c->frequency, c->recency, c->T, c->weight};
        (*w)[i] = c->weight;
    }
    return p;
}

static int print_doc(json_t *doc)
{
    if (doc == NULL ||
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        fprintf(stderr, "ltvd fit: cannot write the result\n");
        return 1;
    }
    putchar('\n');
    return cli_flush_stdout("fit");
}

static int fit_and_print(const cli_options *o, const btyd_model *m, cli_cov_table *t,
                         const summary_set *sum)
{
    double *w = NULL;
    btyd_pattern *cust = customer_patterns(sum, &w);
    cov_result *r = malloc(sizeof *r);
    cov_design d;
    char err[512];
    int status = 1, rc;
    if (cust == NULL || r == NULL) {
        fprintf(stderr, "ltvd fit: out of memory\n");
        goto done;
    }
    if (cov_design_init(&d, t->vars, t->n_vars, t->values, w, sum->n, o->min_customers,
                        err, sizeof err) != 0) {
        fprintf(stderr, "ltvd fit: %s: %s\n", o->covariates, err);
        status = 2;
        goto done;
    }
    if ((rc = cov_design_fit(m, &d, cust, t->values, sum->n, r)) != GSL_SUCCESS) {
        fprintf(stderr, "ltvd fit: the %s model with covariates cannot be fitted: %s%s\n",
                m->name, gsl_strerror(rc),
                rc == GSL_EDOM ? " (a customer outside the model's domain?)" : "");
        goto done;
    }
    json_t *doc = build_doc(m, o, t, &d, r);
    status = print_doc(doc);
    json_decref(doc);
    const char *problem = problem_of(r);
    if (status == 0 && problem != NULL) {
        fprintf(stderr, "ltvd fit: the %s fit with covariates cannot be used: %s\n",
                m->name, problem);
        status = 1;
    }
done:
    free(cust);
    free(w);
    free(r);
    return status;
}

int cli_fit_covariates(const cli_options *o, const btyd_model *m)
{
    if (!cov_model_supported(m)) {
        fprintf(stderr,
                "ltvd fit: --covariates is available for bgnbd and pareto, not %s\n",
                m->name);
        return 2;
    }
    cli_data d;
    cli_cov_table t;
    if (cli_data_load("fit", o, false, &d) != 0)
        return 1;
    int status = 2;
    if (cli_cov_table_read(o, &d.sum, &t) == 0) {
        status = fit_and_print(o, m, &t, &d.sum);
        cli_cov_table_free(&t);
    }
    cli_data_free(&d);
    return status;
}

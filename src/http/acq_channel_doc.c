/* The per-channel model's JSON members (acq_channel_doc.h). */
#include "http/acq_channel_doc.h"

#include <math.h>
#include <stdio.h>

static json_t *real_or_null(double v, bool ok)
{
    return ok && isfinite(v) ? json_real(v) : json_null();
}

static json_t *count(double n)
{
    return n == floor(n) && n <= 9007199254740992.0 ? json_integer((json_int_t)n)
                                                    : real_or_null(n, true);
}

static json_t *named4(const btyd_model *m, const double *v, bool ok)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < COV_BASE_PARAMS; i++)
        json_object_set_new(o, m->param_names[i], real_or_null(v[i], ok));
    return o;
}

json_t *acq_channel_doc_status(const char *status, const char *reason)
{
    return json_pack("{s:s, s:o}", "status", status, "reason",
                     reason != NULL ? json_string(reason) : json_null());
}

/* The name of column k: "acquisition_channel=email" or "...=other". */
static void column_name(const acq_channel_fit *f, const char *const *names, size_t k,
                        char *out, size_t len)
{
    const cov_column *c = &f->d.columns[k];
    snprintf(out, len, "%s=%s", f->var.name,
             c->level == COV_OTHER ? "other" : names[f->level_channel[c->level]]);
}

static json_t *coefficients(const acq_channel_fit *f, const char *const *names)
{
    json_t *arr = json_array();
    size_t K = f->d.n_columns;
    static const char *const process[2] = {"purchase", "dropout"};
    for (size_t p = 0; arr != NULL && p < 2; p++)
        for (size_t k = 0; k < K; k++) {
            size_t i = COV_BASE_PARAMS + p * K + k;
            char name[300];
            column_name(f, names, k, name, sizeof name);
            double g = f->r.params[i], se = f->r.std_errors[i];
            bool ok = f->r.std_errors_ok && se > 0;
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:o, s:o, s:o}", "covariate", name, "process",
                               process[p], "gamma", real_or_null(g, true), "std_error",
                               real_or_null(se, ok), "z", real_or_null(g / se, ok)));
        }
    return arr;
}

static json_t *pooled(const acq_channel_fit *f, const char *const *names)
{
    json_t *arr = json_array();
    for (size_t l = 0; arr != NULL && l < f->var.n_levels; l++) {
        const cov_level *lv = &f->levels[l];
        if (lv->role != COV_LEVEL_OTHER && lv->role != COV_LEVEL_IN_BASELINE)
            continue;
        json_array_append_new(
            arr, json_pack("{s:s, s:o, s:s, s:s}", "channel", names[f->level_channel[l]],
                           "customers", count(lv->customers), "into",
                           lv->role == COV_LEVEL_OTHER ? "other" : "baseline", "because",
                           cov_pool_reason_label(lv->reason)));
    }
    return arr;
}

static const char *baseline(const acq_channel_fit *f, const char *const *names)
{
    for (size_t l = 0; l < f->var.n_levels; l++)
        if (f->levels[l].role == COV_LEVEL_BASELINE)
            return names[f->level_channel[l]];
    return "";
}

json_t *acq_channel_doc_model(const acq_channel_fit *f, const char *const *names)
{
    const cov_result *r = &f->r;
    return json_pack(
        "{s:s, s:n, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:I, s:o}, s:o, "
        "s:o, s:o, s:I, s:I, s:o}",
        "status", "ready", "reason", "model", f->m->name, "variable", f->var.name,
        "baseline", baseline(f, names), "params", named4(f->m, r->params, true),
        "std_errors", named4(f->m, r->std_errors, r->std_errors_ok), "coefficients",
        coefficients(f, names), "log_likelihood", real_or_null(r->log_likelihood, true),
        "log_likelihood_without_covariates", real_or_null(r->base.log_likelihood, true),
        "params_without_covariates", named4(f->m, r->base.params, true), "lr_test",
        "statistic", real_or_null(r->lr_statistic, true), "df", (json_int_t)r->lr_df,
        "p_value", real_or_null(r->lr_p_value, true), "pooled", pooled(f, names),
        "min_customers", real_or_null(f->d.min_customers, true), "n_customers",
        count(r->n_customers), "n_patterns", (json_int_t)r->n_patterns, "iterations",
        (json_int_t)r->iterations, "seconds", real_or_null(r->seconds, true));
}

json_t *acq_channel_doc_params(const acq_channel_fit *f, size_t k, bool value_ok,
                               const char *why)
{
    if (f == NULL || k >= f->n_channels || f->source[k] == ACQ_SRC_POOLED || !value_ok)
        return json_pack("{s:s, s:o, s:n, s:n}", "source", "pooled_model", "reason",
                         why != NULL ? json_string(why) : json_null(), "params",
                         "std_errors");
    const char *because = cov_pool_reason_label(f->reason[k]);
    return json_pack("{s:s, s:o, s:o, s:o}", "source",
                     acq_param_source_label(f->source[k]), "reason",
                     because[0] != '\0' ? json_string(because) : json_null(), "params",
                     named4(f->m, f->params[k], true), "std_errors",
                     named4(f->m, f->se[k], f->r.std_errors_ok));
}

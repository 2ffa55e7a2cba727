/* Writing and reading the JSON description of a fitted model (jansson). */
#include "cli/fit_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static json_t *named_values(const fit_json_model *m, const double *v, int ok)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    for (size_t i = 0; i < m->n_params; i++) {
        json_t *num = ok ? json_real(v[i]) : json_null();
        if (json_object_set_new(obj, m->param_names[i], num) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *fit_json_build(const fit_json_model *m, const char *period, const fit_result *r,
                       double n_customers, size_t n_patterns)
{
    json_t *params = named_values(m, r->params, 1);
    json_t *errors = named_values(m, r->std_errors, r->std_errors_ok);
    json_t *obj = NULL;
    if (params == NULL || errors == NULL)
        goto cleanup;
    /* Weights are counts of customers; past 2^53 they are not exact integers. */
    json_t *count = n_customers <= 9007199254740992.0
                        ? json_integer((json_int_t)llround(n_customers))
                        : json_real(n_customers);
    obj =
        json_pack("{s:s, s:s*, s:O, s:O, s:f, s:o, s:I, s:b, s:I, s:f}", "model", m->name,
                  "period", m->discrete ? NULL : period, "params", params, "std_errors",
                  errors, "log_likelihood", r->log_likelihood, "n_customers", count,
                  "n_patterns", (json_int_t)n_patterns, "converged", r->converged,
                  "iterations", (json_int_t)r->iterations, "seconds", r->seconds);
cleanup:
    json_decref(params);
    json_decref(errors);
    return obj;
}

static int read_param(json_t *params, const char *name, double *out, const char *path,
                      char err[FIT_JSON_ERR_MAX])
{
    json_t *v = json_object_get(params, name);
    if (v == NULL || !json_is_number(v)) {
        snprintf(err, FIT_JSON_ERR_MAX, "%s: params.%s is missing or not a number", path,
                 name);
        return -1;
    }
    double x = json_number_value(v);
    if (!isfinite(x) || x <= 0) {
        snprintf(err, FIT_JSON_ERR_MAX, "%s: params.%s must be > 0", path, name);
        return -1;
    }
    *out = x;
    return 0;
}

int fit_json_read_params(const char *path, const fit_json_model *m, const char *period,
                         double *params, char err[FIT_JSON_ERR_MAX])
{
    json_error_t jerr;
    int rc = -1;
    json_t *root =
        json_load_file(path, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    if (root == NULL) {
        if (jerr.line >= 1)
            snprintf(err, FIT_JSON_ERR_MAX, "%s:%d: %s", path, jerr.line, jerr.text);
        else
            snprintf(err, FIT_JSON_ERR_MAX, "%s: %s", path, jerr.text);
        return -1;
    }
    const char *model = json_string_value(json_object_get(root, "model"));
    if (model == NULL || strcmp(model, m->name) != 0) {
        snprintf(err, FIT_JSON_ERR_MAX, "%s: holds model '%s', not '%s'", path,
                 model ? model : "(none)", m->name);
        goto cleanup;
    }
    const char *file_period = json_string_value(json_object_get(root, "period"));
    if (!m->discrete && file_period == NULL) {
        snprintf(err, FIT_JSON_ERR_MAX,
                 "%s: no \"period\": the time unit of the parameters "
                 "is unknown",
                 path);
        goto cleanup;
    }
    if (!m->discrete && strcmp(file_period, period) != 0) {
        snprintf(err, FIT_JSON_ERR_MAX,
                 "%s: parameters were fitted with --period %s, not %s", path, file_period,
                 period);
        goto cleanup;
    }
    if (json_object_get(root, "coefficients") != NULL) {
        snprintf(err, FIT_JSON_ERR_MAX,
                 "%s: a fit with covariates (its params are the baseline level's; "
                 "take a level's params from \"variables\" into a file of their own)",
                 path);
        goto cleanup;
    }
    json_t *obj = json_object_get(root, "params");
    if (!json_is_object(obj)) {
        snprintf(err, FIT_JSON_ERR_MAX, "%s: no \"params\" object", path);
        goto cleanup;
    }
    for (size_t i = 0; i < m->n_params; i++)
        if (read_param(obj, m->param_names[i], &params[i], path, err) != 0)
            goto cleanup;
    rc = 0;
cleanup:
    json_decref(root);
    return rc;
}

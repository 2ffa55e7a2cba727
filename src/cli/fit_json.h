/* The JSON form of a fitted model, as `ltvd fit` prints it and `--params`
 * reads it back: model, period, params and std_errors by lifetimes' names,
 * log_likelihood (total), n_customers, n_patterns, converged, iterations,
 * seconds. */
#ifndef LTVD_CLI_FIT_JSON_H
#define LTVD_CLI_FIT_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "model/fit.h"

#define FIT_JSON_ERR_MAX 512

typedef struct fit_json_model {
    const char *name; /* "bgnbd", ..., "gg" */
    size_t n_params;
    const char *const *param_names;
    int discrete; /* no time unit (BG/BB, Gamma-Gamma) */
} fit_json_model;

/* A new JSON object describing the fit (caller owns it), or NULL when out
 * of memory. `period` is "day"/"week", ignored for discrete models. */
json_t *fit_json_build(const fit_json_model *m, const char *period, const fit_result *r,
                       double n_customers, size_t n_patterns);

/* Reads params for model m from a file written by `ltvd fit`. Checks the
 * model name, that every parameter is a finite number > 0 and, for models
 * with a time unit, that the file's period equals `period`. Returns 0, or -1
 * with a one-line reason in err. */
int fit_json_read_params(const char *path, const fit_json_model *m, const char *period,
                         double *params, char err[FIT_JSON_ERR_MAX]);

#endif

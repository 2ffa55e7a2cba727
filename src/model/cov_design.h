/* From customer attributes to the covariates of covariates.h: numeric
 * variables used as they are, categorical ones (a channel) as dummies
 * against a baseline level (the largest), levels too small to estimate
 * (fewer than a minimum of customers) or whose coefficient is not
 * identified pooled into one "other" level, and "other" itself into the
 * baseline when it is too small or not identified either. Then the fit, and
 * the parameters implied for each level. This is the C API the CLI
 * (`ltvd fit --covariates`) and the service's acquisition answers share.
 * Pure: libc and GSL, no I/O. */
#ifndef LTVD_MODEL_COV_DESIGN_H
#define LTVD_MODEL_COV_DESIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"
#include "model/covariates.h"

/* Default least number of customers a level needs for its own coefficient. */
#define COV_MIN_CUSTOMERS_DEFAULT 30

/* |gamma| above this (a factor e^12 on a scale) is taken as not
 * identified: the likelihood is flat towards infinity there. */
#define COV_GAMMA_MAX 12.0

typedef enum cov_level_role {
    COV_LEVEL_BASELINE,    /* the reference level: all its dummies 0 */
    COV_LEVEL_OWN,         /* its own dummy and coefficients */
    COV_LEVEL_OTHER,       /* pooled into the variable's "other" dummy */
    COV_LEVEL_IN_BASELINE, /* pooled, "other" too small or not identified:
                              estimated with the baseline */
} cov_level_role;

typedef enum cov_pool_reason {
    COV_POOL_NONE,
    COV_POOL_SMALL,        /* fewer than min_customers customers */
    COV_POOL_UNIDENTIFIED, /* its coefficient was not identified */
} cov_pool_reason;

typedef struct cov_level {
    double customers; /* total weight of the level's customers */
    cov_level_role role;
    cov_pool_reason reason;
    int column; /* its dummy's index in z (OWN, OTHER), -1 otherwise */
} cov_level;

/* One covariate variable. For a categorical one the caller gives the level
 * count; cov_design_init fills `levels` (n_levels entries, caller-owned). */
typedef struct cov_variable {
    const char *name; /* borrowed, for the caller's output */
    bool categorical;
    size_t n_levels;    /* categorical: values are level indexes 0..n_levels-1 */
    cov_level *levels;  /* categorical: n_levels entries, written by init */
    int other_column;   /* categorical: the "other" dummy's column, or -1 */
    int numeric_column; /* numeric: its column */
} cov_variable;

/* Column k of z: numeric variable `var`, or the dummy of level `level` of
 * categorical `var` (level = COV_OTHER for its "other" dummy). */
#define COV_OTHER ((size_t)-1)
typedef struct cov_column {
    size_t var;
    size_t level;
} cov_column;

typedef struct cov_design {
    cov_variable *vars; /* borrowed, n_vars */
    size_t n_vars;
    size_t n_columns; /* K <= COV_MAX_COVARIATES */
    cov_column columns[COV_MAX_COVARIATES];
    double min_customers;
} cov_design;

/* Sets up the design for customers whose attribute values are
 * values[i*n_vars + v] (a number, or a level index as a double), with
 * weights w[i] (NULL: 1 each): counts the levels, picks each categorical
 * variable's baseline (the level with most customers, the first on a tie),
 * pools levels with fewer than min_customers (> 0) customers, numbers the
 * columns. Returns 0, or -1 with a one-line reason in err (a level index out
 * of range or not whole, a non-finite value, more than COV_MAX_COVARIATES
 * columns, a level with no customer). */
int cov_design_init(cov_design *d, cov_variable *vars, size_t n_vars,
                    const double *values, const double *w, size_t n, double min_customers,
                    char *err, size_t err_size);

/* Writes customer i's covariate row, z[0..d->n_columns). */
void cov_design_row(const cov_design *d, const double *values_i, double *z);

/* Fits model m with the design's covariates on customers cust[0..n) (their
 * patterns and weights) and values as for cov_design_init. When a dummy's
 * coefficient is not identified (no standard errors, or |gamma| >
 * COV_GAMMA_MAX, or a standard error above COV_GAMMA_MAX) the level with the
 * largest such coefficient is pooled into "other" (reason UNIDENTIFIED), or
 * "other" into the baseline, and the fit is repeated: the levels' roles in
 * d say what happened. Returns GSL_SUCCESS (out->std_errors_ok false when
 * numeric covariates alone are not identified), GSL_EDOM (unsupported model,
 * data outside the model's domain), GSL_ENOMEM or the model's error. */
int cov_design_fit(const btyd_model *m, cov_design *d, const btyd_pattern *cust,
                   const double *values, size_t n, cov_result *out);

/* The model's parameters (and delta-method standard errors) for level
 * `level` of categorical variable `var`, every other variable at its
 * baseline (dummies 0, numeric covariates 0): the parameters "of channel
 * k". A pooled level gets the parameters of "other" (or the baseline's).
 * Returns GSL_SUCCESS or GSL_EDOM (bad var/level) or GSL_ERANGE. */
int cov_design_level_params(const btyd_model *m, const cov_design *d, const cov_result *r,
                            size_t var, size_t level, double *params, double *se);

/* "baseline", "own", "other", "baseline (pooled)"; "", "fewer customers
 * than the minimum", "coefficient not identified". Static strings. */
const char *cov_level_role_label(cov_level_role r);
const char *cov_pool_reason_label(cov_pool_reason r);

#endif

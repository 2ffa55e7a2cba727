/* `ltvd fit --covariates FILE`: BG/NBD or Pareto/NBD with time-invariant
 * covariates read from a CSV (customer_id plus one column per covariate),
 * printed as one JSON object (docs/covariates.md). */
#ifndef LTVD_CLI_COVARIATES_H
#define LTVD_CLI_COVARIATES_H

#include <stddef.h>

#include "cli/cli_options.h"
#include "model/btyd.h"
#include "model/cov_design.h"
#include "summary/summary.h"

/* The covariates file, matched to the customers: values[i*n_vars + v] is
 * customer i's value of variable v (a number, or a level index). Owns
 * everything. */
typedef struct cli_cov_table {
    cov_variable *vars;
    size_t n_vars;
    char ***level_names; /* per categorical variable: its levels' text */
    double *values;      /* n_customers x n_vars */
    size_t n_customers;
    size_t n_rows; /* rows of the file */
    char *text;    /* the file's text, which the names point into */
} cli_cov_table;

/* Reads o->covariates and matches its rows to the customers of sum (by
 * customer_id; rows of other customers are ignored). Returns 0, or -1 after
 * one line on stderr: a customer without a row (named), a duplicate row, an
 * unknown --covariate-columns name, an empty value, no covariate column, a
 * file that cannot be read. Free with cli_cov_table_free (also after an
 * error). */
int cli_cov_table_read(const cli_options *o, const summary_set *sum, cli_cov_table *t);
void cli_cov_table_free(cli_cov_table *t);

/* The whole `ltvd fit --covariates` (m is bgnbd or pareto). Returns the
 * exit status: 0; 1 when the data cannot be fitted or the fit is not
 * usable; 2 when the covariates file does not match the customers. */
int cli_fit_covariates(const cli_options *o, const btyd_model *m);

#endif

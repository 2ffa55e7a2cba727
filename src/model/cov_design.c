/* Covariate designs (cov_design.h): dummies against the largest level,
 * pooling of small and unidentified levels, the fit that repeats until
 * every dummy is identified, and the parameters implied for each level. */
#include "model/cov_design.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- setting up ---- */

static int count_levels(cov_variable *v, size_t vi, size_t n_vars, const double *values,
                        const double *w, size_t n, char *err, size_t err_size)
{
    for (size_t l = 0; l < v->n_levels; l++)
        v->levels[l] = (cov_level){0, COV_LEVEL_OWN, COV_POOL_NONE, -1};
    for (size_t i = 0; i < n; i++) {
        double x = values[i * n_vars + vi];
        if (!(x >= 0) || x != floor(x) || !(x < (double)v->n_levels)) {
            snprintf(err, err_size, "variable '%s': customer %zu has no valid level",
                     v->name, i);
            return -1;
        }
        v->levels[(size_t)x].customers += w != NULL ? w[i] : 1.0;
    }
    return 0;
}

/* The baseline (most customers, the first on a tie) and the small levels. */
static void mark_levels(cov_variable *v, double min_customers)
{
    size_t base = 0;
    for (size_t l = 1; l < v->n_levels; l++)
        if (v->levels[l].customers > v->levels[base].customers)
            base = l;
    for (size_t l = 0; l < v->n_levels; l++) {
        cov_level *lv = &v->levels[l];
        if (l == base)
            lv->role = COV_LEVEL_BASELINE;
        else if (lv->customers < min_customers) {
            lv->role = COV_LEVEL_OTHER;
            lv->reason = COV_POOL_SMALL;
        } else
            lv->role = COV_LEVEL_OWN;
    }
}

/* Total customers of a variable's levels pooled into "other". */
static double other_customers(const cov_variable *v)
{
    double s = 0;
    for (size_t l = 0; l < v->n_levels; l++)
        if (v->levels[l].role == COV_LEVEL_OTHER)
            s += v->levels[l].customers;
    return s;
}

static int add_column(cov_design *d, size_t var, size_t level, char *err, size_t err_size)
{
    if (d->n_columns >= COV_MAX_COVARIATES) {
        snprintf(err, err_size,
                 "more than %d covariate columns (levels with their own coefficient "
                 "plus numeric variables): raise the minimum of customers per level",
                 COV_MAX_COVARIATES);
        return -1;
    }
    d->columns[d->n_columns] = (cov_column){var, level};
    return (int)d->n_columns++;
}

/* Numbers the columns from the roles: numeric variables, each categorical
 * variable's own levels in order, then its "other" (which joins the
 * baseline when smaller than the minimum). */
static int assign_columns(cov_design *d, char *err, size_t err_size)
{
    d->n_columns = 0;
    for (size_t vi = 0; vi < d->n_vars; vi++) {
        cov_variable *v = &d->vars[vi];
        v->other_column = v->numeric_column = -1;
        if (!v->categorical) {
            if ((v->numeric_column = add_column(d, vi, 0, err, err_size)) < 0)
                return -1;
            continue;
        }
        double other = other_customers(v);
        for (size_t l = 0; l < v->n_levels; l++) {
            cov_level *lv = &v->levels[l];
            lv->column = -1;
            if (lv->role == COV_LEVEL_OTHER && other < d->min_customers)
                lv->role = COV_LEVEL_IN_BASELINE;
            if (lv->role == COV_LEVEL_OWN &&
                (lv->column = add_column(d, vi, l, err, err_size)) < 0)
                return -1;
        }
        if (other >= d->min_customers &&
            (v->other_column = add_column(d, vi, COV_OTHER, err, err_size)) < 0)
            return -1;
        for (size_t l = 0; l < v->n_levels; l++)
            if (v->levels[l].role == COV_LEVEL_OTHER)
                v->levels[l].column = v->other_column;
    }
    return 0;
}

int cov_design_init(cov_design *d, cov_variable *vars, size_t n_vars,
                    const double *values, const double *w, size_t n, double min_customers,
                    char *err, size_t err_size)
{
    memset(d, 0, sizeof *d);
    d->vars = vars;
    d->n_vars = n_vars;
    d->min_customers = min_customers > 0 ? min_customers : COV_MIN_CUSTOMERS_DEFAULT;
    for (size_t vi = 0; vi < n_vars; vi++) {
        cov_variable *v = &vars[vi];
        if (!v->categorical) {
            for (size_t i = 0; i < n; i++)
                if (!isfinite(values[i * n_vars + vi])) {
                    snprintf(err, err_size, "variable '%s': customer %zu: not a number",
                             v->name, i);
                    return -1;
                }
            continue;
        }
        if (v->n_levels == 0 || v->levels == NULL) {
            snprintf(err, err_size, "variable '%s' has no level", v->name);
            return -1;
        }
        if (count_levels(v, vi, n_vars, values, w, n, err, err_size) != 0)
            return -1;
        mark_levels(v, d->min_customers);
    }
    return assign_columns(d, err, err_size);
}

void cov_design_row(const cov_design *d, const double *values_i, double *z)
{
    for (size_t k = 0; k < d->n_columns; k++)
        z[k] = 0;
    for (size_t vi = 0; vi < d->n_vars; vi++) {
        const cov_variable *v = &d->vars[vi];
        if (!v->categorical) {
            z[v->numeric_column] = values_i[vi];
            continue;
        }
        int col = v->levels[(size_t)values_i[vi]].column;
        if (col >= 0)
            z[col] = 1;
    }
}

/* ---- fitting, pooling what is not identified ---- */

static int fit_once(const btyd_model *m, const cov_design *d, const btyd_pattern *cust,
                    const double *values, size_t n, cov_result *out)
{
    size_t K = d->n_columns;
    double *z = malloc((n * K > 0 ? n * K : 1) * sizeof *z);
    if (z == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        cov_design_row(d, values + i * d->n_vars, z + i * K);
    cov_data_owned data;
    int rc = cov_data_build(cust, z, n, K, &data);
    free(z);
    if (rc != GSL_SUCCESS)
        return rc;
    rc = cov_fit(m, &data.d, out);
    cov_data_free(&data);
    return rc;
}

/* How badly dummy column k is identified: 0 when fine. */
static double badness(const cov_result *r, size_t K, size_t k)
{
    size_t t = COV_BASE_PARAMS + k, l = COV_BASE_PARAMS + K + k;
    double size = fabs(r->params[t]) + fabs(r->params[l]);
    bool bad = fabs(r->params[t]) > COV_GAMMA_MAX || fabs(r->params[l]) > COV_GAMMA_MAX;
    if (r->std_errors_ok) {
        bad = bad || r->std_errors[t] > COV_GAMMA_MAX || r->std_errors[l] > COV_GAMMA_MAX;
        size += r->std_errors[t] + r->std_errors[l];
    }
    return bad ? size : 0;
}

/* The dummy column to pool next, or -1 when every dummy is identified (or
 * none can be blamed: numeric covariates, or the plain model itself). */
static int column_to_pool(const cov_design *d, const cov_result *r)
{
    int worst = -1, smallest = -1;
    double worst_b = 0, smallest_n = INFINITY;
    for (size_t k = 0; k < d->n_columns; k++) {
        const cov_variable *v = &d->vars[d->columns[k].var];
        if (!v->categorical)
            continue;
        double b = badness(r, d->n_columns, k);
        if (b > worst_b)
            worst_b = b, worst = (int)k;
        double cust = d->columns[k].level == COV_OTHER
                          ? other_customers(v)
                          : v->levels[d->columns[k].level].customers;
        if (cust < smallest_n)
            smallest_n = cust, smallest = (int)k;
    }
    if (worst >= 0)
        return worst;
    if (!r->std_errors_ok && r->base.std_errors_ok)
        return smallest; /* singular with every gamma moderate: the smallest */
    return -1;
}

static void pool_column(cov_design *d, int k)
{
    cov_variable *v = &d->vars[d->columns[k].var];
    if (d->columns[k].level != COV_OTHER) {
        v->levels[d->columns[k].level].role = COV_LEVEL_OTHER;
        v->levels[d->columns[k].level].reason = COV_POOL_UNIDENTIFIED;
        return;
    }
    for (size_t l = 0; l < v->n_levels; l++)
        if (v->levels[l].role == COV_LEVEL_OTHER) {
            v->levels[l].role = COV_LEVEL_IN_BASELINE;
            if (v->levels[l].reason == COV_POOL_NONE)
                v->levels[l].reason = COV_POOL_UNIDENTIFIED;
        }
}

int cov_design_fit(const btyd_model *m, cov_design *d, const btyd_pattern *cust,
                   const double *values, size_t n, cov_result *out)
{
    size_t rounds = 1;
    for (size_t vi = 0; vi < d->n_vars; vi++)
        rounds += d->vars[vi].categorical ? d->vars[vi].n_levels + 1 : 0;
    for (size_t round = 0; round < rounds; round++) {
        int rc = fit_once(m, d, cust, values, n, out);
        if (rc != GSL_SUCCESS)
            return rc;
        int k = column_to_pool(d, out);
        if (k < 0)
            return GSL_SUCCESS;
        pool_column(d, k);
        char err[256];
        if (assign_columns(d, err, sizeof err) != 0)
            return GSL_EDOM; /* cannot happen: pooling only removes columns */
    }
    return GSL_SUCCESS;
}

/* ---- per level ---- */

int cov_design_level_params(const btyd_model *m, const cov_design *d, const cov_result *r,
                            size_t var, size_t level, double *params, double *se)
{
    if (var >= d->n_vars || !d->vars[var].categorical || level >= d->vars[var].n_levels ||
        r->n_params != COV_BASE_PARAMS + 2 * d->n_columns)
        return GSL_EDOM;
    double z[COV_MAX_COVARIATES] = {0};
    int col = d->vars[var].levels[level].column;
    if (col >= 0)
        z[col] = 1;
    return cov_params_at_se(m, r, z, params, se);
}

const char *cov_level_role_label(cov_level_role r)
{
    switch (r) {
    case COV_LEVEL_BASELINE:
        return "baseline";
    case COV_LEVEL_OWN:
        return "own";
    case COV_LEVEL_OTHER:
        return "other";
    case COV_LEVEL_IN_BASELINE:
        return "baseline (pooled)";
    }
    return "";
}

const char *cov_pool_reason_label(cov_pool_reason r)
{
    switch (r) {
    case COV_POOL_NONE:
        return "";
    case COV_POOL_SMALL:
        return "fewer customers than the minimum";
    case COV_POOL_UNIDENTIFIED:
        return "coefficient not identified";
    }
    return "";
}

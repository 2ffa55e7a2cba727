/* Per-channel parameters from the covariate model (acq_channels.h). */
#include "model/acq_channels.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *acq_param_source_label(acq_param_source s)
{
    switch (s) {
    case ACQ_SRC_OWN:
        return "own";
    case ACQ_SRC_OTHER:
        return "other";
    case ACQ_SRC_BASELINE:
        return "baseline";
    case ACQ_SRC_IN_BASELINE:
        return "baseline_pooled";
    case ACQ_SRC_POOLED:
        break;
    }
    return "pooled_model";
}

void acq_channels_free(acq_channel_fit *f)
{
    free(f->levels);
    free(f->level_channel);
    free(f->source);
    free(f->reason);
    free(f->customers);
    free(f->params);
    free(f->se);
    memset(f, 0, sizeof *f);
}

static int cmp_desc(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* The least customers for a dummy: min_customers, raised so that at most
 * COV_MAX_COVARIATES - 1 channels besides the baseline have one (the last
 * column is "other"). -1 when out of memory. */
static double effective_min(const acq_channel_fit *f, double min_customers)
{
    size_t L = f->var.n_levels;
    if (L < COV_MAX_COVARIATES + 1)
        return min_customers;
    double *s = malloc(L * sizeof *s);
    if (s == NULL)
        return -1;
    for (size_t l = 0; l < L; l++)
        s[l] = f->levels[l].customers;
    qsort(s, L, sizeof *s, cmp_desc);
    double cut = s[COV_MAX_COVARIATES]; /* the 17th largest: pooled */
    free(s);
    return cut >= min_customers ? nextafter(cut, INFINITY) : min_customers;
}

/* The channels with customers as levels; their customers per channel. */
static int make_levels(acq_channel_fit *f, const btyd_pattern *pat, const uint32_t *ch,
                       size_t n, size_t **chan_level)
{
    size_t nc = f->n_channels;
    *chan_level = malloc((nc + 1) * sizeof **chan_level);
    f->customers = calloc(nc + 1, sizeof *f->customers);
    f->levels = malloc((nc + 1) * sizeof *f->levels);
    f->level_channel = malloc((nc + 1) * sizeof *f->level_channel);
    f->source = calloc(nc + 1, sizeof *f->source);
    f->reason = calloc(nc + 1, sizeof *f->reason);
    f->params = calloc(nc + 1, sizeof *f->params);
    f->se = calloc(nc + 1, sizeof *f->se);
    if (*chan_level == NULL || f->customers == NULL || f->levels == NULL ||
        f->level_channel == NULL || f->source == NULL || f->reason == NULL ||
        f->params == NULL || f->se == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (ch[i] < nc && pat[i].weight > 0)
            f->customers[ch[i]] += pat[i].weight;
    size_t L = 0;
    for (size_t c = 0; c < nc; c++) {
        (*chan_level)[c] = SIZE_MAX;
        if (f->customers[c] > 0) {
            (*chan_level)[c] = L;
            f->level_channel[L++] = c;
        }
    }
    f->var = (cov_variable){.name = "acquisition_channel",
                            .categorical = true,
                            .n_levels = L,
                            .levels = f->levels,
                            .other_column = -1,
                            .numeric_column = -1};
    return GSL_SUCCESS;
}

static acq_param_source source_of(cov_level_role r)
{
    switch (r) {
    case COV_LEVEL_BASELINE:
        return ACQ_SRC_BASELINE;
    case COV_LEVEL_OWN:
        return ACQ_SRC_OWN;
    case COV_LEVEL_OTHER:
        return ACQ_SRC_OTHER;
    case COV_LEVEL_IN_BASELINE:
        break;
    }
    return ACQ_SRC_IN_BASELINE;
}

/* The fit on the customers with a channel (sub, values: level indexes). */
static int fit(acq_channel_fit *f, const btyd_pattern *sub, const double *values,
               size_t k, double min_customers, const char **why)
{
    double *w = malloc((k ? k : 1) * sizeof *w);
    if (w == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < k; i++)
        w[i] = sub[i].weight;
    char err[256];
    double least = effective_min(f, min_customers);
    int rc = least < 0 ? GSL_ENOMEM : GSL_SUCCESS;
    if (rc == GSL_SUCCESS &&
        cov_design_init(&f->d, &f->var, 1, values, w, k, least, err, sizeof err) != 0) {
        *why = "the channel design cannot be set up";
        rc = GSL_EDOM;
    }
    free(w);
    if (rc != GSL_SUCCESS)
        return rc;
    *why = "every channel has fewer customers than the minimum: pooled into the "
           "baseline, nothing to tell the channels apart";
    if (f->d.n_columns == 0)
        return GSL_EINVAL;
    rc = cov_design_fit(f->m, &f->d, sub, values, k, &f->r);
    *why = rc != GSL_SUCCESS
               ? "the covariate fit failed (data outside the model's domain)"
           : !f->r.converged     ? "the covariate fit did not converge"
           : !f->r.std_errors_ok ? "the covariate fit is not identified (the Hessian is "
                                   "not negative definite)"
           : f->d.n_columns == 0 ? "no channel's coefficient is identified: every "
                                   "channel pooled into the baseline"
                                 : NULL;
    if (rc == GSL_SUCCESS && *why != NULL)
        rc = f->d.n_columns == 0 ? GSL_EINVAL : GSL_EFAILED;
    return rc;
}

/* Each channel's source and parameters after the fit. */
static void per_channel(acq_channel_fit *f, const size_t *chan_level)
{
    for (size_t c = 0; c < f->n_channels; c++) {
        size_t l = chan_level[c];
        f->source[c] = ACQ_SRC_POOLED;
        if (l == SIZE_MAX)
            continue;
        const cov_level *lv = &f->levels[l];
        if (cov_design_level_params(f->m, &f->d, &f->r, 0, l, f->params[c], f->se[c]) !=
            GSL_SUCCESS)
            continue;
        f->source[c] = source_of(lv->role);
        f->reason[c] = lv->reason;
    }
}

int acq_channels_fit(const btyd_model *m, const btyd_pattern *pat, const uint32_t *ch,
                     size_t n, size_t n_channels, double min_customers,
                     acq_channel_fit *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->m = m;
    out->n_channels = n_channels;
    *why = "covariates are implemented for bgnbd and pareto only";
    if (!cov_model_supported(m))
        return GSL_EINVAL;
    *why = "out of memory";
    size_t *chan_level = NULL, k = 0;
    btyd_pattern *sub = malloc((n ? n : 1) * sizeof *sub);
    double *values = malloc((n ? n : 1) * sizeof *values);
    int rc = sub == NULL || values == NULL ? GSL_ENOMEM
                                           : make_levels(out, pat, ch, n, &chan_level);
    if (rc != GSL_SUCCESS)
        goto cleanup;
    *why = "fewer than two channels with customers";
    rc = GSL_EINVAL;
    if (out->var.n_levels < 2)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        if (ch[i] < n_channels && pat[i].weight > 0) {
            sub[k] = pat[i];
            values[k++] = (double)chan_level[ch[i]];
        }
    rc = fit(out, sub, values, k, min_customers, why);
    if (rc == GSL_SUCCESS)
        per_channel(out, chan_level);
cleanup:
    free(sub);
    free(values);
    free(chan_level);
    if (rc != GSL_SUCCESS)
        acq_channels_free(out);
    else
        *why = NULL;
    return rc;
}

size_t acq_channels_values(const acq_channel_fit *f, const acq_model *pooled,
                           acq_value *distinct, const acq_value **per)
{
    size_t nd = 0, from[ACQ_CHANNELS_DISTINCT];
    for (size_t c = 0; c < f->n_channels; c++) {
        per[c] = NULL;
        if (f->source[c] == ACQ_SRC_POOLED)
            continue;
        size_t d = 0;
        while (d < nd &&
               (memcmp(f->params[from[d]], f->params[c], sizeof f->params[c]) != 0 ||
                memcmp(f->se[from[d]], f->se[c], sizeof f->se[c]) != 0))
            d++;
        if (d == nd) {
            if (nd == ACQ_CHANNELS_DISTINCT)
                continue; /* cannot happen: one set per column and the baseline */
            acq_model a = *pooled;
            memset(a.params, 0, sizeof a.params);
            memset(a.se, 0, sizeof a.se);
            memcpy(a.params, f->params[c], sizeof f->params[c]);
            for (size_t i = 0; i < COV_BASE_PARAMS; i++)
                a.se[i] = f->r.std_errors_ok && isfinite(f->se[c][i]) ? f->se[c][i] : 0;
            acq_value_compute(&a, &distinct[nd]); /* .ok says whether it could */
            from[nd++] = c;
        }
        per[c] = distinct[d].ok ? &distinct[d] : NULL;
    }
    return nd;
}

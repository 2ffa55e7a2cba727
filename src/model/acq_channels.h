/* Per-channel purchase-model parameters for the acquisition answers (issue
 * 11, "Channels differ"; docs/acquisition.md "Channels differ"): the
 * covariate model of cov_design.h fitted with one categorical variable, the
 * acquisition channel, as dummies against the largest channel, small or
 * unidentified channels pooled into "other" (or the baseline); then each
 * channel's implied parameters (cov_design_level_params), which the caller
 * gives to model/acquisition.h in place of the pooled model's, so that a
 * channel's new-customer value uses its own purchase and drop-out rates.
 * Customers without a channel take no part in the fit. The input may be one
 * pattern per customer or patterns already collapsed per channel (the
 * weights count customers). Pure: libc and GSL, no I/O, no globals. */
#ifndef LTVD_MODEL_ACQ_CHANNELS_H
#define LTVD_MODEL_ACQ_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/acquisition.h"
#include "model/btyd.h"
#include "model/cov_design.h"

/* A customer without a channel. */
#define ACQ_CHANNEL_NONE UINT32_MAX

/* Where a channel's parameters come from. */
typedef enum acq_param_source {
    ACQ_SRC_POOLED,      /* the model without covariates (no customer in the fit) */
    ACQ_SRC_OWN,         /* its own dummies */
    ACQ_SRC_OTHER,       /* pooled into "other" */
    ACQ_SRC_BASELINE,    /* the baseline channel */
    ACQ_SRC_IN_BASELINE, /* pooled with the baseline */
} acq_param_source;

typedef struct acq_channel_fit {
    const btyd_model *m;
    size_t n_channels;
    cov_result r;          /* the fit (with the LR test against no covariates) */
    cov_design d;          /* its design: one variable, levels = fitted channels */
    cov_variable var;      /* the channel variable (d.vars) */
    cov_level *levels;     /* var.levels, n_levels */
    size_t *level_channel; /* level -> channel index */
    /* per channel (n_channels each) */
    acq_param_source *source;
    cov_pool_reason *reason; /* why pooled (OTHER, IN_BASELINE) */
    double *customers;       /* weight of its customers in the fit */
    double (*params)[4];     /* its parameters (source POOLED: none, zeros) */
    double (*se)[4];         /* delta-method standard errors (0: unknown) */
} acq_channel_fit;

/* Fits model m (bgnbd or pareto) with channel dummies on patterns
 * pat[0..n) (weights count customers), pattern i of channel ch[i]
 * (0..n_channels-1, or ACQ_CHANNEL_NONE: left out), channels with fewer
 * than min_customers (> 0) pooled (and only the 15 largest given a dummy,
 * COV_MAX_COVARIATES being 16: the others pooled as small). Returns
 * GSL_SUCCESS with *out filled (free with acq_channels_free); GSL_EINVAL
 * with *why (static text) when the model does not apply: a model without
 * covariates, fewer than two channels with customers, every channel pooled
 * into the baseline; GSL_EFAILED with *why when the fit did not converge or
 * is not identified; GSL_ENOMEM or the fit's error (*why: its text) else.
 * *out needs no free after an error. */
int acq_channels_fit(const btyd_model *m, const btyd_pattern *pat, const uint32_t *ch,
                     size_t n, size_t n_channels, double min_customers,
                     acq_channel_fit *out, const char **why);
void acq_channels_free(acq_channel_fit *f);

/* The most distinct parameter sets of a fit: each own channel, "other"
 * and the baseline. */
#define ACQ_CHANNELS_DISTINCT (COV_MAX_COVARIATES + 1)

/* Each channel's new-customer value (acquisition.h) under its own
 * parameters: pooled with its params and se in place of the purchase
 * model's (the spend model and options as they are). Channels sharing
 * parameters (pooled ones) share one value: the distinct values go into
 * distinct[0..ACQ_CHANNELS_DISTINCT) and per[k] points at channel k's, or
 * is NULL for a channel of source ACQ_SRC_POOLED or whose parameters cannot
 * value a new customer (the caller uses the pooled value for it). Returns
 * the number of distinct values computed. */
size_t acq_channels_values(const acq_channel_fit *f, const acq_model *pooled,
                           acq_value *distinct, const acq_value **per);

/* "pooled_model", "own", "other", "baseline", "baseline_pooled". */
const char *acq_param_source_label(acq_param_source s);

#endif

/* The per-channel model's members of the acquisition document (GET
 * /v1/acquisition and `ltvd acquisition`; docs/acquisition.md "Channels
 * differ", openapi.yaml ChannelModel and ChannelParams): the top-level
 * "channel_model" (the covariate fit, or why there is none) and each
 * channel's "channel_params" (where its parameters come from). Every number
 * is finite; what is undefined is null. */
#ifndef LTVD_HTTP_ACQ_CHANNEL_DOC_H
#define LTVD_HTTP_ACQ_CHANNEL_DOC_H

#include <jansson.h>

#include "model/acq_channels.h"

/* {"status": status, "reason": reason or null}: "fitting",
 * "not_applicable" or "failed". A new object (NULL: out of memory). */
json_t *acq_channel_doc_status(const char *status, const char *reason);

/* {"status": "ready", "reason": null, "model", "variable", "baseline",
 * "params" and "std_errors" (the baseline channel's), "coefficients":
 * [{"covariate", "process", "gamma", "std_error", "z"}],
 * "log_likelihood", "log_likelihood_without_covariates",
 * "params_without_covariates", "lr_test": {"statistic", "df", "p_value"},
 * "pooled": [{"channel", "customers", "into", "because"}], "min_customers",
 * "n_customers", "n_patterns", "iterations", "seconds"} for fit f, whose
 * channel k is named names[k]. A new object (NULL: out of memory). */
json_t *acq_channel_doc_model(const acq_channel_fit *f, const char *const *names);

/* Channel k's "channel_params": {"source", "reason", "params",
 * "std_errors"}: its own (acq_param_source_label) when f is not NULL, k is
 * one of its channels and value_ok (its parameters value a new customer),
 * else {"source": "pooled_model", "reason": why, null, null}. */
json_t *acq_channel_doc_params(const acq_channel_fit *f, size_t k, bool value_ok,
                               const char *why);

#endif

/* The JSON documents of the acquisition and cohort answers (GET
 * /v1/acquisition, GET /v1/cohorts, `ltvd acquisition`, `ltvd cohorts`;
 * docs/acquisition.md "Answers", openapi.yaml AcquisitionReport and
 * CohortReport): the service and the CLI aggregate their customers with
 * summary/cohorts.h and the model with model/acquisition.h, and print the
 * same document from here. Every number is finite; what is undefined is
 * null. */
#ifndef LTVD_HTTP_ACQ_DOC_H
#define LTVD_HTTP_ACQ_DOC_H

#include <jansson.h>
#include <stdint.h>

#include "model/acquisition.h"
#include "summary/cohorts.h"

typedef struct acq_doc_in {
    const acq_model *model; /* NULL: no usable model (values null) */
    const acq_value *value; /* model's value (acq_value_compute), with model */
    /* Per channel (cc->n_channels of them), a value of its own from a model
     * that lets channels differ (covariates), or NULL: every channel has
     * `value` (the model without covariates says they do not differ). */
    const acq_value *const *channel_values;
    /* The per-channel model (http/acq_channel_doc.h), borrowed: the
     * top-level "channel_model" (NULL: null), and each channel's
     * "channel_params" (NULL, or NULL entries: {"source": "pooled_model"}
     * with reason params_why). */
    json_t *channel_model;
    json_t *const *channel_params;
    const char *params_why;
    json_t *provenance;       /* borrowed: the "model" member (name, version...) */
    const char *const *names; /* channel names, cc->n_channels of them */
    const cohort_channels *cc;
    double target_ratio; /* R > 0 */
    int64_t as_of_day;
    /* Called on every group object made, with k the channel index
     * (cc->n_channels: the customers without one; ACQ_DOC_OVERALL:
     * "overall") and the group's figures, to add members (GET
     * /v1/acquisition's subscribers, http/acq_subs_doc.h); NULL: none. */
    void (*group_hook)(json_t *g, size_t k, const acq_figures *f, void *arg);
    void *hook_arg;
} acq_doc_in;

#define ACQ_DOC_OVERALL SIZE_MAX

/* The "model" member: {"name", "version" (null when version < 0),
 * "fitted_at" (null when not finite), "params" and "std_errors" by the
 * model's parameter names, "spend_model": {"name": "gg", "params",
 * "std_errors"} (null without spend)} (std_errors null when unknown). A new
 * object, or NULL when out of memory. */
json_t *acq_doc_provenance(const acq_model *a, long long version, double fitted_at,
                           bool with_spend);

/* Most channels an acquisition document lists: the ones with most
 * customers; every customer is in "overall" whatever is listed (a tenant of
 * 65,000 channel names made a 40 MB answer in over a second). */
#define ACQ_DOC_CHANNELS_MAX 200

/* The acquisition document: {"as_of", "months", "target_ratio", "margin",
 * "discount_rate", "model", "interval", "new_customer_repeat_ltv",
 * "channel_model", "overall": GROUP, "channels": [GROUP + "channel" +
 * "channel_params"], "channels_total", "channels_listed"}: the channels with
 * customers or spend, at most ACQ_DOC_CHANNELS_MAX of them (most customers
 * first chosen, listed in channel-index order), then the customers without
 * a channel; value->ok false gives
 * null values. NULL when out of memory (*why then says so, static text). */
json_t *acq_doc_acquisition(const acq_doc_in *in, const char **why);

/* The cohorts document: {"as_of", "by": "month", "model", "cohorts": [...]}
 * (provenance borrowed, may be NULL: "model": null). NULL when out of
 * memory. */
json_t *acq_doc_cohorts(const cohort_set *s, json_t *provenance, int64_t as_of_day);

#endif

/* The inputs of `ltvd acquisition` and `ltvd cohorts` besides the
 * transactions: the customers as cohort_customer records (from the
 * transactions), their channels (an attributes CSV
 * customer_id,acquisition_channel,campaign) and the spend (a CSV
 * channel,month,spend,leads). */
#ifndef LTVD_CLI_ACQ_FILES_H
#define LTVD_CLI_ACQ_FILES_H

#include <stddef.h>

#include "summary/cohorts.h"
#include "summary/summary.h"

/* The channel names seen so far (owned). */
typedef struct acq_names {
    char **v;
    size_t n;
} acq_names;

/* Index of name in *names, added when new. Returns the index, or -1 when out
 * of memory. */
long acq_names_index(acq_names *names, const char *name);
void acq_names_free(acq_names *names);

/* One record per customer of txns (index = txns' customer index), channel
 * COHORT_NO_CHANNEL and predicted_ltv NaN; sum is their summary as of the
 * last day (summary_from_transactions: one row per customer, in the same
 * order), for the distinct days. Returns a malloc'ed array, or NULL when out
 * of memory or sum is not that. */
cohort_customer *acq_customers_from_txns(const txn_set *txns, const summary_set *sum);

/* Reads the attributes CSV: header with customer_id and
 * acquisition_channel (campaign and other columns ignored), each customer
 * once, channels 1..128 bytes (an empty channel: none). Sets c[i].channel
 * for the customers of txns (others are ignored). Returns 0, or -1 with err
 * "FILE:LINE: reason". */
int acq_read_attributes(const char *path, const txn_set *txns, cohort_customer *c,
                        acq_names *names, char err[SUMMARY_ERR_MAX]);

/* Reads the spend CSV: header channel,month,spend and optional leads; month
 * YYYY-MM, spend a number >= 0, leads empty or a number >= 0; each (channel,
 * month) once. Channels new to *names are added. *out is malloc'ed (caller
 * frees). Returns 0, or -1 with err. */
int acq_read_spend(const char *path, acq_names *names, cohort_spend **out, size_t *n_out,
                   char err[SUMMARY_ERR_MAX]);

#endif

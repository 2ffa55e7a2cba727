/* From transactions to per-customer summaries (what lifetimes calls
 * summary_data_from_transaction_data and calibration_and_holdout_data), the
 * weighted pattern histograms the fitters work on, and the CSV files that
 * carry both. Days are UTC calendar days counted from 1970-01-01. */
#ifndef LTVD_SUMMARY_SUMMARY_H
#define LTVD_SUMMARY_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "model/btyd.h"
#include "model/gg.h"

/* Longest error message the readers produce. */
#define SUMMARY_ERR_MAX 512

/* One transaction. `customer` indexes txn_set.customer_ids. */
typedef struct txn {
    size_t customer;
    int64_t day;      /* UTC day number of occurred_at */
    double amount;
} txn;

/* Transactions as read from a file; owns every string. */
typedef struct txn_set {
    txn *items;
    size_t n;
    char **customer_ids;   /* distinct ids, in order of first appearance */
    size_t n_customers;
    int64_t last_day;      /* latest transaction day (INT64_MIN if none) */
} txn_set;

/* One customer's summary, in the chosen period. For calibration/holdout
 * summaries the holdout fields are set too (0 otherwise). */
typedef struct cust_summary {
    const char *id;        /* borrowed from the txn_set or summary_set */
    double frequency;      /* x */
    double recency;        /* t_x */
    double T;
    double monetary_value; /* mean repeat-purchase value, 0 when x = 0 */
    double weight;         /* customers with this row (1 unless a weights column) */
    double frequency_holdout;
    double monetary_value_holdout;
    double duration_holdout;
} cust_summary;

typedef struct summary_set {
    cust_summary *rows;
    size_t n;
    char **owned_ids;      /* ids owned by this set (from a summary file), or NULL */
    int has_monetary;      /* a monetary_value / zbar column was present */
} summary_set;

/* Reads a transactions CSV (header customer_id,occurred_at,amount in any
 * order, extra columns ignored; occurred_at YYYY-MM-DD or RFC 3339; amount a
 * decimal). Handles CRLF, a UTF-8 BOM and quoted fields. On error returns -1
 * and writes "FILE:LINE: reason" to err. Returns 0 on success. */
int txn_read_csv(const char *path, txn_set *out, char err[SUMMARY_ERR_MAX]);
void txn_set_free(txn_set *s);

/* Summaries as of as_of_day (inclusive: transactions on later days are
 * ignored), durations divided by period_days (1 = day, 7 = week). Customers
 * whose first purchase is after as_of_day are left out. Returns 0 or -1 (out
 * of memory, or period_days <= 0). */
int summary_from_transactions(const txn_set *txns, int64_t as_of_day, double period_days,
                              summary_set *out);

/* Calibration summary up to cal_end_day plus the holdout part
 * (cal_end_day, obs_end_day]: repeat purchases (distinct days), mean value,
 * and duration (obs_end_day - cal_end_day) in periods. Only customers whose
 * first purchase is on or before cal_end_day. Returns 0 or -1. */
int summary_calibration_holdout(const txn_set *txns, int64_t cal_end_day,
                                int64_t obs_end_day, double period_days,
                                summary_set *out);

/* Reads a summary CSV as lifetimes writes it: customer_id or ID,
 * frequency or x, recency or t_x, T or periods (BG/BB), optional
 * monetary_value or zbar, optional weights. Returns 0, or -1 with err set. */
int summary_read_csv(const char *path, summary_set *out, char err[SUMMARY_ERR_MAX]);
void summary_set_free(summary_set *s);

/* Collapses summaries to distinct (x, t_x, T) with summed weights.
 * *out is malloc'ed (caller frees). Returns 0 or -1. */
int summary_patterns(const summary_set *s, btyd_pattern **out, size_t *n_out);

/* Distinct (x, m) of the customers with x >= 1, for Gamma-Gamma. */
int summary_gg_patterns(const summary_set *s, gg_pattern **out, size_t *n_out);

/* Parses YYYY-MM-DD or RFC 3339 into a UTC day number. Returns 0 or -1. */
int summary_parse_day(const char *s, int64_t *day);

#endif

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
    int64_t day; /* UTC day number of occurred_at */
    double amount;
} txn;

/* Transactions as read from a file; owns every string. */
typedef struct txn_set {
    txn *items;
    size_t n;
    char **customer_ids; /* distinct ids, in order of first appearance */
    size_t n_customers;
    int64_t last_day; /* latest transaction day (INT64_MIN if none) */
} txn_set;

/* One customer's summary, in the chosen period. For calibration/holdout
 * summaries the holdout fields are set too (0 otherwise). */
typedef struct cust_summary {
    const char *id;   /* borrowed from the txn_set or summary_set */
    double frequency; /* x */
    double recency;   /* t_x */
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
    char *owned_text;    /* a summary file's text, which the ids point into, or NULL */
    char *owned_row_ids; /* "1", "2", ... one after another, for a file without ids */
    int has_monetary;    /* a monetary_value / zbar column was present */
} summary_set;

/* Reads a transactions CSV (header customer_id,occurred_at,amount in any
 * order, extra columns ignored; occurred_at YYYY-MM-DD or RFC 3339; amount a
 * decimal). Handles CRLF, a UTF-8 BOM and quoted fields. On error returns -1
 * and writes "FILE:LINE: reason" to err. Returns 0 on success.
 *
 * Policies (the rows are what lifetimes would get, or the file is refused):
 *  - customer_id: any non-empty string, compared byte for byte (no trimming,
 *    "007" and "7" differ). Every row must have as many fields as the header.
 *  - occurred_at: the day is the UTC calendar day of the instant, so
 *    2024-01-01T23:30:00-02:00 is day 2024-01-02. A date-time without an
 *    offset ("2014-01-01 00:00:00", as pandas writes) is taken as written:
 *    its own calendar date, which is what lifetimes does with naive times.
 *  - amount: [+-]digits[.digits][e[+-]digits]; NaN, Inf, hex, blanks and
 *    trailing text are refused. 0 is a purchase (a free order is an order).
 *  - negative amounts (refunds) are refused with "negative amount (refunds
 *    are not supported: net them into the purchase)". Counting a refund row
 *    as a purchase, as lifetimes does, inflates frequency; netting it into a
 *    day needs the purchase it belongs to, which only the source system
 *    knows; and Gamma-Gamma needs positive spend. Net refunds upstream.
 *  - at least one row; an empty file or a header alone is "no transactions".
 * out owns everything; free it with txn_set_free (also safe after an error,
 * when *out is left empty). */
int txn_read_csv(const char *path, txn_set *out, char err[SUMMARY_ERR_MAX]);
void txn_set_free(txn_set *s);

/* Summaries as of as_of_day (inclusive: transactions on later days are
 * ignored), durations divided by period_days (1 = day, 7 = week). Customers
 * whose first purchase is after as_of_day are left out. Returns 0 or -1 (out
 * of memory, or period_days <= 0). As lifetimes' freq='D': frequency =
 * distinct purchase days - 1, recency = last - first day, T = as_of - first
 * day, monetary_value = mean over the repeat days of each day's summed amount.
 * Rows come in the order of the customers' first appearance in the file; ids
 * are borrowed from txns, which must outlive *out (free with summary_set_free).
 */
int summary_from_transactions(const txn_set *txns, int64_t as_of_day, double period_days,
                              summary_set *out);

/* Calibration summary up to cal_end_day plus the holdout part
 * (cal_end_day, obs_end_day]: repeat purchases (distinct days), mean value,
 * and duration (obs_end_day - cal_end_day) in periods. Only customers whose
 * first purchase is on or before cal_end_day. Returns 0 or -1 (also when
 * obs_end_day < cal_end_day). Same row order and ownership as above. */
int summary_calibration_holdout(const txn_set *txns, int64_t cal_end_day,
                                int64_t obs_end_day, double period_days,
                                summary_set *out);

/* Reads a summary CSV as lifetimes writes it: customer_id or ID,
 * frequency or x, recency or t_x, T or periods (BG/BB), optional
 * monetary_value or zbar, optional weights. Returns 0, or -1 with err set
 * to "FILE:LINE: reason". Values must be finite and >= 0, frequency a whole
 * number, recency <= T; both names of one column at once is an error.
 * Without an id column the ids are the 1-based row numbers ("1", "2", ...).
 * weight is 1 without a weights column. out owns its ids (owned_text,
 * owned_row_ids: no allocation per row); free with summary_set_free (safe
 * after an error too). The file is read whole (csv_open): its size in
 * memory, kept for the ids. Numbers equal strtod's. */
int summary_read_csv(const char *path, summary_set *out, char err[SUMMARY_ERR_MAX]);
void summary_set_free(summary_set *s);

/* Reads a summary CSV as summary_read_csv does (the same checks and errors)
 * into what summary_patterns would make of it, keeping no per-customer row,
 * id or text: for fitting a purchase model, at a third of the memory. On
 * success *out (malloc'ed, caller frees) holds *n_out >= 1 patterns;
 * returns 0, or -1 with err set and *out NULL. */
int summary_read_patterns(const char *path, btyd_pattern **out, size_t *n_out,
                          char err[SUMMARY_ERR_MAX]);

/* Collapses summaries to distinct (x, t_x, T) with summed weights, sorted by
 * x, then t_x, then T (exact comparison). *out is malloc'ed (caller frees;
 * NULL when there are no rows). Returns 0 or -1 (out of memory). */
int summary_patterns(const summary_set *s, btyd_pattern **out, size_t *n_out);

/* Distinct (x, m) of the customers with x >= 1, for Gamma-Gamma, sorted by
 * x then m, weights summed. Rows with m = 0 are kept (gg_fit leaves them out).
 * Returns 0, or -1 (out of memory, or s has no monetary value). */
int summary_gg_patterns(const summary_set *s, gg_pattern **out, size_t *n_out);

/* Parses YYYY-MM-DD or RFC 3339 into a UTC day number (see txn_read_csv for
 * date-times without an offset); a leap second :60 is on its own minute's
 * day. Returns 0 or -1. */
int summary_parse_day(const char *s, int64_t *day);

/* The proleptic Gregorian calendar in UTC, shared by the readers and the
 * API's validator: days since 1970-01-01 of a date, the length of month m
 * (1..12) of year y, and the day of a time in seconds since 1970 (rounded
 * down, so before 1970 too). */
int64_t summary_days_from_civil(int64_t y, int m, int d);
int summary_days_in_month(int64_t y, int m);
int64_t summary_day_of(int64_t unix_seconds);

/* Writes day as YYYY-MM-DD (11 bytes with the NUL). Returns 0, or -1 when the
 * year is outside 0000..9999. */
int summary_format_day(int64_t day, char out[11]);

/* Parses a whole decimal number [+-]digits[.digits][e[+-]digits] (no blanks,
 * no NaN, Inf or hex, finite result) as the readers do. Returns 0 or -1. */
int summary_parse_number(const char *s, double *out);

#endif

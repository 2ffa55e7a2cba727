/* Cohorts by first-purchase month and customers by acquisition channel:
 * the aggregation behind GET /v1/cohorts, GET /v1/acquisition, `ltvd
 * cohorts` and `ltvd acquisition` (docs/acquisition.md). The CLI and the
 * service both describe each customer by a cohort_customer and call the
 * same functions. Pure: no I/O, no globals; one pass over the customers.
 *
 * Months are counted as y * 12 + (m - 1) (0 = 0000-01), from UTC days. */
#ifndef LTVD_SUMMARY_COHORTS_H
#define LTVD_SUMMARY_COHORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A customer without an acquisition channel. */
#define COHORT_NO_CHANNEL UINT32_MAX
/* Later months the retention matrix covers: the bits of month_bits. */
#define COHORT_MONTH_BITS 64
/* Most (channel, month) pairs with customers cohort_channels accepts, and
 * most months spanned by first purchases (memory bounds: 32 bytes a pair,
 * 560 a month). */
#define COHORT_MAX_CELLS (1u << 22)
#define COHORT_MAX_MONTHS 12000

/* One customer, as the cache or a transactions file knows them. */
typedef struct cohort_customer {
    int64_t first_day;    /* UTC day of the first purchase */
    uint32_t n_days;      /* distinct purchase days (> 1: a repeat customer) */
    uint32_t channel;     /* index into the channel names, or COHORT_NO_CHANNEL */
    double first_amount;  /* spent on the first day */
    double repeat_amount; /* spent on the later days */
    uint64_t month_bits;  /* bit k: a purchase in the month of first_day + k */
    double predicted_ltv; /* the customer's predicted LTV; NaN when unknown */
} cohort_customer;

/* The month number of a UTC day. */
int32_t cohort_month_of_day(int64_t day);
/* Writes month number mo as "YYYY-MM" (8 bytes with the NUL); -1 when the
 * year is outside 0000..9999. */
int cohort_format_month(int32_t mo, char out[8]);
/* Parses "YYYY-MM" (month 01..12) into a month number; 0 or -1. */
int cohort_parse_month(const char *s, int32_t *mo);

/* One cohort: the customers whose first purchase is in `month`. */
typedef struct cohort_row {
    int32_t month;
    size_t customers;
    size_t repeaters;   /* n_days > 1 */
    double revenue;     /* first + repeat amounts to date */
    double predicted;   /* sum of the known predicted LTVs */
    size_t n_predicted; /* customers with a known predicted LTV */
    unsigned n_later;   /* months 0..n_later-1 after `month` up to as_of (<= 64) */
    size_t active[COHORT_MONTH_BITS]; /* active[k]: customers buying in month + k */
} cohort_row;

typedef struct cohort_set {
    cohort_row *rows; /* by month, ascending; only months with customers */
    size_t n;
} cohort_set;

/* Groups the n customers by first-purchase month; as_of_month bounds the
 * retention columns (a cohort of month c has min(64, as_of_month - c + 1)).
 * Returns 0, or -1 when out of memory or past COHORT_MAX_MONTHS months
 * spanned (*out is then empty). Free with cohort_set_free. Cost O(n +
 * months spanned). */
int cohort_build(const cohort_customer *c, size_t n, int32_t as_of_month,
                 cohort_set *out);
void cohort_set_free(cohort_set *s);

/* Acquisition spend of one channel in one month. */
typedef struct cohort_spend {
    uint32_t channel; /* index into the channel names */
    int32_t month;
    double spend;
    bool has_leads;
    double leads;
} cohort_spend;

/* Customers of one month of one channel. */
typedef struct cohort_month_count {
    int32_t month;
    size_t customers;
} cohort_month_count;

/* One channel (or every customer, in cohort_channels' *all). */
typedef struct cohort_channel {
    size_t customers;
    double first_sum, first_sumsq; /* first-day spend: sum and sum of squares */
    double revenue;                /* what they spent to date */
    cohort_month_count *by_month;  /* months with customers, ascending */
    size_t n_months;
    bool has_spend;
    double spend;           /* sum of the channel's spend rows */
    size_t spend_customers; /* customers acquired in months with a spend row */
    bool has_leads;
    double leads;          /* sum of the rows' leads */
    size_t lead_customers; /* customers acquired in months with leads */
} cohort_channel;

typedef struct cohort_channels {
    cohort_channel *ch; /* n_channels entries, then one for COHORT_NO_CHANNEL */
    size_t n_channels;
    cohort_channel all; /* every customer and every spend row */
} cohort_channels;

/* Aggregates the customers by channel (channel < n_channels, or
 * COHORT_NO_CHANNEL; other values are counted as COHORT_NO_CHANNEL) with
 * the spend rows (channel < n_channels, at most one row per (channel,
 * month): the callers refuse duplicates; rows of other channels are
 * ignored). Returns 0, or -1 when out of memory or when
 * past COHORT_MAX_CELLS (channel, month) pairs with customers or
 * COHORT_MAX_MONTHS months spanned. Free with
 * cohort_channels_free (safe after an error). */
int cohort_channels_build(const cohort_customer *c, size_t n, size_t n_channels,
                          const cohort_spend *sp, size_t n_spend, cohort_channels *out);
void cohort_channels_free(cohort_channels *s);

/* Both aggregates above, built one customer at a time, so that a pass over
 * a million customers need not keep them (the service's pass; cohort_build
 * and cohort_channels_build are this over an array). The months grow as
 * customers arrive; the channels' months are a table of the (channel,
 * month) pairs that have customers, so any number of channels costs what
 * its customers bring, not channels times months. */
typedef struct cohort_acc cohort_acc;

/* An accumulator for n_channels channels (customers of another channel
 * count as COHORT_NO_CHANNEL); as_of_month as in cohort_build. NULL when
 * out of memory. */
cohort_acc *cohort_acc_new(size_t n_channels, int32_t as_of_month);
/* Adds one customer: 0, or -1 when out of memory or past COHORT_MAX_CELLS
 * pairs or COHORT_MAX_MONTHS months (the accumulator is then failed: every
 * later call fails too). Cost O(1), amortized over the growths. */
int cohort_acc_add(cohort_acc *a, const cohort_customer *c);
/* The cohorts so far into *out (NULL: not wanted) and the channels with
 * the spend rows (as cohort_channels_build) into *cc (NULL: not wanted).
 * 0, or -1 (out of memory, or the accumulator failed; both are then
 * empty). Free them as their own functions say; a stays usable. */
int cohort_acc_finish(const cohort_acc *a, const cohort_spend *sp, size_t n_spend,
                      cohort_set *out, cohort_channels *cc);
void cohort_acc_free(cohort_acc *a);

#endif

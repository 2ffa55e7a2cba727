/* Internal to src/store: the SQL of a customer's purchase months over
 * customer_days, for the cache's month_bits, and its decoding.
 *
 * One pass, no sort, no subquery: with m = year * 12 + month - 1 the month
 * of a day, four aggregates keep bit (m mod 64) of the purchase months
 * whose 64-month epoch (m / 64) is k modulo 4 (k = 0..3). The months
 * wanted, month(first) + 0 .. 63, lie in the first day's epoch e0 and the
 * next; another epoch of the same class is at least 193 months after the
 * first, so when the customer's days span at most 192 months the classes
 * of e0 and e0 + 1 hold exactly the months wanted. A longer span (16
 * years: rare) is read exactly by store_month_bits_exact, on the same
 * connection and snapshot. (A correlated subquery in the aggregate for
 * those made PostgreSQL 15 plan the whole aggregate as a sorted index scan
 * with JIT: 2.5 times slower at 1M customers.) */
#ifndef LTVD_STORE_MONTHS_SQL_H
#define LTVD_STORE_MONTHS_SQL_H

#include <stdint.h>

#include "store/db.h"

/* m of a date expression x */
#define STORE_SQL_MONTH(x)                                                               \
    "(date_part('year', " x ")::integer * 12 + date_part('month', " x ")::integer - 1)"

/* A FROM item: customer_days with its rows' m (computed once a row),
 * under customer_days's own name. */
#define STORE_SQL_DAYS_M                                                                 \
    "(SELECT *, " STORE_SQL_MONTH("day") " AS m FROM customer_days) customer_days"

#define STORE_SQL_CLASS(k)                                                               \
    "coalesce(bit_or(1::bigint << (m % 64)) FILTER (WHERE m / 64 % 4 = " k "), 0)"

/* The four class columns over STORE_SQL_DAYS_M grouped by customer. */
#define STORE_SQL_MONTHS                                                                 \
    STORE_SQL_CLASS("0")                                                                 \
    ", " STORE_SQL_CLASS("1") ", " STORE_SQL_CLASS("2") ", " STORE_SQL_CLASS("3")

/* Number of columns STORE_SQL_MONTHS gives. */
#define STORE_MONTHS_COLS 4

/* Longest span in months (last day's month - first day's) the classes
 * read exactly. */
#define STORE_MONTHS_SPAN_MAX 192

/* month_bits from the texts of the four class columns and the customer's
 * first and last day (UTC day numbers): 0 and *exact_needed true when the
 * span is past STORE_MONTHS_SPAN_MAX. */
uint64_t store_month_bits(const char *const cols[STORE_MONTHS_COLS], int64_t first_day,
                          int64_t last_day, bool *exact_needed);

/* month_bits of tenant's customer from its days up to as_of_day
 * (STORE_AS_OF_NOW: all) within 64 months of first_day, read on db (in
 * the caller's transaction, if any). Returns 0 or -1 (db->err). */
int store_month_bits_exact(store_db *db, const char *tenant, const char *customer,
                           int64_t first_day, int64_t as_of_day, uint64_t *out);

#endif

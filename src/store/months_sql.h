/* Internal to src/store: the SQL of a customer's purchase months over
 * customer_days, for the cache's month_bits (migration 012 explains the
 * encoding), and its decoding. */
#ifndef LTVD_STORE_MONTHS_SQL_H
#define LTVD_STORE_MONTHS_SQL_H

#include <stdint.h>

/* month index (year * 12 + month - 1) of a date expression x */
#define STORE_SQL_MONTH(x)                                                               \
    "(extract(year FROM " x ")::integer * 12 + extract(month FROM " x ")::integer - 1)"

/* An aggregate over customer_days grouped by customer_id (tenant_ref: the
 * tenant's column or parameter; cut: more conditions on o.day, or ""):
 * bit (m mod 64) for each purchase month m < month(first) + 64. */
#define STORE_SQL_MONTHS(tenant_ref, cut)                                                    \
    "CASE WHEN max(" STORE_SQL_MONTH("day") ") - min(" STORE_SQL_MONTH(                      \
        "day") ") < 64"                                                                      \
               " THEN bit_or(1::bigint << (" STORE_SQL_MONTH(                                \
                   "day") " % 64))"                                                          \
                          " ELSE (SELECT bit_or(1::bigint << (" STORE_SQL_MONTH(             \
                              "o.day") " % 64))"                                             \
                                       " FROM customer_days o WHERE o.tenant_id "            \
                                       "= " tenant_ref                                       \
                                       " AND o.customer_id = customer_days.customer_id"      \
                                       " AND " STORE_SQL_MONTH(                              \
                                           "o.day") " < min(" STORE_SQL_MONTH("customer"     \
                                                                              "_days."       \
                                                                              "day") ")"     \
                                                                                     " "     \
                                                                                     "+"     \
                                                                                     " "     \
                                                                                     "6"     \
                                                                                     "4" cut \
                                                                                     ")"     \
                                                                                     " "     \
                                                                                     "E"     \
                                                                                     "N"     \
                                                                                     "D"

/* month_bits from the text of such a column (or of the customers view's
 * purchase_months_mod64) and the customer's first day (UTC day number). */
uint64_t store_month_bits(const char *mod64_text, int64_t first_day);

#endif

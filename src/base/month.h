/* Calendar months of UTC day numbers (days since 1970-01-01, proleptic
 * Gregorian), for the purchase-month bits of a customer's summary. A leaf. */
#ifndef LTVD_BASE_MONTH_H
#define LTVD_BASE_MONTH_H

#include <stdint.h>

/* The month of `day` counted from January of year 0: year * 12 + month - 1
 * (1970-01 is 23640). Exact for every int32 day. */
int64_t base_month_of_day(int64_t day);

/* The first day (day number) of month `month` (base_month_of_day's count). */
int64_t base_month_first_day(int64_t month);

/* Rotates the 64 bits v right by r (r taken modulo 64): bit (r + k) mod 64
 * of v becomes bit k. */
uint64_t base_rotr64(uint64_t v, unsigned r);

#endif

/* Calendar months of UTC day numbers (see month.h): Howard Hinnant's
 * civil-from-days and days-from-civil algorithms. */
#include "base/month.h"

int64_t base_month_of_day(int64_t day)
{
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;      /* [0, 11], from March */
    int64_t m = mp < 10 ? mp + 3 : mp - 9; /* [1, 12] */
    int64_t y = yoe + era * 400 + (m <= 2);
    return y * 12 + m - 1;
}

int64_t base_month_first_day(int64_t month)
{
    int64_t y = (month >= 0 ? month : month - 11) / 12;
    int64_t m = month - y * 12 + 1; /* [1, 12] */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint64_t base_rotr64(uint64_t v, unsigned r)
{
    r &= 63;
    return r == 0 ? v : v >> r | v << (64 - r);
}

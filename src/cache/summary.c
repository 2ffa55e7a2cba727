/* A customer's summary kept up to date by deltas: what one committed batch
 * added to one of the customer's days (see cache_summary_add_day). */
#include "cache/cache.h"

#include "base/month.h"

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

uint64_t cache_month_bit(int32_t first_day, int32_t day)
{
    int64_t k = base_month_of_day(day) - base_month_of_day(first_day);
    return k < 0 || k >= 64 ? 0 : (uint64_t)1 << k;
}

/* The month bits of a summary whose first day moves back from `from` to
 * `to`: every month's offset grows by the months between them. */
static uint64_t shift_months(uint64_t bits, int32_t from, int32_t to)
{
    int64_t k = base_month_of_day(from) - base_month_of_day(to);
    return k >= 64 ? 0 : bits << k;
}

/* The first day's total is kept so that a purchase dated before it (a late
 * upload) can move it into the repeat total. Each case below commutes with
 * the others: the first day is the minimum of the days seen, its total the
 * sum of the deltas on that day, and every other delta lands in the repeat
 * total, whichever came first; the month bits are the months of the days
 * seen, counted from the first day's month, whatever their order. */
void cache_summary_add_day(cache_summary *s, bool *exists, int32_t day, bool new_day,
                           int64_t units)
{
    if (units < 0)
        units = 0;
    if (!*exists) {
        *s = (cache_summary){day, day, new_day ? 1 : 0, 0, units, 1};
        *exists = true;
        return;
    }
    if (new_day && s->n_days < UINT32_MAX)
        s->n_days++;
    if (day < s->first_day) {
        s->repeat_units = add_sat(s->repeat_units, s->first_units);
        s->month_bits = shift_months(s->month_bits, s->first_day, day);
        s->first_day = day;
        s->first_units = units;
    } else if (day == s->first_day) {
        s->first_units = add_sat(s->first_units, units);
    } else {
        s->repeat_units = add_sat(s->repeat_units, units);
    }
    s->month_bits |= cache_month_bit(s->first_day, day);
    if (day > s->last_day)
        s->last_day = day;
    /* Only when the cache missed a day another writer stored (the catch-up,
     * app/sync.c, replaces such a summary): stay a valid summary meanwhile. */
    if ((int64_t)s->n_days - 1 > (int64_t)s->last_day - s->first_day)
        s->n_days = (uint32_t)((int64_t)s->last_day - s->first_day + 1);
}

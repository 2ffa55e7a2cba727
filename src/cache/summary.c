/* A customer's summary kept up to date by deltas: what one committed batch
 * added to one of the customer's days (see cache_summary_add_day). */
#include "cache/cache.h"

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The first day's total is kept so that a purchase dated before it (a late
 * upload) can move it into the repeat total. Each case below commutes with
 * the others: the first day is the minimum of the days seen, its total the
 * sum of the deltas on that day, and every other delta lands in the repeat
 * total, whichever came first. */
void cache_summary_add_day(cache_summary *s, bool *exists, int32_t day, bool new_day,
                           int64_t units)
{
    if (units < 0)
        units = 0;
    if (!*exists) {
        *s = (cache_summary){day, day, new_day ? 1 : 0, 0, units};
        *exists = true;
        return;
    }
    if (new_day && s->n_days < UINT32_MAX)
        s->n_days++;
    if (day < s->first_day) {
        s->repeat_units = add_sat(s->repeat_units, s->first_units);
        s->first_day = day;
        s->first_units = units;
    } else if (day == s->first_day) {
        s->first_units = add_sat(s->first_units, units);
    } else {
        s->repeat_units = add_sat(s->repeat_units, units);
    }
    if (day > s->last_day)
        s->last_day = day;
    /* Only when the cache missed a day another writer stored (the catch-up,
     * app/sync.c, replaces such a summary): stay a valid summary meanwhile. */
    if ((int64_t)s->n_days - 1 > (int64_t)s->last_day - s->first_day)
        s->n_days = (uint32_t)((int64_t)s->last_day - s->first_day + 1);
}

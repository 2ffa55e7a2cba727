/* The never-waiting semaphore (base/slots.h): a compare-and-swap on the
 * count, so it never goes past the limit, even for a moment. */
#include "base/slots.h"

bool base_slot_take(atomic_long *used, long limit)
{
    long n = atomic_load(used);
    while (n < limit)
        if (atomic_compare_exchange_weak(used, &n, n + 1))
            return true;
    return false;
}

void base_slot_give(atomic_long *used)
{
    atomic_fetch_sub(used, 1);
}

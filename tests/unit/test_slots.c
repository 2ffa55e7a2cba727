/* The never-waiting semaphore (base/slots.h): up to the limit, never past
 * it, even with threads racing for the last slot. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/slots.h"

START_TEST(test_slots_limit)
{
    atomic_long used;
    atomic_init(&used, 0);
    ck_assert(base_slot_take(&used, 2));
    ck_assert(base_slot_take(&used, 2));
    ck_assert(!base_slot_take(&used, 2));
    ck_assert_int_eq(atomic_load(&used), 2);
    base_slot_give(&used);
    ck_assert(base_slot_take(&used, 2));
    ck_assert(!base_slot_take(&used, 0));
}
END_TEST

static atomic_long shared, most;

static void *racer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        if (!base_slot_take(&shared, 3))
            continue;
        long now = atomic_load(&shared);
        for (long m = atomic_load(&most);
             now > m && !atomic_compare_exchange_weak(&most, &m, now);)
            ;
        base_slot_give(&shared);
    }
    return NULL;
}

START_TEST(test_slots_race)
{
    atomic_init(&shared, 0);
    atomic_init(&most, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, racer, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_le(atomic_load(&most), 3);
    ck_assert_int_eq(atomic_load(&shared), 0);
}
END_TEST

Suite *suite_slots(void)
{
    Suite *s = suite_create("slots");
    TCase *tc = tcase_create("slots");
    tcase_add_test(tc, test_slots_limit);
    tcase_add_test(tc, test_slots_race);
    suite_add_tcase(s, tc);
    return s;
}

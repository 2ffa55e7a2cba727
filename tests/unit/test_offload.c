/* The offload pool (http/offload.h): jobs run on its threads, at most
 * n_threads at once; a full queue refuses at once; stop runs what is queued
 * and waits for it. (That the HTTP threads never wait for an offloaded
 * handler is shown end to end by suite faults_hang, row_lock, with one HTTP
 * thread.) */
#include <check.h>
#include <stdatomic.h>
#include <unistd.h>

#include "http/offload.h"

static atomic_int done, running, most;
static atomic_bool hold; /* jobs spin while set */

static void job(void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&running, 1) + 1;
    for (int m = atomic_load(&most);
         now > m && !atomic_compare_exchange_weak(&most, &m, now);)
        ;
    while (atomic_load(&hold))
        usleep(1000);
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&done, 1);
}

static void reset(void)
{
    atomic_store(&done, 0);
    atomic_store(&running, 0);
    atomic_store(&most, 0);
    atomic_store(&hold, false);
}

START_TEST(test_offload_runs_all)
{
    reset();
    offload *p = offload_start(3, 100);
    ck_assert_ptr_nonnull(p);
    atomic_store(&hold, true);
    for (int i = 0; i < 50; i++)
        ck_assert(offload_submit(p, job, NULL));
    for (int i = 0; i < 500 && atomic_load(&running) < 3; i++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&running), 3); /* n_threads at once, no more */
    ck_assert_uint_eq(offload_busy(p), 50);
    atomic_store(&hold, false);
    offload_stop(p); /* drains the queue */
    ck_assert_int_eq(atomic_load(&done), 50);
    ck_assert_int_le(atomic_load(&most), 3);
}
END_TEST

START_TEST(test_offload_full_queue_refuses)
{
    reset();
    offload *p = offload_start(1, 2);
    ck_assert_ptr_nonnull(p);
    atomic_store(&hold, true);
    ck_assert(offload_submit(p, job, NULL)); /* taken by the thread */
    for (int i = 0; i < 500 && atomic_load(&running) < 1; i++)
        usleep(1000);
    ck_assert(offload_submit(p, job, NULL)); /* queued */
    ck_assert(offload_submit(p, job, NULL)); /* queued: the queue is full */
    ck_assert(!offload_submit(p, job, NULL));
    atomic_store(&hold, false);
    offload_stop(p);
    ck_assert_int_eq(atomic_load(&done), 3);
}
END_TEST

START_TEST(test_offload_drained_refuses)
{
    reset();
    offload *p = offload_start(2, 8);
    ck_assert_ptr_nonnull(p);
    ck_assert(offload_submit(p, job, NULL));
    offload_drain(p);
    ck_assert_int_eq(atomic_load(&done), 1);
    ck_assert(!offload_submit(p, job, NULL)); /* refused, not lost in a freed ring */
    offload_drain(p);                         /* a second drain is harmless */
    offload_free(p);
    ck_assert_int_eq(atomic_load(&done), 1);
}
END_TEST

START_TEST(test_offload_bad_arguments)
{
    ck_assert_ptr_null(offload_start(0, 1));
    ck_assert_ptr_null(offload_start(1, 0));
    offload_stop(NULL);
}
END_TEST

Suite *suite_offload(void)
{
    Suite *s = suite_create("offload");
    TCase *tc = tcase_create("offload");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_offload_runs_all);
    tcase_add_test(tc, test_offload_full_queue_refuses);
    tcase_add_test(tc, test_offload_drained_refuses);
    tcase_add_test(tc, test_offload_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

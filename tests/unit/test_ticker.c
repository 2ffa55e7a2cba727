/* The ticker (base/ticker.h): calls on the period, at once when woken, never
 * two at once, the returned delay honoured, and a stop that waits for the
 * call in progress. Bounds are generous: they catch a ticker that never
 * fires or never stops, not one that is a little late. */
#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "base/ticker.h"

typedef struct counter {
    atomic_int calls;
    atomic_int running; /* calls in progress */
    atomic_int overlap; /* times two calls ran at once */
    long sleep_ms;      /* each call's own duration */
    long next_ms;       /* what each call returns */
} counter;

static long count_fn(void *arg)
{
    counter *c = arg;
    if (atomic_fetch_add(&c->running, 1) != 0)
        atomic_fetch_add(&c->overlap, 1);
    if (c->sleep_ms > 0)
        usleep((useconds_t)c->sleep_ms * 1000);
    atomic_fetch_add(&c->calls, 1);
    atomic_fetch_sub(&c->running, 1);
    return c->next_ms;
}

/* Waits up to 5 s for at least n calls; true when they came. */
static bool wait_calls(counter *c, int n)
{
    for (int i = 0; i < 500 && atomic_load(&c->calls) < n; i++)
        usleep(10000);
    return atomic_load(&c->calls) >= n;
}

START_TEST(test_period)
{
    counter c = {.next_ms = -1};
    ticker *t = ticker_start(20, 0, count_fn, &c);
    ck_assert_ptr_nonnull(t);
    ck_assert(wait_calls(&c, 5));
    ticker_stop(t);
    ck_assert_int_eq(atomic_load(&c.overlap), 0);
}
END_TEST

START_TEST(test_wake)
{
    counter c = {.next_ms = -1};
    /* an hour's period and first delay: only a wake can make it call */
    ticker *t = ticker_start(3600000, 3600000, count_fn, &c);
    ck_assert_ptr_nonnull(t);
    usleep(50000);
    ck_assert_int_eq(atomic_load(&c.calls), 0);
    ticker_wake(t);
    ck_assert(wait_calls(&c, 1));
    ticker_wake(t);
    ck_assert(wait_calls(&c, 2));
    ticker_stop(t); /* returns at once despite the hour */
    ck_assert_int_eq(atomic_load(&c.calls), 2);
}
END_TEST

START_TEST(test_returned_delay)
{
    counter c = {.next_ms = 10};
    /* the period is an hour, but each call asks for the next in 10 ms */
    ticker *t = ticker_start(3600000, 0, count_fn, &c);
    ck_assert_ptr_nonnull(t);
    ck_assert(wait_calls(&c, 4));
    ticker_stop(t);
}
END_TEST

START_TEST(test_stop_waits_for_call)
{
    counter c = {.next_ms = -1, .sleep_ms = 200};
    ticker *t = ticker_start(3600000, 0, count_fn, &c);
    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < 200 && atomic_load(&c.running) == 0; i++)
        usleep(5000);
    ck_assert_int_eq(atomic_load(&c.running), 1);
    ticker_stop(t);
    ck_assert_int_eq(atomic_load(&c.running), 0);
    ck_assert_int_eq(atomic_load(&c.calls), 1);
}
END_TEST

/* A group calls its members in the order they fall due (a heap since
 * 10,000 members made the linear look for the next one take 67% of a core
 * at rest), a stopped member never, a woken one at once. */
#define GROUP_N 100

static atomic_int group_calls, group_order[GROUP_N];

static long group_fn(void *arg)
{
    int i = (int)(intptr_t)arg;
    group_order[atomic_fetch_add(&group_calls, 1) % GROUP_N] = i;
    return -1;
}

START_TEST(test_group_order)
{
    ticker_group *g = ticker_group_start();
    ck_assert_ptr_nonnull(g);
    ticker *t[GROUP_N];
    long first[GROUP_N];
    atomic_store(&group_calls, 0);
    for (int i = 0; i < GROUP_N; i++) { /* due 10 ms apart, created out of order */
        first[i] = 200 + 10L * ((i * 37) % GROUP_N);
        t[i] = ticker_start_in(g, 3600000, first[i], group_fn, (void *)(intptr_t)i);
        ck_assert_ptr_nonnull(t[i]);
    }
    int expected = GROUP_N;
    for (int i = 0; i < GROUP_N; i += 10) { /* out of the heap's middle */
        ticker_stop(t[i]);
        t[i] = NULL;
        expected--;
    }
    ticker_wake(t[GROUP_N - 1]); /* due last: called first */
    for (int i = 0; i < 500 && atomic_load(&group_calls) < expected; i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&group_calls), expected);
    ck_assert_int_eq(group_order[0], GROUP_N - 1);
    for (int k = 1; k < expected; k++) {
        int i = group_order[k];
        ck_assert_msg(i % 10 != 0, "stopped member %d called", i);
        ck_assert_msg(k == 1 || first[group_order[k - 1]] < first[i],
                      "member %d (due at %ld ms) called after %d (%ld ms)", i, first[i],
                      group_order[k - 1], first[group_order[k - 1]]);
    }
    for (int i = 0; i < GROUP_N; i++)
        ticker_stop(t[i]);
    ticker_group_stop(g);
}
END_TEST

START_TEST(test_bad_arguments)
{
    counter c = {0};
    ck_assert_ptr_null(ticker_start(0, 0, count_fn, &c));
    ck_assert_ptr_null(ticker_start(10, 0, NULL, &c));
    ticker_wake(NULL);
    ticker_stop(NULL);
    ck_assert(!ticker_stopping(NULL));
}
END_TEST

Suite *suite_ticker(void)
{
    Suite *s = suite_create("ticker");
    TCase *tc = tcase_create("ticker");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_period);
    tcase_add_test(tc, test_wake);
    tcase_add_test(tc, test_returned_delay);
    tcase_add_test(tc, test_stop_waits_for_call);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_group_order);
    suite_add_tcase(s, tc);
    return s;
}

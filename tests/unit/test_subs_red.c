/* Subscriptions, regressions found by the red team (issue 11, part B): the
 * order check's duplicate rule on amounts as sent against amounts as
 * PostgreSQL gives them back. No database: subs_check_order is called on
 * stored events made up here. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/subs.h"

/* A batch of one start of s1 with amount as sent (parsed as the service
 * does), checked against one stored start of s1 with amount stored. */
static int one_against_stored(const char *amount, const char *stored_amount, bool *dup)
{
    subs_batch b;
    ingest_errors e;
    ingest_limits lim = ingest_limits_default(1000);
    char body[512];
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"e0\",\"customer_id\":\"c1\",\"subscription_id\":"
             "\"s1\",\"event\":\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\","
             "\"amount\":%s,\"billing_period\":\"month\"}]}",
             amount);
    ck_assert_int_eq(subs_batch_parse(body, strlen(body), &lim, 1800000000, &b, &e),
                     INGEST_OK);
    ingest_errors_free(&e);
    store_sub_event stored = {"s1",       "e0",          "c1",   "start",
                              1735689600, stored_amount, "month"};
    ingest_errors errs = {0};
    int rc = subs_check_order(&b, &stored, 1, 100, &errs, dup);
    ingest_errors_free(&errs);
    subs_batch_free(&b);
    return rc;
}

/* An amount sent as ".5" is stored as 0.5000: sent again it is a duplicate,
 * not a 422 "this id was already given to another event" (a retried batch
 * was refused). */
START_TEST(test_subs_red_amount_leading_point)
{
    const char *cases[][2] = {
        {"\".5\"", "0.5000"},     {"\"+.5\"", "0.5000"}, {"\".50\"", "0.5000"},
        {"\"0.5\"", "0.5000"},    {"0.5", "0.5000"},     {"\"5.\"", "5.0000"},
        {"\"-0\"", "0.0000"},     {"\".0\"", "0.0000"},  {"\"1e2\"", "100.0000"},
        {"\"012.5\"", "12.5000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool dup = false;
        ck_assert_msg(one_against_stored(cases[i][0], cases[i][1], &dup) == 0,
                      "%s against stored %s: refused", cases[i][0], cases[i][1]);
        ck_assert_msg(dup, "%s against stored %s: not a duplicate", cases[i][0],
                      cases[i][1]);
    }
    bool dup = false; /* a different amount is still refused */
    ck_assert_int_eq(one_against_stored("\".5\"", "5.0000", &dup), 1);
    ck_assert_int_eq(one_against_stored("\".05\"", "0.5000", &dup), 1);
}
END_TEST

Suite *suite_subs_red(void)
{
    Suite *s = suite_create("subs_red");
    TCase *tc = tcase_create("subs_red");
    tcase_add_test(tc, test_subs_red_amount_leading_point);
    suite_add_tcase(s, tc);
    return s;
}

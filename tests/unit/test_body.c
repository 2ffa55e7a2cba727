/* The body readers' edge cases (issue 9): cost linear in the body and the
 * item limit enforced before jansson builds anything (the 4.8 MB body of
 * empty items took 47 s and 430 MB), customer ids with C1 control
 * characters refused by every reader (the one-pass and jansson readers of
 * POST /v1/transactions, the CSV rows of `ltvd import`) as the GET path
 * refuses them, and the one leap-second rule (:60 is :59 of its minute, on
 * its own day) in the API's time parser and the calendar-day parser that
 * as_of and the CSV readers use. Then the same through the service
 * (testhttp.h). The HTTP cases need DATABASE_URL; the rest are pure. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/url.h"
#include "ingest/batch.h"
#include "ingest/batch_fast.h"
#include "ingest/body_scan.h"
#include "ingest/csv_rows.h"
#include "summary/summary.h"
#include "testhttp.h"

#define NOW 1900000000 /* 2030-03-17: every time below is before it */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* {"transactions":[item,item,...]} with n copies of item (malloc'd). */
static char *repeated_body(const char *item, size_t n, size_t *len)
{
    size_t il = strlen(item), cap = 20 + n * (il + 1);
    char *b = malloc(cap), *p = b;
    ck_assert_ptr_nonnull(b);
    p += sprintf(p, "{\"transactions\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *p++ = ',';
        memcpy(p, item, il);
        p += il;
    }
    p += sprintf(p, "]}");
    *len = (size_t)(p - b);
    return b;
}

/* ---- the bounded scan ------------------------------------------------------------ */

START_TEST(test_scan_counts)
{
    const char *ok = "{\"transactions\":[{\"id\":\"a,b[c:\",\"x\":[1,2,3]},{}]}";
    ck_assert_int_eq(ingest_body_scan(ok, strlen(ok), 2, 100), INGEST_SCAN_OK);
    ck_assert_int_eq(ingest_body_scan(ok, strlen(ok), 1, 100),
                     INGEST_SCAN_TOO_MANY_ITEMS);
    /* the commas and colons inside strings are not counted: 1 + [ , : outside */
    ck_assert_int_eq(ingest_body_scan(ok, strlen(ok), 2, 10), INGEST_SCAN_OK);
    ck_assert_int_eq(ingest_body_scan(ok, strlen(ok), 2, 9), INGEST_SCAN_TOO_MANY_VALUES);
    /* an escaped quote does not end a string */
    const char *esc = "{\"transactions\":[{\"id\":\"\\\",,,,\"}]}";
    ck_assert_int_eq(ingest_body_scan(esc, strlen(esc), 1, 100), INGEST_SCAN_OK);
    /* items of another member's array are values, not items */
    const char *other = "{\"x\":[1,2,3],\"transactions\":[]}";
    ck_assert_int_eq(ingest_body_scan(other, strlen(other), 0, 100), INGEST_SCAN_OK);
    const char *empty = "{\"transactions\":[ ]}";
    ck_assert_int_eq(ingest_body_scan(empty, strlen(empty), 0, 100), INGEST_SCAN_OK);
    /* nested arrays' commas are not items */
    const char *nested = "{\"transactions\":[[1,2,3,4]]}";
    ck_assert_int_eq(ingest_body_scan(nested, strlen(nested), 1, 100), INGEST_SCAN_OK);
    ck_assert_int_eq(ingest_body_scan("", 0, 1, 1), INGEST_SCAN_OK);
}
END_TEST

/* The case of the issue: 4.8 MB of empty items, the default limits. */
START_TEST(test_quadratic_body_refused_at_once)
{
    size_t len;
    char *body = repeated_body("{}", 1600000, &len);
    ck_assert_uint_gt(len, 4800000);
    ingest_limits lim = ingest_limits_default(10000);
    ingest_batch b;
    ingest_errors e;
    double t0 = now_s();
    ck_assert_int_eq(ingest_batch_parse(body, len, &lim, NOW, &b, &e), INGEST_TOO_MANY);
    double dt = now_s() - t0;
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.items[0].field, "transactions");
    ck_assert_str_eq(e.items[0].reason, "more than 10000 items");
    ck_assert_msg(dt < 5, "%.1f s", dt); /* 47 s before; only a hang detector */
    fprintf(stderr, "body: 4.8 MB of {} refused in %.3f s\n", dt);
    ingest_errors_free(&e);
    free(body);

    /* few items, many values: bounded too */
    char *many = malloc(3000000), *p = many;
    p += sprintf(p, "{\"transactions\":[{\"id\":[");
    for (int i = 0; i < 500000; i++)
        p += sprintf(p, "%s[]", i ? "," : "");
    p += sprintf(p, "]}]}");
    ck_assert_int_eq(ingest_batch_parse(many, (size_t)(p - many), &lim, NOW, &b, &e),
                     INGEST_TOO_MANY);
    ck_assert_ptr_null(e.items[0].field);
    ck_assert_msg(strstr(e.items[0].reason, "JSON values") != NULL, "%s",
                  e.items[0].reason);
    ingest_errors_free(&e);
    free(many);
}
END_TEST

/* Within the limits, the jansson reader's time is linear: 200,000 empty
 * items against a limit of a million (the arena's frees were quadratic). */
START_TEST(test_arena_linear)
{
    size_t len;
    char *body = repeated_body("{}", 200000, &len);
    ingest_limits lim = ingest_limits_default(1000000);
    ingest_batch b;
    ingest_errors e;
    double t0 = now_s();
    ck_assert_int_eq(ingest_batch_parse(body, len, &lim, NOW, &b, &e), INGEST_INVALID);
    double dt = now_s() - t0;
    ck_assert_uint_eq(e.n_total, 800000); /* four missing members per item */
    ck_assert_msg(dt < 5, "%.1f s", dt);
    fprintf(stderr, "body: 200,000 {} items parsed and refused in %.3f s\n", dt);
    ingest_errors_free(&e);
    free(body);
}
END_TEST

/* ---- C1 control characters ----------------------------------------------------------
 */

static const char *first_reason(const char *body)
{
    static char reason[256];
    ingest_limits lim = ingest_limits_default(10);
    ingest_batch b;
    ingest_errors e;
    ingest_result r = ingest_batch_parse(body, strlen(body), &lim, NOW, &b, &e);
    ck_assert_int_eq(r, INGEST_INVALID);
    ck_assert_uint_ge(e.n, 1);
    snprintf(reason, sizeof reason, "%s: %s", e.items[0].field, e.items[0].reason);
    ingest_errors_free(&e);
    return reason;
}

START_TEST(test_c1_refused_by_every_reader)
{
    /* JSON: raw UTF-8 (C2 85) and the escape, both decoded to U+0085 */
    const char *raw = "{\"transactions\":[{\"id\":\"t1\",\"customer_id\":\"a\xc2\x85z\","
                      "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}";
    const char *esc = "{\"transactions\":[{\"id\":\"t\\u009f\",\"customer_id\":\"c\","
                      "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}";
    ck_assert_str_eq(first_reason(raw),
                     "customer_id: contains a C1 control character (U+0080..U+009F)");
    ck_assert_str_eq(first_reason(esc),
                     "id: contains a C1 control character (U+0080..U+009F)");
    /* the one-pass reader never accepts them (it leaves non-ASCII to jansson) */
    ingest_limits lim = ingest_limits_default(10);
    ingest_batch b;
    ck_assert_int_eq(ingest_batch_fast(raw, strlen(raw), &lim, NOW, &b), 0);
    /* the shared check, and its neighbours: U+00A0 and U+007E are fine */
    char buf[64];
    ck_assert_ptr_nonnull(ingest_check_id("\xc2\x80", 2, 128, buf, sizeof buf));
    ck_assert_ptr_nonnull(ingest_check_id("\xc2\x9f", 2, 128, buf, sizeof buf));
    ck_assert_ptr_null(ingest_check_id("\xc2\xa0", 2, 128, buf, sizeof buf));
    ck_assert_ptr_null(ingest_check_id("~\xc3\xa9", 3, 128, buf, sizeof buf));
    /* the GET path's check agrees */
    ck_assert(!url_text_ok((const unsigned char *)"a\xc2\x85z", 4));
    ck_assert(url_text_ok((const unsigned char *)"a\xc2\xa0z", 4));
}
END_TEST

START_TEST(test_c1_refused_by_csv_import)
{
    char text[] = "customer_id,occurred_at,amount,id\n"
                  "ok\xc2\xa0,2024-01-01,1,t1\n"
                  "bad\xc2\x85,2024-01-01,1,t2\n"
                  "c3,2024-01-01,1,t\xc2\x90\n";
    FILE *fp = fmemopen(text, strlen(text), "r");
    ck_assert_ptr_nonnull(fp);
    char err[INGEST_CSV_ERR_MAX];
    ingest_csv *c = ingest_csv_open(fp, "t.csv", NOW, err);
    ck_assert_msg(c != NULL, "%s", err);
    ingest_csv_row row;
    ck_assert_int_eq(ingest_csv_next(c, &row, err), INGEST_CSV_ROW);
    ck_assert_int_eq(ingest_csv_next(c, &row, err), INGEST_CSV_BAD_ROW);
    ck_assert_msg(strstr(err, "t.csv:3: customer_id: contains a C1 control character") !=
                      NULL,
                  "%s", err);
    ck_assert_int_eq(ingest_csv_next(c, &row, err), INGEST_CSV_BAD_ROW);
    ck_assert_msg(strstr(err, "t.csv:4: id: contains a C1 control character") != NULL,
                  "%s", err);
    ingest_csv_close(c);
    fclose(fp);
}
END_TEST

/* ---- leap seconds
 * ---------------------------------------------------------------------- */

START_TEST(test_leap_second_same_day)
{
    int64_t day = summary_days_from_civil(2016, 12, 31), secs = 0, d = 0;
    /* the API's parser (POST bodies and CSV import) */
    ck_assert_ptr_null(ingest_parse_time("2016-12-31T23:59:60Z", 20, NOW, &secs));
    ck_assert_int_eq(secs, day * 86400 + 86399);
    ck_assert_int_eq(summary_day_of(secs), day);
    ck_assert_ptr_null(ingest_parse_time("2016-12-31T23:59:60.999Z", 24, NOW, &secs));
    ck_assert_int_eq(secs, day * 86400 + 86399);
    ck_assert_ptr_null(ingest_parse_time("2017-01-01T00:59:60+01:00", 25, NOW, &secs));
    ck_assert_int_eq(summary_day_of(secs), day);
    ck_assert_ptr_null(ingest_parse_time("2016-12-31T22:59:60-01:00", 25, NOW, &secs));
    ck_assert_int_eq(summary_day_of(secs), day);
    ck_assert_ptr_nonnull(ingest_parse_time("2016-12-31T23:59:61Z", 20, NOW, &secs));
    /* the calendar-day parser (as_of, the fit and score CSV readers) */
    ck_assert_int_eq(summary_parse_day("2016-12-31T23:59:60Z", &d), 0);
    ck_assert_int_eq(d, day);
    ck_assert_int_eq(summary_parse_day("2017-01-01T00:59:60+01:00", &d), 0);
    ck_assert_int_eq(d, day);
    ck_assert_int_eq(summary_parse_day("2016-12-31T22:59:60-01:00", &d), 0);
    ck_assert_int_eq(d, day);
    ck_assert_int_eq(summary_parse_day("2016-12-31T23:59:61Z", &d), -1);
}
END_TEST

/* ---- through the service
 * ------------------------------------------------------------------ */

static testhttp_app svc;

static void svc_setup(void)
{
    gsl_set_error_handler_off();
    testhttp_app_start_served(&svc, "ltvd_body");
}

static void svc_teardown(void)
{
    testhttp_db_drop(&svc);
}

START_TEST(test_http_quadratic_body)
{
    size_t len;
    char *body = repeated_body("{}", 1600000, &len);
    testhttp_response r;
    double t0 = now_s();
    testhttp_request(svc.port, "POST", "/v1/transactions", body, &r);
    double dt = now_s() - t0;
    testhttp_assert_problem(&r, 413, "too-many-items");
    ck_assert_msg(strstr(r.body, "more than 10000 items") != NULL, "%s", r.body);
    ck_assert_msg(dt < 5, "%.1f s", dt);
    fprintf(stderr, "body: POST of 4.8 MB of {} answered 413 in %.3f s\n", dt);
    testhttp_response_free(&r);
    free(body);
}
END_TEST

START_TEST(test_http_c1_ids)
{
    const char *body = "{\"transactions\":[{\"id\":\"t1\",\"customer_id\":\"a\\u0085z\","
                       "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}";
    testhttp_response r;
    testhttp_request(svc.port, "POST", "/v1/transactions", body, &r);
    testhttp_assert_problem(&r, 422, "validation-failed");
    ck_assert_msg(strstr(r.body, "C1 control character") != NULL, "%s", r.body);
    testhttp_response_free(&r);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 0);
    testhttp_request(svc.port, "GET", "/v1/customers/a%C2%85z", NULL, &r);
    testhttp_assert_problem(&r, 400, "invalid-parameter");
    testhttp_response_free(&r);
}
END_TEST

/* A purchase in a leap second is on its own day, for the store and for as_of. */
START_TEST(test_http_leap_second)
{
    const char *body = "{\"transactions\":[{\"id\":\"t1\",\"customer_id\":\"leap\","
                       "\"occurred_at\":\"2016-12-31T23:59:60Z\",\"amount\":5}]}";
    testhttp_response r;
    testhttp_request(svc.port, "POST", "/v1/transactions", body, &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "%d: %s", r.status, r.body);
    testhttp_response_free(&r);
    testhttp_request(svc.port, "GET", "/v1/customers/leap?as_of=2016-12-31T23:59:60Z",
                     NULL, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    ck_assert_str_eq(testhttp_jstr(r.json, "as_of"), "2016-12-31");
    json_t *s = json_object_get(r.json, "summary");
    ck_assert_str_eq(testhttp_jstr(s, "first_purchase"), "2016-12-31");
    ck_assert_str_eq(testhttp_jstr(s, "last_purchase"), "2016-12-31");
    testhttp_response_free(&r);
}
END_TEST

Suite *suite_body(void)
{
    Suite *s = suite_create("body");
    TCase *pure = tcase_create("readers");
    tcase_set_timeout(pure, 60);
    tcase_add_test(pure, test_scan_counts);
    tcase_add_test(pure, test_quadratic_body_refused_at_once);
    tcase_add_test(pure, test_arena_linear);
    tcase_add_test(pure, test_c1_refused_by_every_reader);
    tcase_add_test(pure, test_c1_refused_by_csv_import);
    tcase_add_test(pure, test_leap_second_same_day);
    suite_add_tcase(s, pure);
    TCase *tc = tcase_create("service");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, svc_setup, svc_teardown);
    tcase_add_test(tc, test_http_quadratic_body);
    tcase_add_test(tc, test_http_c1_ids);
    tcase_add_test(tc, test_http_leap_second);
    suite_add_tcase(s, tc);
    return s;
}

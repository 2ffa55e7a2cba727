/* The POST /v1/transactions body parser: a table of bad bodies, each with
 * its exact result code and the (index, field) of every error, then good
 * bodies checked value by value (seconds, UTC day, amount text). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/batch.h"
#include "ingest/batch_fast.h"
#include "summary/summary.h"

#define NOW INT64_C(1717200000) /* 2024-06-01T00:00:00Z */

#define ITEM(id, cust, at, amt)                                                          \
    "{\"id\":" id ",\"customer_id\":" cust ",\"occurred_at\":" at ",\"amount\":" amt "}"
#define OK_ITEM ITEM("\"t1\"", "\"c1\"", "\"2024-01-01T00:00:00Z\"", "\"1.00\"")
#define BODY(items) "{\"transactions\":[" items "]}"
#define AT(t) BODY(ITEM("\"t1\"", "\"c1\"", "\"" t "\"", "1"))
#define AMT(a) BODY(ITEM("\"t1\"", "\"c1\"", "\"2024-01-01T00:00:00Z\"", a))
#define ID(i) BODY(ITEM(i, "\"c1\"", "\"2024-01-01T00:00:00Z\"", "1"))
#define CUST(c) BODY(ITEM("\"t1\"", c, "\"2024-01-01T00:00:00Z\"", "1"))

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define L128 "\"" X64 X64 "\""
#define L129 "\"" X64 X64 "x\""

typedef struct expect_error {
    long index;
    const char *field; /* NULL: none */
} expect_error;

typedef struct bad_case {
    const char *name;
    const char *body;
    size_t len; /* 0: strlen(body) */
    ingest_result rc;
    size_t n;
    expect_error errors[4];
} bad_case;

static const bad_case BAD[] = {
    {"empty body", "", 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"truncated", "{\"transactions\":[", 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"trailing garbage", BODY(OK_ITEM) " x", 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"raw NUL byte", "{\"transactions\"\0:[]}", 20, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"string at top", "\"transactions\"", 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"array at top", "[" OK_ITEM "]", 0, INGEST_INVALID, 1, {{-1, NULL}}},
    {"no transactions", "{}", 0, INGEST_INVALID, 1, {{-1, "transactions"}}},
    {"extra top-level key",
     "{\"transactions\":[" OK_ITEM "],\"extra\":1}",
     0,
     INGEST_INVALID,
     1,
     {{-1, "extra"}}},
    {"transactions an object",
     "{\"transactions\":{}}",
     0,
     INGEST_INVALID,
     1,
     {{-1, "transactions"}}},
    {"empty array", BODY(""), 0, INGEST_INVALID, 1, {{-1, "transactions"}}},
    {"too many items",
     BODY(OK_ITEM "," OK_ITEM "," OK_ITEM "," OK_ITEM "," OK_ITEM),
     0,
     INGEST_TOO_MANY,
     1,
     {{-1, "transactions"}}},
    {"item a number", BODY("1"), 0, INGEST_INVALID, 1, {{0, NULL}}},
    {"id a number", ID("7"), 0, INGEST_INVALID, 1, {{0, "id"}}},
    {"customer_id null", CUST("null"), 0, INGEST_INVALID, 1, {{0, "customer_id"}}},
    {"occurred_at a number",
     BODY(ITEM("\"t\"", "\"c\"", "12345", "1")),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"amount a boolean", AMT("true"), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount an object", AMT("{\"v\":1}"), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"missing id",
     BODY(
         "{\"customer_id\":\"c\",\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}"),
     0,
     INGEST_INVALID,
     1,
     {{0, "id"}}},
    {"empty item",
     BODY("{}"),
     0,
     INGEST_INVALID,
     4,
     {{0, "id"}, {0, "customer_id"}, {0, "occurred_at"}, {0, "amount"}}},
    {"unknown field",
     BODY("{\"id\":\"t\",\"customer_id\":\"c\",\"note\":5,\"occurred_at\":"
          "\"2024-01-01T00:00:00Z\",\"amount\":1}"),
     0,
     INGEST_INVALID,
     1,
     {{0, "note"}}},
    {"duplicate top-level key",
     "{\"transactions\":[" OK_ITEM "],\"transactions\":[]}",
     0,
     INGEST_INVALID,
     1,
     {{-1, NULL}}},
    {"duplicate key in item",
     BODY("{\"id\":\"t\",\"id\":\"u\",\"customer_id\":\"c\",\"occurred_at\":"
          "\"2024-01-01T00:00:00Z\",\"amount\":1}"),
     0,
     INGEST_INVALID,
     1,
     {{-1, NULL}}},
    {"empty id", ID("\"\""), 0, INGEST_INVALID, 1, {{0, "id"}}},
    {"customer_id of 129 bytes", CUST(L129), 0, INGEST_INVALID, 1, {{0, "customer_id"}}},
    {"escaped control character", ID("\"a\\u0001b\""), 0, INGEST_INVALID, 1, {{0, "id"}}},
    {"escaped NUL", ID("\"a\\u0000b\""), 0, INGEST_INVALID, 1, {{0, "id"}}},
    {"escaped tab", ID("\"a\\tb\""), 0, INGEST_INVALID, 1, {{0, "id"}}},
    {"raw DEL", CUST("\"a\x7f\""), 0, INGEST_INVALID, 1, {{0, "customer_id"}}},
    {"raw control character", ID("\"a\x01\""), 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"invalid UTF-8", CUST("\"a\xff\""), 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"overlong UTF-8", CUST("\"\xc0\xaf\""), 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"lone surrogate", CUST("\"\\ud800\""), 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"amount -1", AMT("-1"), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount \"-5.00\"", AMT("\"-5.00\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount \"abc\"", AMT("\"abc\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount \"\"", AMT("\"\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount \" 1\"", AMT("\" 1\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount \"1e400\"", AMT("\"1e400\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount 1e400", AMT("1e400"), 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"amount 1e-400", AMT("1e-400"), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount NaN bare", AMT("NaN"), 0, INGEST_MALFORMED, 1, {{-1, NULL}}},
    {"amount \"NaN\"", AMT("\"NaN\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount \"Infinity\"", AMT("\"Infinity\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount \"0x10\"", AMT("\"0x10\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount 5 decimals", AMT("\"1.23456\""), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount 15 digits", AMT("123456789012345"), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"amount 1e14", AMT("1e14"), 0, INGEST_INVALID, 1, {{0, "amount"}}},
    {"no zone", AT("2024-01-01T00:00:00"), 0, INGEST_INVALID, 1, {{0, "occurred_at"}}},
    {"date only", AT("2024-01-01"), 0, INGEST_INVALID, 1, {{0, "occurred_at"}}},
    {"no seconds", AT("2024-01-01T00:00Z"), 0, INGEST_INVALID, 1, {{0, "occurred_at"}}},
    {"space separator",
     AT("2024-01-01 00:00:00Z"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"empty fraction",
     AT("2024-01-01T00:00:00.Z"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"month 13", AT("2024-13-01T00:00:00Z"), 0, INGEST_INVALID, 1, {{0, "occurred_at"}}},
    {"day 32", AT("2024-01-32T00:00:00Z"), 0, INGEST_INVALID, 1, {{0, "occurred_at"}}},
    {"hour 24", AT("2024-01-01T24:00:00Z"), 0, INGEST_INVALID, 1, {{0, "occurred_at"}}},
    {"offset +24:00",
     AT("2024-01-01T00:00:00+24:00"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"February 30",
     AT("2024-02-30T00:00:00Z"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"February 29 of 2023",
     AT("2023-02-29T00:00:00Z"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"before 1970",
     AT("1969-12-31T23:59:59Z"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"before 1970 by offset",
     AT("1970-01-01T00:30:00+01:00"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"year 3000", AT("3000-01-01T00:00:00Z"), 0, INGEST_INVALID, 1, {{0, "occurred_at"}}},
    {"a day and a second ahead",
     AT("2024-06-02T00:00:01Z"),
     0,
     INGEST_INVALID,
     1,
     {{0, "occurred_at"}}},
    {"two errors in one item",
     BODY(ITEM("\"\"", "\"c\"", "\"2024-01-01T00:00:00Z\"", "-1")),
     0,
     INGEST_INVALID,
     2,
     {{0, "id"}, {0, "amount"}}},
    {"items 1 and 3 bad",
     BODY(OK_ITEM "," ITEM("\"t2\"", "\"c\"", "\"2024-01-01T00:00:00Z\"",
                           "-2") "," OK_ITEM
                                 "," ITEM("\"t4\"", "\"c\"", "\"2024-01-01\"", "4")),
     0,
     INGEST_INVALID,
     2,
     {{1, "amount"}, {3, "occurred_at"}}},
    {"unknown top-level key and a bad item",
     "{\"x\":[1,2.5],\"transactions\":[" OK_ITEM
     "," ITEM("\"t\"", "\"c\"", "\"2024-01-01T00:00:00Z\"", "-3") "]}",
     0,
     INGEST_INVALID,
     2,
     {{-1, "x"}, {1, "amount"}}},
};

START_TEST(test_batch_bad)
{
    const bad_case *c = &BAD[_i];
    ingest_limits lim = ingest_limits_default(4);
    ingest_batch out;
    ingest_errors errs;
    size_t len = c->len ? c->len : strlen(c->body);
    ingest_result rc = ingest_batch_parse(c->body, len, &lim, NOW, &out, &errs);
    ck_assert_msg(rc == c->rc, "%s: result %d, want %d", c->name, rc, c->rc);
    ck_assert_msg(errs.n == c->n && errs.n_total == c->n, "%s: %zu errors, want %zu (%s)",
                  c->name, errs.n, c->n, errs.n ? errs.items[0].reason : "");
    for (size_t k = 0; k < c->n; k++) {
        const ingest_error *e = &errs.items[k];
        ck_assert_msg(e->index == c->errors[k].index, "%s: error %zu index %ld", c->name,
                      k, e->index);
        ck_assert_msg(c->errors[k].field
                          ? e->field && !strcmp(e->field, c->errors[k].field)
                          : e->field == NULL,
                      "%s: error %zu field %s (%s)", c->name, k,
                      e->field ? e->field : "NULL", e->reason);
        ck_assert(e->reason != NULL && e->reason[0] != '\0');
    }
    ck_assert_ptr_null(out.items);
    ck_assert_uint_eq(out.n, 0);
    ingest_errors_free(&errs);
}
END_TEST

/* Parses body, which must be valid, with max_items 10. */
static void parse_ok(const char *body, ingest_batch *out)
{
    ingest_limits lim = ingest_limits_default(10);
    ingest_errors errs;
    ingest_result rc = ingest_batch_parse(body, strlen(body), &lim, NOW, out, &errs);
    ck_assert_msg(rc == INGEST_OK, "result %d: %s", rc,
                  errs.n ? errs.items[0].reason : "");
    ck_assert_uint_eq(errs.n_total, 0);
    ingest_errors_free(&errs);
}

START_TEST(test_batch_amounts)
{
    static const struct {
        const char *json, *text;
    } CASES[] = {
        {"12.5", "12.5"},
        {"\"12.30\"", "12.30"},
        {"0", "0"},
        {"\"0.00\"", "0.00"},
        {"-0", "0"},
        {"0.1", "0.1"},
        {"1.5e3", "1500"},
        {"\"1.25E-2\"", "0.0125"},
        {"0e5", "0"},
        {"\"+7\"", "7"},
        {"\".5\"", ".5"},
        {"99999999999999.9999", "99999999999999.9999"},
        {"\"12.30000\"", "12.30000"},
        {"12345678901234567e-4", "1234567890123.4567"},
        {"1E+2", "100"},
    };
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\",\"occurred_at\":"
                 "\"2024-01-01T00:00:00Z\",\"amount\":%s}]}",
                 CASES[k].json);
        ingest_batch b;
        parse_ok(body, &b);
        ck_assert_uint_eq(b.n, 1);
        ck_assert_str_eq(b.items[0].amount, CASES[k].text);
        ingest_batch_free(&b);
    }
}
END_TEST

/* Number tokens are matched to the right items when other numbers come
 * first (another top-level member is an error, so only items here). */
START_TEST(test_batch_number_tokens)
{
    ingest_batch b;
    parse_ok(
        BODY(ITEM(
            "\"a\"", "\"c\"", "\"2024-01-01T00:00:00Z\"",
            "1") ","
                 "{\"amount\":2.50,\"id\":\"b\",\"customer_id\":\"c\",\"occurred_at\":"
                 "\"2024-01-01T00:00:00Z\"}," ITEM("\"c-1\"", "\"1-2\"",
                                                   "\"2024-01-01T00:00:00Z\"", "3e1")),
        &b);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_str_eq(b.items[0].amount, "1");
    ck_assert_str_eq(b.items[1].amount, "2.50");
    ck_assert_str_eq(b.items[2].amount, "30");
    ck_assert_str_eq(b.items[2].id, "c-1");
    ingest_batch_free(&b);
}
END_TEST

START_TEST(test_batch_times)
{
    static const struct {
        const char *at;
        int64_t secs;
        const char *day;
    } CASES[] = {
        {"2024-01-01T23:30:00-02:00", 1704159000, "2024-01-02"},
        {"2024-01-02T00:30:00+01:00", 1704151800, "2024-01-01"},
        {"2024-02-29T12:00:00Z", 1709208000, "2024-02-29"},
        {"2024-01-01t00:00:00.999z", 1704067200, "2024-01-01"},
        {"1970-01-01T00:00:00Z", 0, "1970-01-01"},
        {"2024-06-02T00:00:00Z", NOW + 86400, "2024-06-02"},
        {"2016-12-31T23:59:60Z", 1483228799, "2016-12-31"}, /* :60 is :59 */
    };
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        char body[512], day[11];
        snprintf(body, sizeof body,
                 "{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\",\"occurred_at\":"
                 "\"%s\",\"amount\":1}]}",
                 CASES[k].at);
        ingest_batch b;
        parse_ok(body, &b);
        ck_assert_int_eq(b.items[0].occurred_at_s, CASES[k].secs);
        ck_assert_int_eq(summary_format_day(b.items[0].day, day), 0);
        ck_assert_str_eq(day, CASES[k].day);
        int64_t cli_day; /* the same day as the CLI's reader */
        if (CASES[k].at[19] != '.' && CASES[k].at[17] != '6') {
            ck_assert_int_eq(summary_parse_day(CASES[k].at, &cli_day), 0);
            ck_assert_int_eq(cli_day, b.items[0].day);
        }
        ingest_batch_free(&b);
    }
}
END_TEST

/* Ids are strings, stored verbatim: quotes, SQL and JSON text included. */
START_TEST(test_batch_ids_verbatim)
{
    ingest_batch b;
    parse_ok(
        BODY(ITEM("\"'; DROP TABLE transactions; --\"",
                  "\"{\\\"customer_id\\\":\\\"x\\\"}\\\\\"", "\"2024-01-01T00:00:00Z\"",
                  "1") "," ITEM("\"t\"", L128, "\"2024-01-01T00:00:00Z\"", "1")),
        &b);
    ck_assert_str_eq(b.items[0].id, "'; DROP TABLE transactions; --");
    ck_assert_str_eq(b.items[0].customer_id, "{\"customer_id\":\"x\"}\\");
    ck_assert_uint_eq(strlen(b.items[1].customer_id), 128); /* the default limit */
    ingest_batch_free(&b);
}
END_TEST

START_TEST(test_batch_duplicates_and_store)
{
    ingest_batch b;
    parse_ok(BODY(OK_ITEM "," OK_ITEM "," ITEM("\"t1\"", "\"\xc3\xa9\"",
                                               "\"2024-01-01T00:00:00Z\"", "2")),
             &b);
    ck_assert_uint_eq(b.n, 3); /* the store counts the repeat as a duplicate */
    store_item s;
    ingest_item_to_store(&b.items[2], &s);
    ck_assert_str_eq(s.txn_id, "t1");
    ck_assert_str_eq(s.customer_id, "\xc3\xa9");
    ck_assert_ptr_null(s.occurred_at);
    ck_assert_int_eq(s.occurred_at_s, 1704067200);
    ck_assert_str_eq(s.amount, "2");
    ingest_batch_free(&b);
    ingest_batch_free(&b); /* freeing twice is harmless */
}
END_TEST

START_TEST(test_batch_limits)
{
    const char *four = BODY(OK_ITEM "," OK_ITEM "," OK_ITEM "," OK_ITEM);
    ingest_limits lim = ingest_limits_default(4);
    ingest_batch b;
    ingest_errors errs;
    ck_assert_int_eq(ingest_batch_parse(four, strlen(four), &lim, NOW, &b, &errs),
                     INGEST_OK);
    ck_assert_uint_eq(b.n, 4);
    ingest_batch_free(&b);
    /* ids: the limit is a parameter */
    lim.max_id_bytes = 1;
    ck_assert_int_eq(ingest_batch_parse(four, strlen(four), &lim, NOW, &b, &errs),
                     INGEST_INVALID);
    ck_assert_uint_eq(errs.n, 8);
    ingest_errors_free(&errs);
    /* errors past max_errors are counted, not kept */
    lim.max_errors = 3;
    ck_assert_int_eq(ingest_batch_parse(four, strlen(four), &lim, NOW, &b, &errs),
                     INGEST_INVALID);
    ck_assert_uint_eq(errs.n, 3);
    ck_assert_uint_eq(errs.n_total, 8);
    ingest_errors_free(&errs);
    /* NULL body */
    ck_assert_int_eq(ingest_batch_parse(NULL, 0, &lim, NOW, &b, &errs), INGEST_MALFORMED);
    ck_assert_str_ne(errs.items[0].reason, "");
    ingest_errors_free(&errs);
}
END_TEST

START_TEST(test_batch_reasons)
{
    ingest_limits lim = ingest_limits_default(3);
    ingest_batch b;
    ingest_errors errs;
    const char *neg = AMT("-1"), *bad = "{\n  \"transactions\": [,]}";
    ck_assert_int_eq(ingest_batch_parse(neg, strlen(neg), &lim, NOW, &b, &errs),
                     INGEST_INVALID);
    ck_assert_ptr_nonnull(strstr(errs.items[0].reason, "refunds are not supported"));
    ingest_errors_free(&errs);
    ck_assert_int_eq(ingest_batch_parse(bad, strlen(bad), &lim, NOW, &b, &errs),
                     INGEST_MALFORMED);
    ck_assert_ptr_nonnull(strstr(errs.items[0].reason, "line 2, column"));
    ingest_errors_free(&errs);
}
END_TEST

/* The one-pass reader takes the common bodies, giving exactly the jansson
 * reader's items, and declines everything else, which the jansson reader
 * then decides (its errors unchanged). */
START_TEST(test_batch_fast_path)
{
    static const struct {
        const char *body;
        int fast; /* 1: taken by the fast reader; 0: left to jansson */
    } cases[] = {
        {"{\"transactions\":[{\"id\":\"t1\",\"customer_id\":\"c1\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":\"12.50\"}]}",
         1},
        {" {\n \"transactions\" : [ {\"amount\": 1E2, \"occurred_at\":"
         "\"2024-01-01T23:30:00-02:00\", \"customer_id\": \"c\", \"id\": \"a b\"} ,"
         "{\"id\":\"x\",\"customer_id\":\"c\",\"occurred_at\":\"2024-01-02T00:00:00."
         "25Z\","
         "\"amount\":-0}\t]\r\n}\n",
         1},
        /* escapes, UTF-8, DEL: jansson's */
        {"{\"transactions\":[{\"id\":\"t\\u0031\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\xc3\xa9\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\x7f\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}",
         0},
        /* shapes and values the fast reader never accepts */
        {"{\"transactions\":[]}", 0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\"}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"id\":\"t\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\",\"x\":1,"
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":01}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1.23456}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-02-30T00:00:00Z\",\"amount\":1}]}",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}]} x",
         0},
        {"{\"transactions\":[{\"id\":\"t\",\"customer_id\":\"c\","
         "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":1}],\"more\":1}",
         0},
        {"[{\"id\":\"t\"}]", 0},
        {"", 0},
    };
    ingest_limits lim = ingest_limits_default(1000);
    int64_t now = 1767225600; /* 2026-01-01 */
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const char *body = cases[k].body;
        ingest_batch fast, slow, both;
        ingest_errors e1, e2;
        int rc = ingest_batch_fast(body, strlen(body), &lim, now, &fast);
        ck_assert_msg(rc == cases[k].fast, "case %zu: fast reader %d", k, rc);
        ingest_result r1 =
            ingest_batch_parse_jansson(body, strlen(body), &lim, now, &slow, &e1);
        ingest_result r2 = ingest_batch_parse(body, strlen(body), &lim, now, &both, &e2);
        ck_assert_int_eq(r1, r2);
        ck_assert_uint_eq(e1.n, e2.n);
        for (size_t i = 0; i < e1.n; i++)
            ck_assert_str_eq(e1.items[i].reason, e2.items[i].reason);
        if (rc == 1) {
            ck_assert_int_eq(r1, INGEST_OK);
            ck_assert_uint_eq(fast.n, slow.n);
            for (size_t i = 0; i < fast.n; i++) {
                ck_assert_str_eq(fast.items[i].id, slow.items[i].id);
                ck_assert_str_eq(fast.items[i].customer_id, slow.items[i].customer_id);
                ck_assert_int_eq(fast.items[i].occurred_at_s,
                                 slow.items[i].occurred_at_s);
                ck_assert_int_eq(fast.items[i].day, slow.items[i].day);
                ck_assert_str_eq(fast.items[i].amount, slow.items[i].amount);
            }
        }
        ingest_batch_free(&fast);
        ingest_batch_free(&slow);
        ingest_batch_free(&both);
        ingest_errors_free(&e1);
        ingest_errors_free(&e2);
    }
}
END_TEST

Suite *suite_batch(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_loop_test(tc, test_batch_bad, 0, sizeof BAD / sizeof BAD[0]);
    tcase_add_test(tc, test_batch_amounts);
    tcase_add_test(tc, test_batch_number_tokens);
    tcase_add_test(tc, test_batch_times);
    tcase_add_test(tc, test_batch_ids_verbatim);
    tcase_add_test(tc, test_batch_duplicates_and_store);
    tcase_add_test(tc, test_batch_limits);
    tcase_add_test(tc, test_batch_reasons);
    tcase_add_test(tc, test_batch_fast_path);
    suite_add_tcase(s, tc);
    return s;
}

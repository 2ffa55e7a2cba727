/* The readers of src/summary: the day and number parsers, summary_read_csv
 * on lifetimes' three summary files, and every refused input, whose error
 * must read "FILE:LINE: reason". Run from the repository root. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "summary/summary.h"

#define DATA "tests/data/"

static void write_temp(char path[64], const char *text)
{
    strcpy(path, "/tmp/ltvd_summary_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* ------------------------------------------------------------------------
 * Days and numbers.
 * ------------------------------------------------------------------------ */

static const struct {
    const char *text;
    int ok;
    const char *day; /* the UTC day, YYYY-MM-DD */
} DAYS[] = {
    {"1970-01-01", 1, "1970-01-01"},
    {"1997-09-30", 1, "1997-09-30"},
    {"2000-02-29", 1, "2000-02-29"},
    {"2024-02-29T00:00:00Z", 1, "2024-02-29"},
    {"2024-12-31T23:00:00-01:00", 1, "2025-01-01"},
    {"2024-01-01T00:59:59+01:00", 1, "2023-12-31"},
    {"2024-01-01T01:00:00+01:00", 1, "2024-01-01"},
    {"2024-03-01T00:00:00.5+00:01", 1, "2024-02-29"},
    {"1969-12-31T23:59:59Z", 1, "1969-12-31"},
    {"0001-01-01", 1, "0001-01-01"},
    {"2014-01-01 00:00:00", 1, "2014-01-01"}, /* pandas, naive: as written */
    {"1900-02-29", 0, NULL},
    {"1997-02-29", 0, NULL},
    {"1997-04-31", 0, NULL},
    {"1997-13-01", 0, NULL},
    {"1997-00-10", 0, NULL},
    {"1997-9-30", 0, NULL},
    {"19970930", 0, NULL},
    {"1997-09-30x", 0, NULL},
    {"1997-09-30T", 0, NULL},
    {"1997-09-30T24:00:00Z", 0, NULL},
    {"1997-09-30T12:00Z", 0, NULL},
    {"1997-09-30T12:00:00.Z", 0, NULL},
    {"1997-09-30T12:00:00+0100", 0, NULL},
    {"1997-09-30T12:00:00+24:00", 0, NULL},
    {"1997-09-30T12:00:00Zjunk", 0, NULL},
    {" 1997-09-30", 0, NULL},
    {"", 0, NULL},
};

START_TEST(test_parse_day)
{
    int64_t day = -42;
    char back[11];
    int rc = summary_parse_day(DAYS[_i].text, &day);
    ck_assert_msg(rc == (DAYS[_i].ok ? 0 : -1), "%s", DAYS[_i].text);
    if (!DAYS[_i].ok) {
        ck_assert_int_eq(day, -42);
        return;
    }
    ck_assert_int_eq(summary_format_day(day, back), 0);
    ck_assert_str_eq(back, DAYS[_i].day);
}
END_TEST

START_TEST(test_day_numbers)
{
    int64_t d;
    char s[11];
    ck_assert_int_eq(summary_parse_day("1970-01-01", &d), 0);
    ck_assert_int_eq(d, 0);
    ck_assert_int_eq(summary_parse_day("1997-09-30", &d), 0);
    ck_assert_int_eq(d, 10134);
    ck_assert_int_eq(summary_parse_day("9999-12-31", &d), 0);
    ck_assert_int_eq(summary_format_day(d, s), 0);
    ck_assert_str_eq(s, "9999-12-31");
    ck_assert_int_eq(summary_format_day(d + 1, s), -1);
    ck_assert_int_eq(summary_format_day(INT64_MIN, s), -1);
    /* every day of 400 years round-trips */
    ck_assert_int_eq(summary_parse_day("1800-01-01", &d), 0);
    for (int64_t k = d; k < d + 146097; k++) {
        int64_t back;
        ck_assert_int_eq(summary_format_day(k, s), 0);
        ck_assert_int_eq(summary_parse_day(s, &back), 0);
        ck_assert_int_eq(back, k);
    }
}
END_TEST

START_TEST(test_parse_number)
{
    static const struct {
        const char *text;
        double v;
    } good[] = {{"0", 0},  {"29.33", 29.33}, {"-1.5", -1.5},   {"+2", 2}, {".5", 0.5},
                {"5.", 5}, {"1e3", 1000},    {"2.5E-1", 0.25}, {"007", 7}};
    static const char *const bad[] = {"",    "-",   ".",   "e5",        "1e",    "1e+",
                                      "nan", "NaN", "inf", "-Infinity", "0x10",  "1e999",
                                      " 1",  "1 ",  "1,5", "$5",        "1.2.3", "--1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        double v;
        ck_assert_msg(summary_parse_number(good[i].text, &v) == 0, "%s", good[i].text);
        ck_assert_double_eq(v, good[i].v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 42;
        ck_assert_msg(summary_parse_number(bad[i], &v) == -1, "%s", bad[i]);
        ck_assert_double_eq(v, 42);
    }
}
END_TEST

/* A deterministic xorshift, for the random numbers below. */
static uint64_t next_random(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

/* summary_parse_number computes most values without strtod (Clinger's fast
 * path, then 128-bit integer rounding): each must be strtod's bit for bit. */
static void expect_strtod(const char *text)
{
    double got, want = strtod(text, NULL);
    ck_assert_msg(summary_parse_number(text, &got) == 0, "%s", text);
    ck_assert_msg(memcmp(&got, &want, sizeof got) == 0, "%s: %.17g, strtod %.17g", text,
                  got, want);
}

START_TEST(test_parse_number_is_strtod)
{
    char text[64];
    uint64_t st = 20261206;
    static const char *const fixed[] = {"-0",
                                        "-0.0",
                                        "0e999",
                                        "-0e-999",
                                        "9007199254740993",
                                        "9007199254740992.5",
                                        "18446744073709551615",
                                        "9999999999999999999",
                                        "10000000000000000000",
                                        "27.857142857142854",
                                        "22.888571428571428",
                                        "0.1",
                                        "1e22",
                                        "1e23",
                                        "1e-19",
                                        "1.7976931348623157e308",
                                        "4.9e-324",
                                        "2.2250738585072014e-308",
                                        "123456789012345678901234567890",
                                        "0.000000000000000000001"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        expect_strtod(fixed[i]);
    /* ties: (2^53 + odd) / 2^k written with k decimals, and big odd integers */
    for (int k = 0; k <= 4; k++)
        for (int i = 0; i < 2000; i++) {
            uint64_t odd = (UINT64_C(1) << 53) + 2 * (next_random(&st) % 100000) + 1;
            uint64_t w = odd;
            for (int j = 0; j < k; j++)
                w *= 5; /* odd / 2^k = odd * 5^k / 10^k */
            int n = snprintf(text, sizeof text, "%" PRIu64, w);
            if (k > 0) {
                memmove(text + n - k + 1, text + n - k, (size_t)k + 1);
                text[n - k] = '.';
            }
            expect_strtod(text);
        }
    for (int i = 0; i < 2000; i++) {
        uint64_t w = ((next_random(&st) >> 12) << 11) | 1024; /* halfway at 2^63 scale */
        snprintf(text, sizeof text, "%" PRIu64, w);
        expect_strtod(text);
    }
    /* random decimals of 1..20 digits, a point anywhere, exponents -25..25 */
    for (int i = 0; i < 300000; i++) {
        char *p = text;
        int digits = 1 + (int)(next_random(&st) % 20),
            point = (int)(next_random(&st) % 22);
        for (int d = 0; d < digits; d++) {
            if (d == point)
                *p++ = '.';
            *p++ = (char)('0' + next_random(&st) % 10);
        }
        if (next_random(&st) % 3 == 0)
            p += sprintf(p, "e%d", (int)(next_random(&st) % 51) - 25);
        *p = '\0';
        expect_strtod(text);
    }
    /* what pandas writes: repr of k/7 and of means of cents */
    for (int i = 0; i < 100000; i++) {
        double v =
            (double)(next_random(&st) % 1000000) / (double)(1 + next_random(&st) % 97);
        snprintf(text, sizeof text, "%.*g", 15 + (int)(next_random(&st) % 3), v);
        expect_strtod(text);
    }
}
END_TEST

/* ------------------------------------------------------------------------
 * lifetimes' summary files.
 * ------------------------------------------------------------------------ */

START_TEST(test_read_lifetimes_files)
{
    summary_set s;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(summary_read_csv(DATA "cdnow_customers_summary.csv", &s, err) == 0,
                  "%s", err);
    ck_assert_uint_eq(s.n, 2357);
    ck_assert(!s.has_monetary);
    ck_assert_str_eq(s.rows[0].id, "1");
    ck_assert_double_eq(s.rows[0].frequency, 2);
    ck_assert_double_eq(s.rows[0].recency, 30.43);
    ck_assert_double_eq(s.rows[0].T, 38.86);
    ck_assert_double_eq(s.rows[0].weight, 1);
    ck_assert_str_eq(s.rows[2356].id, "2357");
    summary_set_free(&s);

    /* CRLF, no final newline, short column names */
    ck_assert_msg(summary_read_csv(DATA "cdnow_customers_summary_with_transactions.csv",
                                   &s, err) == 0,
                  "%s", err);
    ck_assert_uint_eq(s.n, 2357);
    ck_assert(s.has_monetary);
    ck_assert_double_eq(s.rows[0].monetary_value, 22.35);
    ck_assert_double_eq(s.rows[1].monetary_value, 11.77);
    ck_assert_str_eq(s.rows[2356].id, "2357");
    summary_set_free(&s);

    /* BG/BB: periods, weights, no id column */
    ck_assert_msg(summary_read_csv(DATA "donations.csv", &s, err) == 0, "%s", err);
    ck_assert_uint_eq(s.n, 22);
    ck_assert(!s.has_monetary);
    ck_assert_str_eq(s.rows[0].id, "1");
    ck_assert_str_eq(s.rows[21].id, "22");
    double w = 0;
    for (size_t i = 0; i < s.n; i++) {
        ck_assert_double_eq(s.rows[i].T, 6);
        w += s.rows[i].weight;
    }
    ck_assert_double_eq(w, 11104);
    ck_assert_double_eq(s.rows[1].weight, 1091);
    summary_set_free(&s);
}
END_TEST

/* The rows a summary file must give, whatever its bytes: a BOM, CRLF, quoted
 * ids with commas, quotes and newlines, blank lines, scientific notation,
 * 17-digit decimals, -0, and no final newline. */
START_TEST(test_read_tricky_file)
{
    static const char text[] =
        "\xEF\xBB\xBF\"customer_id\", frequency ,recency,T,monetary_value\r\n"
        "\"a,1\",2.0,30.428571428571427,38.857142857142854,22.888571428571428\r\n"
        "\r\n"
        "\"say \"\"hi\"\"\",0,-0,1e1,0\r\n"
        "\"two\nlines\",3,2.5E+1,25.0,1.5e-3\n"
        "c0000004,1,0.25,0.5,+7";
    static const struct {
        const char *id;
        double x, t_x, T, m;
    } want[] = {
        {"a,1", 2, 30.428571428571427, 38.857142857142854, 22.888571428571428},
        {"say \"hi\"", 0, 0, 10, 0},
        {"two\nlines", 3, 25, 25, 0.0015},
        {"c0000004", 1, 0.25, 0.5, 7},
    };
    char path[64], err[SUMMARY_ERR_MAX];
    summary_set s;
    write_temp(path, text);
    ck_assert_msg(summary_read_csv(path, &s, err) == 0, "%s", err);
    ck_assert_uint_eq(s.n, 4);
    ck_assert(s.has_monetary);
    for (size_t i = 0; i < s.n; i++) {
        const cust_summary *r = &s.rows[i];
        ck_assert_str_eq(r->id, want[i].id);
        ck_assert(r->frequency == want[i].x && r->recency == want[i].t_x);
        ck_assert(r->T == want[i].T && r->monetary_value == want[i].m);
        ck_assert(r->weight == 1 && !signbit(r->recency));
    }
    /* summary_read_patterns: exactly summary_patterns of those rows */
    btyd_pattern *a, *b;
    size_t na, nb;
    ck_assert_int_eq(summary_patterns(&s, &a, &na), 0);
    ck_assert_msg(summary_read_patterns(path, &b, &nb, err) == 0, "%s", err);
    ck_assert_uint_eq(na, 4);
    ck_assert_uint_eq(nb, na);
    ck_assert_int_eq(memcmp(a, b, na * sizeof *a), 0);
    free(a);
    free(b);
    summary_set_free(&s);
    unlink(path);
}
END_TEST

/* Without an id column the ids are the row numbers, past 9, 99, ... */
START_TEST(test_read_row_number_ids)
{
    char path[64], err[SUMMARY_ERR_MAX], *text = malloc(16 * 1200 + 32), *p = text;
    p += sprintf(p, "x,t_x,T,weights\n");
    for (int i = 0; i < 1200; i++)
        p += sprintf(p, "%d,%d,%d,%d\n", i % 3, i % 3, 3 + i % 5, i % 2);
    write_temp(path, text);
    summary_set s;
    ck_assert_msg(summary_read_csv(path, &s, err) == 0, "%s", err);
    ck_assert_uint_eq(s.n, 1200);
    for (size_t i = 0; i < s.n; i++) {
        char want[24];
        snprintf(want, sizeof want, "%zu", i + 1);
        ck_assert_str_eq(s.rows[i].id, want);
        ck_assert(s.rows[i].weight == (double)(i % 2));
    }
    /* 3 x-values, each with 5 ages (x = t_x): 15 patterns, weights summed */
    btyd_pattern *a, *b;
    size_t na, nb;
    ck_assert_int_eq(summary_patterns(&s, &a, &na), 0);
    ck_assert_int_eq(summary_read_patterns(path, &b, &nb, err), 0);
    ck_assert_uint_eq(na, 15);
    ck_assert_uint_eq(nb, 15);
    ck_assert_int_eq(memcmp(a, b, na * sizeof *a), 0);
    free(a);
    free(b);
    summary_set_free(&s);
    free(text);
    unlink(path);
}
END_TEST

/* ------------------------------------------------------------------------
 * Refused inputs: -1 and "PATH:LINE: reason".
 * ------------------------------------------------------------------------ */

#define TXN_HEAD "customer_id,occurred_at,amount\n"

static const struct {
    int summary; /* 0: txn_read_csv, 1: summary_read_csv */
    const char *text;
    const char *want; /* the start of the message after "PATH:" */
} BAD[] = {
    {0, "customer_id,amount\n1,2\n", "1: missing column \"occurred_at\""},
    {0, "occurred_at,amount,id\n", "1: missing column \"customer_id\""},
    {0, "customer_id,occurred_at\n", "1: missing column \"amount\""},
    {0, TXN_HEAD "1,1997-01-01,1\n1,1997-02-30,2\n", "3: bad occurred_at \"1997-02-30\""},
    {0, TXN_HEAD "1,,1\n", "2: bad occurred_at \"\""},
    {0, TXN_HEAD "1,1997-01-01,12abc\n", "2: bad amount \"12abc\""},
    {0, TXN_HEAD "1,1997-01-01,NaN\n", "2: bad amount \"NaN\""},
    {0, TXN_HEAD "1,1997-01-01,inf\n", "2: bad amount \"inf\""},
    {0, TXN_HEAD "1,1997-01-01,1e999\n", "2: bad amount \"1e999\""},
    {0, TXN_HEAD "1,1997-01-01,0x1A\n", "2: bad amount \"0x1A\""},
    {0, TXN_HEAD "1,1997-01-01,\n", "2: bad amount \"\""},
    {0, TXN_HEAD "1,1997-01-01,-3.50\n",
     "2: negative amount \"-3.50\" (refunds are not supported: net them into the "
     "purchase)"},
    {0, TXN_HEAD ",1997-01-01,1\n", "2: empty customer_id"},
    {0, TXN_HEAD "1,1997-01-01\n", "2: 2 fields, the header has 3"},
    {0, TXN_HEAD "1,1997-01-01,1,9\n", "2: 4 fields, the header has 3"},
    {0, TXN_HEAD "\"1,1997-01-01,1\n", "2: unterminated quoted field"},
    {0, "", "1: no transactions (empty file)"},
    {0, "\xEF\xBB\xBF\r\n", "2: no transactions (empty file)"},
    {0, TXN_HEAD, "2: no transactions (header only)"},
    {0, TXN_HEAD "\n\n", "4: no transactions (header only)"},
    {1, "ID,frequency,recency,T\n1,2,30,20\n", "2: recency 30 > T 20"},
    {1, "x,t_x,T\n0,0,1\n1.5,1,2\n", "3: x \"1.5\" is not a whole number"},
    {1, "frequency,recency,T\n1,1,-2\n", "2: negative T \"-2\""},
    {1, "frequency,recency,T\n1,nan,2\n", "2: bad recency \"nan\" (expected a number)"},
    {1, "frequency,recency,T,monetary_value\n1,1,2,inf\n",
     "2: bad monetary_value \"inf\" (expected a number)"},
    {1, "frequency,recency,periods,weights\n1,1,2,\n",
     "2: bad weights \"\" (expected a number)"},
    {1, "ID,frequency,recency\n1,0,0\n", "1: missing column \"T\" (or \"periods\")"},
    {1, "ID,recency,T\n", "1: missing column \"frequency\" (or \"x\")"},
    {1, "frequency,x,recency,T\n", "1: both columns \"frequency\" and \"x\" present"},
    {1, "ID,frequency,recency,T\n,0,0,1\n", "2: empty ID"},
    {1, "ID,frequency,recency,T\n1,0,0\n", "2: 3 fields, the header has 4"},
    {1, "", "1: no customers (empty file)"},
    {1, "ID,frequency,recency,T\r\n", "2: no customers (header only)"},
    {1, "\xEF\xBB\xBF", "2: no customers (empty file)"},
    {1, "ID,frequency,recency,T\r\n\"a\",1,1,2\r\n\"b\",1e999,0,1",
     "3: bad frequency \"1e999\" (expected a number)"},
    {1, "ID,frequency,recency,T\n\"a\nb\",0,0,1\nc,0,0x1,1\n",
     "4: bad recency \"0x1\" (expected a number)"},
    {1, "ID,frequency,recency,T\na,1,2,3\nb,1,1.5e1,3.0", "3: recency 1.5e1 > T 3.0"},
    {1, "ID,frequency,recency,T\na,1,2,3\nb,1,,3\n",
     "3: bad recency \"\" (expected a number)"},
    {1, "ID,frequency,recency,T\na,1,2,3\n\"b\"x,1,2,3\n",
     "3: unexpected character after closing quote"},
    {1, "ID,frequency,recency,T\na,1,2,3\n\"b,1,2,3\n", "3: unterminated quoted field"},
    {1, "ID,frequency,recency,T\na,1,2,3\nb,1,-0.5e-1,3\n",
     "3: negative recency \"-0.5e-1\""},
};

START_TEST(test_bad_input)
{
    char path[64], err[SUMMARY_ERR_MAX], want[SUMMARY_ERR_MAX + 64];
    write_temp(path, BAD[_i].text);
    int rc;
    if (BAD[_i].summary) {
        summary_set s;
        btyd_pattern *p = (btyd_pattern *)path;
        size_t np = 42;
        char err2[SUMMARY_ERR_MAX];
        /* summary_read_patterns refuses the same files with the same words */
        ck_assert_int_eq(summary_read_patterns(path, &p, &np, err2), -1);
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(np, 0);
        rc = summary_read_csv(path, &s, err);
        ck_assert_str_eq(err2, err);
        ck_assert_uint_eq(s.n, 0);
        ck_assert_ptr_null(s.rows);
        summary_set_free(&s);
    } else {
        txn_set t;
        rc = txn_read_csv(path, &t, err);
        ck_assert_uint_eq(t.n, 0);
        ck_assert_ptr_null(t.items);
        ck_assert_ptr_null(t.customer_ids);
        txn_set_free(&t);
    }
    ck_assert_int_eq(rc, -1);
    snprintf(want, sizeof want, "%s:%s", path, BAD[_i].want);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\", want \"%s...\"",
                  err, want);
    unlink(path);
}
END_TEST

START_TEST(test_missing_file)
{
    char err[SUMMARY_ERR_MAX];
    txn_set t;
    summary_set s;
    ck_assert_int_eq(txn_read_csv("/nonexistent/t.csv", &t, err), -1);
    ck_assert_str_eq(err, "/nonexistent/t.csv: No such file or directory");
    ck_assert_int_eq(summary_read_csv("/nonexistent/s.csv", &s, err), -1);
    ck_assert_str_eq(err, "/nonexistent/s.csv: No such file or directory");
    txn_set_free(&t);
    summary_set_free(&s);
}
END_TEST

Suite *suite_summary_read(void)
{
    Suite *s = suite_create("summary_read");
    TCase *tc = tcase_create("summary_read");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_parse_day, 0, sizeof DAYS / sizeof DAYS[0]);
    tcase_add_test(tc, test_day_numbers);
    tcase_add_test(tc, test_parse_number);
    tcase_add_test(tc, test_parse_number_is_strtod);
    tcase_add_test(tc, test_read_lifetimes_files);
    tcase_add_test(tc, test_read_tricky_file);
    tcase_add_test(tc, test_read_row_number_ids);
    tcase_add_loop_test(tc, test_bad_input, 0, sizeof BAD / sizeof BAD[0]);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);
    return s;
}

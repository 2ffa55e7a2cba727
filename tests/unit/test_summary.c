/* Transactions to summaries against lifetimes' published CDNOW summaries
 * (tests/data, see SOURCES.md), a calibration/holdout split checked by hand,
 * the input quirks of real exports, and the collapse into patterns. Run from
 * the repository root (the data paths are relative to it). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "summary/summary.h"

#define DATA "tests/data/"

/* Writes text to a new temp file; its name goes to path (64 bytes). */
static void write_temp(char path[64], const char *text)
{
    strcpy(path, "/tmp/ltvd_summary_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static int64_t day_of(const char *s)
{
    int64_t d;
    ck_assert_int_eq(summary_parse_day(s, &d), 0);
    return d;
}

static void read_txns(const char *path, txn_set *t)
{
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(path, t, err) == 0, "%s", err);
}

static void read_summary(const char *path, summary_set *s)
{
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(summary_read_csv(path, s, err) == 0, "%s", err);
}

/* The row of customer `id` (linear search: the sets are small). */
static const cust_summary *find_row(const summary_set *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->rows[i].id, id) == 0)
            return &s->rows[i];
    ck_abort_msg("no customer %s", id);
    return NULL;
}

/* lifetimes' files hold values rounded to 2 decimals (half-way cases may
 * round either way after floating-point sums, so half a cent is allowed). */
static int same_2dp(double ours, double published)
{
    return fabs(ours - published) <= 0.005 + 1e-9;
}

/* ------------------------------------------------------------------------
 * CDNOW: our summary equals lifetimes' for all 2,357 customers.
 * ------------------------------------------------------------------------ */

START_TEST(test_cdnow_summary_matches_lifetimes)
{
    txn_set t;
    summary_set ours, ref, ref_m;
    read_txns(DATA "cdnow_sample_transactions.csv", &t);
    ck_assert_uint_eq(t.n, 6919);
    ck_assert_uint_eq(t.n_customers, 2357);
    ck_assert_int_eq(t.last_day, day_of("1998-06-30"));
    ck_assert_int_eq(summary_from_transactions(&t, day_of("1997-09-30"), 7, &ours), 0);
    read_summary(DATA "cdnow_customers_summary.csv", &ref);
    read_summary(DATA "cdnow_customers_summary_with_transactions.csv", &ref_m);
    ck_assert_uint_eq(ours.n, 2357);
    ck_assert_uint_eq(ref.n, 2357);
    ck_assert_uint_eq(ref_m.n, 2357);
    ck_assert(ours.has_monetary);
    double total_x = 0;
    /* rows are in order of first appearance, which is by sample id here,
     * but look them up by id anyway */
    for (size_t i = 0; i < ref.n; i++) {
        const cust_summary *r = &ref.rows[i], *rm = &ref_m.rows[i];
        const cust_summary *o = find_row(&ours, r->id);
        ck_assert_str_eq(rm->id, r->id);
        ck_assert_msg(o->frequency == r->frequency && same_2dp(o->recency, r->recency) &&
                          same_2dp(o->T, r->T) &&
                          same_2dp(o->monetary_value, rm->monetary_value),
                      "customer %s: ours %g %g %g %g, lifetimes %g %g %g %g", r->id,
                      o->frequency, o->recency, o->T, o->monetary_value, r->frequency,
                      r->recency, r->T, rm->monetary_value);
        ck_assert_double_eq(o->weight, 1);
        ck_assert_double_eq(o->frequency_holdout, 0);
        ck_assert_double_eq(o->duration_holdout, 0);
        total_x += o->frequency;
    }
    ck_assert_double_eq(total_x, 2457);
    summary_set_free(&ref_m);
    summary_set_free(&ref);
    summary_set_free(&ours);
    txn_set_free(&t);
}
END_TEST

/* Days: customer 1 bought on 1997-01-01, 01-18, 08-02 and 12-12; customer
 * 1000 on 1997-02-07, 03-13, 04-28, 06-04, 07-28, 1998-01-10, 01-16, 05-09;
 * customer 5 once on 1997-01-01 (CDNOW_sample.txt). */
START_TEST(test_cdnow_calibration_holdout)
{
    txn_set t;
    summary_set s;
    read_txns(DATA "cdnow_sample_transactions.csv", &t);
    ck_assert_int_eq(summary_calibration_holdout(&t, day_of("1997-09-30"),
                                                 day_of("1998-06-30"), 7, &s),
                     0);
    ck_assert_uint_eq(s.n, 2357);
    const cust_summary *c1 = find_row(&s, "1");
    ck_assert_double_eq(c1->frequency, 2);
    ck_assert_double_eq_tol(c1->recency, 213 / 7.0, 1e-12);
    ck_assert_double_eq_tol(c1->T, 272 / 7.0, 1e-12);
    ck_assert_double_eq_tol(c1->monetary_value, (29.73 + 14.96) / 2, 1e-12);
    ck_assert_double_eq(c1->frequency_holdout, 1);
    ck_assert_double_eq_tol(c1->monetary_value_holdout, 26.48, 1e-12);
    ck_assert_double_eq(c1->duration_holdout, 39); /* 273 days */
    const cust_summary *c1000 = find_row(&s, "1000");
    ck_assert_double_eq(c1000->frequency, 4);
    ck_assert_double_eq_tol(c1000->recency, 171 / 7.0, 1e-12);
    ck_assert_double_eq_tol(c1000->T, 235 / 7.0, 1e-12);
    ck_assert_double_eq_tol(c1000->monetary_value, 16.26, 1e-12);
    ck_assert_double_eq(c1000->frequency_holdout, 3);
    ck_assert_double_eq_tol(c1000->monetary_value_holdout, (27.98 + 25.49 + 28.48) / 3,
                            1e-12);
    const cust_summary *c5 = find_row(&s, "5");
    ck_assert_double_eq(c5->frequency, 0);
    ck_assert_double_eq(c5->recency, 0);
    ck_assert_double_eq(c5->monetary_value, 0);
    ck_assert_double_eq(c5->frequency_holdout, 0);
    ck_assert_double_eq(c5->monetary_value_holdout, 0);
    /* 6,696 customer-days = 2,357 first days + 2,457 repeat days in the
     * calibration + 1,882 holdout days; holdout spend US$ 70,976.39. */
    double x = 0, xh = 0, spend = 0;
    for (size_t i = 0; i < s.n; i++) {
        x += s.rows[i].frequency;
        xh += s.rows[i].frequency_holdout;
        spend += s.rows[i].frequency_holdout * s.rows[i].monetary_value_holdout;
        ck_assert_double_eq(s.rows[i].duration_holdout, 39);
    }
    ck_assert_double_eq(x, 2457);
    ck_assert_double_eq(xh, 1882);
    ck_assert_double_eq_tol(spend, 70976.39, 1e-6);
    summary_set_free(&s);
    txn_set_free(&t);
}
END_TEST

START_TEST(test_summary_as_of_and_days)
{
    txn_set t;
    summary_set s;
    read_txns(DATA "cdnow_sample_transactions.csv", &t);
    /* as of 1997-01-01 only the customers who started that day, in days */
    ck_assert_int_eq(summary_from_transactions(&t, day_of("1997-01-01"), 1, &s), 0);
    ck_assert_uint_gt(s.n, 0);
    ck_assert_uint_lt(s.n, 2357);
    for (size_t i = 0; i < s.n; i++) {
        ck_assert_double_eq(s.rows[i].T, 0);
        ck_assert_double_eq(s.rows[i].frequency, 0);
    }
    summary_set_free(&s);
    /* as of the last day, in days: customer 1 has T = 545 days */
    ck_assert_int_eq(summary_from_transactions(&t, t.last_day, 1, &s), 0);
    ck_assert_uint_eq(s.n, 2357);
    ck_assert_double_eq(find_row(&s, "1")->T, 545);
    ck_assert_double_eq(find_row(&s, "1")->frequency, 3);
    ck_assert_double_eq(find_row(&s, "1")->recency, 345);
    summary_set_free(&s);
    /* before anyone: no rows */
    ck_assert_int_eq(summary_from_transactions(&t, day_of("1996-12-31"), 7, &s), 0);
    ck_assert_uint_eq(s.n, 0);
    summary_set_free(&s);
    ck_assert_int_eq(summary_from_transactions(&t, t.last_day, 0, &s), -1);
    ck_assert_int_eq(summary_from_transactions(&t, t.last_day, -7, &s), -1);
    ck_assert_int_eq(summary_from_transactions(&t, t.last_day, NAN, &s), -1);
    ck_assert_int_eq(summary_calibration_holdout(&t, 10, 9, 7, &s), -1);
    txn_set_free(&t);
}
END_TEST

/* ------------------------------------------------------------------------
 * Quirks of real exports.
 * ------------------------------------------------------------------------ */

/* BOM, CRLF, another column order, an extra id column, quoted ids with a
 * comma, RFC 3339 instants whose UTC day differs from their local day, a
 * zero amount, and no newline at the end. */
static const char QUIRKS[] =
    "\xEF\xBB\xBF"
    "amount,id,occurred_at,customer_id\r\n"
    "10.00,1,2024-01-01T23:30:00-02:00,\"acme, inc.\"\r\n" /* UTC 01-02 */
    "5,2,2024-01-02T01:00:00Z,\"acme, inc.\"\r\n"          /* same UTC day */
    "7.5,3,2024-01-10 00:30:00+05:00,\"acme, inc.\"\r\n"   /* UTC 01-09 */
    "0,4,2024-01-20,\"acme, inc.\"\r\n"                    /* a free order */
    "\"2.5\",5,2024-01-03t12:00:00.123456z,\"say \"\"hi\"\"\"\r\n"
    "1e1,6,2024-01-05T00:00:00,b\r\n"  /* naive: as written */
    "3,7,2024-01-31T23:59:60+00:00,b"; /* leap second */

START_TEST(test_quirks)
{
    char path[64];
    txn_set t;
    summary_set s;
    write_temp(path, QUIRKS);
    read_txns(path, &t);
    ck_assert_uint_eq(t.n, 7);
    ck_assert_uint_eq(t.n_customers, 3);
    ck_assert_str_eq(t.customer_ids[0], "acme, inc.");
    ck_assert_str_eq(t.customer_ids[1], "say \"hi\"");
    ck_assert_str_eq(t.customer_ids[2], "b");
    ck_assert_int_eq(t.items[0].day, day_of("2024-01-02"));
    ck_assert_int_eq(t.items[1].day, day_of("2024-01-02"));
    ck_assert_int_eq(t.items[2].day, day_of("2024-01-09"));
    ck_assert_double_eq(t.items[4].amount, 2.5);
    ck_assert_double_eq(t.items[5].amount, 10);
    ck_assert_int_eq(t.last_day, day_of("2024-01-31"));
    ck_assert_int_eq(summary_from_transactions(&t, day_of("2024-01-31"), 1, &s), 0);
    ck_assert_uint_eq(s.n, 3);
    const cust_summary *a = find_row(&s, "acme, inc.");
    ck_assert_double_eq(a->frequency, 2); /* 01-02 (twice), 01-09, 01-20 */
    ck_assert_double_eq(a->recency, 18);
    ck_assert_double_eq(a->T, 29);
    ck_assert_double_eq(a->monetary_value, 3.75); /* (7.5 + 0) / 2 */
    const cust_summary *b = find_row(&s, "b");
    ck_assert_double_eq(b->frequency, 1);
    ck_assert_double_eq(b->recency, 26);
    ck_assert_double_eq(b->monetary_value, 3);
    ck_assert_double_eq(find_row(&s, "say \"hi\"")->T, 28);
    summary_set_free(&s);
    txn_set_free(&t);
    unlink(path);
}
END_TEST

/* ------------------------------------------------------------------------
 * Patterns.
 * ------------------------------------------------------------------------ */

START_TEST(test_patterns_cdnow)
{
    summary_set s;
    btyd_pattern *p;
    size_t n;
    read_summary(DATA "cdnow_customers_summary.csv", &s);
    ck_assert_int_eq(summary_patterns(&s, &p, &n), 0);
    ck_assert_uint_eq(n, 1016); /* distinct (x, t_x, T) rows of the file */
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        w += p[i].weight;
        if (i > 0) /* strictly increasing (x, t_x, T) */
            ck_assert(p[i - 1].x < p[i].x ||
                      (p[i - 1].x == p[i].x &&
                       (p[i - 1].t_x < p[i].t_x ||
                        (p[i - 1].t_x == p[i].t_x && p[i - 1].T < p[i].T))));
    }
    ck_assert_double_eq(w, 2357);
    ck_assert_double_eq(p[0].x, 0);
    ck_assert_double_eq(p[n - 1].x, 29);
    free(p);
    gg_pattern *g;
    ck_assert_int_eq(summary_gg_patterns(&s, &g, &n), -1); /* no monetary column */
    summary_set_free(&s);
}
END_TEST

START_TEST(test_patterns_gg_and_weights)
{
    summary_set s;
    gg_pattern *g;
    btyd_pattern *p;
    size_t n;
    read_summary(DATA "cdnow_customers_summary_with_transactions.csv", &s);
    ck_assert_int_eq(summary_gg_patterns(&s, &g, &n), 0);
    ck_assert_uint_eq(n, 753); /* distinct (x, zbar) with x >= 1 */
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        w += g[i].weight;
        ck_assert(g[i].x >= 1);
        if (i > 0)
            ck_assert(g[i - 1].x < g[i].x ||
                      (g[i - 1].x == g[i].x && g[i - 1].m < g[i].m));
    }
    ck_assert_double_eq(w, 946);
    free(g);
    summary_set_free(&s);
    /* donations: 22 patterns already, weights summed from the file */
    read_summary(DATA "donations.csv", &s);
    ck_assert_int_eq(summary_patterns(&s, &p, &n), 0);
    ck_assert_uint_eq(n, 22);
    w = 0;
    for (size_t i = 0; i < n; i++)
        w += p[i].weight;
    ck_assert_double_eq(w, 11104);
    ck_assert_double_eq(p[0].x, 0);
    ck_assert_double_eq(p[0].weight, 3464);
    free(p);
    summary_set_free(&s);
    /* an empty set gives no patterns */
    summary_set empty = {0};
    ck_assert_int_eq(summary_patterns(&empty, &p, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(p);
}
END_TEST

static int cmp_reference(const void *pa, const void *pb)
{
    const btyd_pattern *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->t_x != b->t_x)
        return a->t_x < b->t_x ? -1 : 1;
    return (a->T > b->T) - (a->T < b->T);
}

/* btyd_patterns_collapse (a hash merge, then a quicksort of the distinct
 * ones) gives what sorting everything and merging neighbours gives: the same
 * triples in the same order with the same weights. Many repeats, -0 beside
 * +0, runs already sorted and reversed, and enough distinct triples to grow
 * its table many times. */
START_TEST(test_collapse_is_sort_merge)
{
    static const size_t sizes[] = {1, 2, 17, 1000, 200000};
    uint64_t st = 42;
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        size_t n = sizes[c];
        btyd_pattern *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
        ck_assert(p != NULL && q != NULL);
        for (size_t i = 0; i < n; i++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            double x = (double)(st % 7), t = (double)(st >> 8 & 63) / 7;
            double T = t + (double)(st >> 16 & (c == 4 ? 4095 : 3)) / 7;
            if (i % 3 == 0) /* sorted, then reversed, stretches */
                x = (double)(i % 1000 < 500 ? i % 500 : 999 - i % 1000) / 100;
            p[i] = (btyd_pattern){x, x == 0 && (st & 256) ? -0.0 : (x == 0 ? 0 : t), T,
                                  (double)(st >> 32 & 3) / 4};
        }
        memcpy(q, p, n * sizeof *p);
        size_t k = btyd_patterns_collapse(p, n);
        qsort(q, n, sizeof *q, cmp_reference); /* weights are quarters: exact sums */
        size_t m = 0;
        for (size_t i = 1; i < n; i++) {
            if (cmp_reference(&q[m], &q[i]) == 0)
                q[m].weight += q[i].weight;
            else
                q[++m] = q[i];
        }
        ck_assert_uint_eq(k, m + 1);
        for (size_t i = 0; i < k; i++) {
            ck_assert(cmp_reference(&p[i], &q[i]) == 0);
            ck_assert_double_eq(p[i].weight, q[i].weight);
        }
        free(p);
        free(q);
    }
}
END_TEST

Suite *suite_summary(void)
{
    Suite *s = suite_create("summary");
    TCase *tc = tcase_create("summary");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cdnow_summary_matches_lifetimes);
    tcase_add_test(tc, test_cdnow_calibration_holdout);
    tcase_add_test(tc, test_summary_as_of_and_days);
    tcase_add_test(tc, test_quirks);
    tcase_add_test(tc, test_patterns_cdnow);
    tcase_add_test(tc, test_patterns_gg_and_weights);
    tcase_add_test(tc, test_collapse_is_sort_merge);
    suite_add_tcase(s, tc);
    return s;
}

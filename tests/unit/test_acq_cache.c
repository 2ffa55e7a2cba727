/* The cache's acquisition fields (issue 11): month_bits kept by deltas in
 * any order against a direct computation, the month arithmetic against
 * known dates, and the attribute dictionaries (indices stable, names valid,
 * overwrite, erasure-style clearing, limits). No PostgreSQL. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/month.h"
#include "cache/cache.h"

/* 2000-01-01 is day 10957, 1970-01-01 day 0. */
START_TEST(test_month_arithmetic)
{
    ck_assert_int_eq(base_month_of_day(0), 1970 * 12);
    ck_assert_int_eq(base_month_of_day(10957), 2000 * 12);
    ck_assert_int_eq(base_month_of_day(10957 + 30), 2000 * 12);     /* 2000-01-31 */
    ck_assert_int_eq(base_month_of_day(10957 + 31), 2000 * 12 + 1); /* 2000-02-01 */
    ck_assert_int_eq(base_month_of_day(10957 + 59), 2000 * 12 + 1); /* 2000-02-29 */
    ck_assert_int_eq(base_month_of_day(10957 + 60), 2000 * 12 + 2); /* 2000-03-01 */
    ck_assert_int_eq(base_month_of_day(-1), 1969 * 12 + 11);
    for (int64_t m = 1900 * 12; m < 2200 * 12; m++) {
        int64_t d = base_month_first_day(m);
        ck_assert_int_eq(base_month_of_day(d), m);
        ck_assert_int_eq(base_month_of_day(d - 1), m - 1);
    }
    ck_assert_uint_eq(base_rotr64(1, 0), 1);
    ck_assert_uint_eq(base_rotr64(1, 1), (uint64_t)1 << 63);
    ck_assert_uint_eq(base_rotr64((uint64_t)1 << 5, 5), 1);
    ck_assert_uint_eq(base_rotr64(3, 64), 3);
}
END_TEST

/* The bits of a set of days computed directly: months since the first. */
static uint64_t direct_bits(const int32_t *days, int n)
{
    int32_t first = days[0];
    for (int i = 1; i < n; i++)
        if (days[i] < first)
            first = days[i];
    uint64_t bits = 0;
    for (int i = 0; i < n; i++) {
        int64_t k = base_month_of_day(days[i]) - base_month_of_day(first);
        if (k < 64)
            bits |= (uint64_t)1 << k;
    }
    return bits;
}

/* Deltas in random order over spans up to 8 years (so months past bit 63
 * occur, and a late early day shifts bits out) give the direct bits. */
START_TEST(test_month_bits_any_order)
{
    unsigned seed = 11;
    for (int trial = 0; trial < 5000; trial++) {
        int32_t days[16];
        int n = 1 + (int)(rand_r(&seed) % 16);
        int span = trial % 3 == 0 ? 60 : trial % 3 == 1 ? 900 : 2900;
        for (int i = 0; i < n; i++)
            days[i] = 10000 + (int32_t)(rand_r(&seed) % (unsigned)span);
        cache_summary s = {0};
        bool exists = false;
        for (int i = 0; i < n; i++) {
            bool seen = false;
            for (int j = 0; j < i; j++)
                seen |= days[j] == days[i];
            cache_summary_add_day(&s, &exists, days[i], !seen, 100);
        }
        ck_assert_uint_eq(s.month_bits, direct_bits(days, n));
        ck_assert(s.month_bits & 1);
    }
    ck_assert_uint_eq(cache_month_bit(10957, 10957 + 31), 2);
    ck_assert_uint_eq(cache_month_bit(10957, 10956), 0);
    ck_assert_uint_eq(
        cache_month_bit(10957, (int32_t)base_month_first_day(2000 * 12 + 64)), 0);
    ck_assert_uint_eq(
        cache_month_bit(10957, (int32_t)base_month_first_day(2000 * 12 + 63)),
        (uint64_t)1 << 63);
}
END_TEST

static cache_summary one_day(int32_t day)
{
    cache_summary s = {0};
    bool exists = false;
    cache_summary_add_day(&s, &exists, day, true, 10000);
    return s;
}

/* Attributes: set with a batch entry or alone, kept by entries that do not
 * set them, indices stable, names the cache's own. */
START_TEST(test_attrs_dictionary)
{
    cache *c = cache_new(0);
    ck_assert_ptr_nonnull(c);
    cache_summary s = one_day(20000);
    cache_entry e[3] = {
        {.id = "a", .s = s, .set_attrs = true, .channel = "search", .campaign = "spring"},
        {.id = "b", .s = s, .set_attrs = true, .channel = "social", .campaign = NULL},
        {.id = "c", .s = s},
    };
    ck_assert_int_eq(cache_upsert_many(c, e, 3), CACHE_OK);
    const char *ch, *ca;
    ck_assert_int_eq(cache_get_attrs(c, "a", &ch, &ca), CACHE_OK);
    ck_assert_str_eq(ch, "search");
    ck_assert_str_eq(ca, "spring");
    ck_assert_int_eq(cache_get_attrs(c, "b", &ch, &ca), CACHE_OK);
    ck_assert_str_eq(ch, "social");
    ck_assert_ptr_null(ca);
    ck_assert_int_eq(cache_get_attrs(c, "c", &ch, &ca), CACHE_OK);
    ck_assert_ptr_null(ch);
    ck_assert_ptr_null(ca);
    ck_assert_int_eq(cache_get_attrs(c, "zz", &ch, &ca), CACHE_NOT_FOUND);

    /* an entry without set_attrs keeps them */
    ck_assert_int_eq(cache_upsert(c, "a", &s), CACHE_OK);
    ck_assert_int_eq(cache_get_attrs(c, "a", &ch, &ca), CACHE_OK);
    ck_assert_str_eq(ch, "search");

    const char *names[8];
    ck_assert_uint_eq(cache_channel_names(c, names, 8), 3);
    ck_assert_ptr_null(names[0]);
    ck_assert_str_eq(names[1], "search");
    ck_assert_str_eq(names[2], "social");
    ck_assert_uint_eq(cache_campaign_names(c, names, 8), 2);
    ck_assert_str_eq(names[1], "spring");
    ck_assert_uint_eq(cache_channel_names(c, names, 1), 3); /* max 1: names[0] only */

    /* set alone: overwrite, unknown customer, bad values */
    ck_assert_int_eq(cache_set_attrs(c, "c", "social", "fall"), CACHE_OK);
    ck_assert_int_eq(cache_set_attrs(c, "nobody", "social", NULL), CACHE_NOT_FOUND);
    char big[CACHE_ATTR_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(cache_set_attrs(c, "c", big, NULL), CACHE_EINVAL);
    ck_assert_int_eq(cache_set_attrs(c, "c", "", NULL), CACHE_EINVAL);
    big[CACHE_ATTR_MAX] = '\0';
    ck_assert_int_eq(cache_set_attrs(c, "b", big, NULL), CACHE_OK);
    ck_assert_uint_eq(cache_channel_names(c, names, 8), 4); /* search, social, big */

    /* the records with their attributes, in insertion order */
    cache_summary got[4];
    cache_attrs a[4];
    const char *ids[4];
    ck_assert_uint_eq(cache_records_attrs(c, 0, 4, got, a, ids), 3);
    ck_assert_str_eq(ids[2], "c");
    ck_assert_uint_eq(a[0].channel, 1);
    ck_assert_uint_eq(a[0].campaign, 1);
    ck_assert_uint_eq(a[1].channel, 3);
    ck_assert_uint_eq(a[1].campaign, CACHE_ATTR_NONE);
    ck_assert_uint_eq(a[2].channel, 2);
    ck_assert_uint_eq(a[2].campaign, 2);
    ck_assert_uint_eq(got[2].month_bits, 1);
    ck_assert_uint_eq(cache_records_attrs(c, 2, 4, got, a, NULL), 1);

    /* clearing (as an erasure does) */
    cache_entry clear = {.id = "a", .s = s, .set_attrs = true};
    ck_assert_int_eq(cache_upsert_many(c, &clear, 1), CACHE_OK);
    ck_assert_int_eq(cache_get_attrs(c, "a", &ch, &ca), CACHE_OK);
    ck_assert_ptr_null(ch);
    ck_assert_ptr_null(ca);
    /* a bad value in a batch refuses the whole batch */
    cache_entry bad[2] = {{.id = "d", .s = s},
                          {.id = "e", .s = s, .set_attrs = true, .channel = ""}};
    ck_assert_int_eq(cache_upsert_many(c, bad, 2), CACHE_EINVAL);
    ck_assert_int_eq(cache_get_attrs(c, "d", &ch, &ca), CACHE_NOT_FOUND);
    cache_free(c);
}
END_TEST

/* Past 65534 distinct values a dictionary maps the rest to
 * CACHE_ATTR_OVERFLOW (no name); the known ones keep their index. */
START_TEST(test_attrs_overflow)
{
    cache *c = cache_new(0);
    cache_summary s = one_day(20000);
    char id[32], v[32];
    for (int i = 0; i < 65540; i++) {
        snprintf(id, sizeof id, "c%d", i);
        snprintf(v, sizeof v, "campaign-%d", i);
        cache_entry e = {
            .id = id, .s = s, .set_attrs = true, .channel = "x", .campaign = v};
        ck_assert_int_eq(cache_upsert_many(c, &e, 1), CACHE_OK);
    }
    ck_assert_uint_eq(cache_campaign_names(c, NULL, 0), 65535);
    cache_attrs a[1];
    cache_summary got[1];
    ck_assert_uint_eq(cache_records_attrs(c, 65539, 1, got, a, NULL), 1);
    ck_assert_uint_eq(a[0].campaign, CACHE_ATTR_OVERFLOW);
    ck_assert_uint_eq(cache_records_attrs(c, 10, 1, got, a, NULL), 1);
    ck_assert_uint_eq(a[0].campaign, 11);
    const char *ch, *ca;
    ck_assert_int_eq(cache_get_attrs(c, "c65539", &ch, &ca), CACHE_OK);
    ck_assert_ptr_null(ca);
    ck_assert_str_eq(ch, "x");
    cache_free(c);
}
END_TEST

/* The record keeps the span and the purchase days in 16 bits: the longest
 * span round-trips, a longer one is refused (nothing changes). */
START_TEST(test_record_limits)
{
    cache *c = cache_new(0);
    cache_summary s = {0, 65535, 65535, 1, 2, 3}, got;
    ck_assert_int_eq(cache_upsert(c, "long", &s), CACHE_OK);
    ck_assert_int_eq(cache_get(c, "long", &got), CACHE_OK);
    ck_assert_int_eq(got.last_day, 65535);
    ck_assert_uint_eq(got.n_days, 65535);
    ck_assert_uint_eq(got.month_bits, 3);
    cache_summary far = {-5, 65530, 2, 0, 0, 1};
    ck_assert_int_eq(cache_upsert(c, "neg", &far), CACHE_OK);
    ck_assert_int_eq(cache_get(c, "neg", &got), CACHE_OK);
    ck_assert_int_eq(got.first_day, -5);
    ck_assert_int_eq(got.last_day, 65530);
    cache_summary too_long = {0, 65536, 2, 0, 0, 1};
    ck_assert_int_eq(cache_upsert(c, "long", &too_long), CACHE_EINVAL);
    cache_summary erased = {INT32_MIN, INT32_MIN, 0, 0, 0, 0};
    ck_assert_int_eq(cache_upsert(c, "gone", &erased), CACHE_OK);
    bool found;
    const char *id = "gone";
    ck_assert_uint_eq(cache_get_many(c, &id, 1, &got, &found), 1);
    ck_assert_int_eq(got.first_day, INT32_MIN);
    ck_assert_int_eq(got.last_day, INT32_MIN);
    ck_assert_int_eq(cache_get(c, "long", &got), CACHE_OK);
    ck_assert_int_eq(got.last_day, 65535); /* unchanged */
    cache_free(c);
}
END_TEST

Suite *suite_acq_cache(void)
{
    Suite *s = suite_create("acq_cache");
    TCase *t = tcase_create("acq_cache");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_month_arithmetic);
    tcase_add_test(t, test_month_bits_any_order);
    tcase_add_test(t, test_attrs_dictionary);
    tcase_add_test(t, test_attrs_overflow);
    tcase_add_test(t, test_record_limits);
    suite_add_tcase(s, t);
    return s;
}

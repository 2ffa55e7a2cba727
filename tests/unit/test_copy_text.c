/* The text the store sends PostgreSQL (src/store/copy_text.c): dates
 * (summary_format_day, which it uses) and times formatted by hand agree
 * with gmtime/strftime over every day of years 1970-9999 and around the
 * epoch; integers print as printf does;
 * amounts read as exact units or are refused; the jansson arena
 * (src/ingest/json_arena.c) gives back what it was given. */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ingest/json_arena.h"
#include "store/copy_text.h"
#include "summary/summary.h"

START_TEST(test_dates_match_gmtime)
{
    for (int64_t day = -3000; day <= 2932896; day += day < 30000 ? 1 : 7) {
        char got[16], want[16];
        time_t t = (time_t)(day * 86400);
        struct tm tm;
        ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
        strftime(want, sizeof want, "%Y-%m-%d", &tm);
        int rc = summary_format_day(day, got);
        if (tm.tm_year + 1900 < 0)
            ck_assert_int_eq(rc, -1);
        else
            ck_assert_msg(rc == 0 && strcmp(got, want) == 0, "day %lld: %s, want %s",
                          (long long)day, got, want);
    }
    char got[16];
    ck_assert_int_eq(summary_format_day(2932897, got), -1); /* 10000-01-01 */
}
END_TEST

START_TEST(test_times_match_strftime)
{
    for (int64_t s = 0; s < 400LL * 86400 * 366; s += 7919 * 13) {
        store_item it = {.occurred_at_s = s};
        char got[64], want[64];
        time_t t = (time_t)s;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S+00", &tm);
        ck_assert_str_eq(store_when_text(&it, got), want);
    }
    store_item text = {.occurred_at = "2024-01-01T23:30:00-02:00"};
    char buf[64];
    ck_assert_str_eq(store_when_text(&text, buf), "2024-01-01T23:30:00-02:00");
}
END_TEST

START_TEST(test_integers_and_amounts)
{
    const int64_t vals[] = {0, 7, -7, 10, 99999, INT64_MAX, INT64_MIN, -1000000007};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char got[24], want[24];
        snprintf(want, sizeof want, "%lld", (long long)vals[i]);
        ck_assert_uint_eq(store_fmt_i64(got, vals[i]), strlen(want));
        ck_assert_str_eq(got, want);
    }
    struct {
        const char *text;
        int64_t units; /* -1: refused */
    } cases[] = {
        {"0", 0},
        {"12", 120000},
        {"12.5", 125000},
        {"0.0001", 1},
        {"1.2345", 12345},
        {"1.23450000", 12345},
        {"99999999999999.9999", 999999999999999999},
        {"1.23456", -1},
        {"", -1},
        {".", -1},
        {"1.", -1},
        {".5", 5000},
        {"-1", -1},
        {"1e3", -1},
        {"123456789012345", -1},
        {"1,5", -1},
        {"00012.50", 125000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t u = -42;
        int rc = store_amount_units(cases[i].text, &u);
        if (cases[i].units < 0)
            ck_assert_msg(rc == -1, "\"%s\" accepted", cases[i].text);
        else
            ck_assert_msg(rc == 0 && u == cases[i].units, "\"%s\": rc %d, %lld",
                          cases[i].text, rc, (long long)u);
    }
}
END_TEST

START_TEST(test_json_arena)
{
    ingest_json_arena_init();
    json_t *outside = json_pack("{s:s}", "kept", "across the arena");
    for (int round = 0; round < 3; round++) {
        ingest_json_arena_begin();
        json_t *a = json_array();
        for (int i = 0; i < 20000; i++) /* more than one block */
            json_array_append_new(a, json_pack("{s:i,s:s}", "i", i, "s", "some text"));
        ck_assert_uint_eq(json_array_size(a), 20000);
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_array_get(a, 19999), "i")), 19999);
        json_decref(a);
        ingest_json_arena_end();
    }
    ck_assert_str_eq(json_string_value(json_object_get(outside, "kept")),
                     "across the arena");
    json_decref(outside); /* made by malloc, freed by free */
}
END_TEST

Suite *suite_copy_text(void)
{
    Suite *s = suite_create("copy_text");
    TCase *tc = tcase_create("copy_text");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dates_match_gmtime);
    tcase_add_test(tc, test_times_match_strftime);
    tcase_add_test(tc, test_integers_and_amounts);
    tcase_add_test(tc, test_json_arena);
    suite_add_tcase(s, tc);
    return s;
}

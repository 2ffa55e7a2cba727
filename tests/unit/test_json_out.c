/* json_out (src/http/json_out.c) writes what jansson's json_dumps(JSON_COMPACT
 * | JSON_REAL_PRECISION(17)) writes: reals over many magnitudes and
 * integral values, strings with quotes, backslashes, every control byte and
 * multi-byte UTF-8; and the score document parses back to its values. */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http/json_out.h"

static void same_as_jansson(json_t *v, void (*write)(json_out *, const void *),
                            const void *arg)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
    json_out b = {0};
    write(&b, arg);
    size_t len = 0;
    char *got = json_out_take(&b, &len);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(len, strlen(want));
    free(want);
    free(got);
    json_decref(v);
}

static void write_real(json_out *b, const void *d)
{
    json_out_real(b, *(const double *)d);
}

static void write_int(json_out *b, const void *v)
{
    json_out_int(b, *(const long long *)v);
}

static void write_str(json_out *b, const void *s)
{
    json_out_str(b, s);
}

START_TEST(test_json_out_reals)
{
    static const double fixed[] = {0,
                                   -0.0,
                                   1,
                                   13,
                                   -7,
                                   0.1,
                                   1e-300,
                                   1e300,
                                   1e16,
                                   1e17,
                                   123456789012345678.0,
                                   2.5e-7,
                                   0.726620311664282,
                                   1795613648.8105111};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same_as_jansson(json_real(fixed[i]), write_real, &fixed[i]);
    srand(7);
    for (int i = 0; i < 20000; i++) {
        double d = ((double)rand() / RAND_MAX - 0.5) * pow(10, rand() % 40 - 20);
        if (i % 5 == 0)
            d = floor(d * 1000);
        same_as_jansson(json_real(d), write_real, &d);
    }
}
END_TEST

START_TEST(test_json_out_strings)
{
    static const char *const fixed[] = {"",
                                        "c1",
                                        "a\"b",
                                        "back\\slash",
                                        "x'); DROP TABLE t;--",
                                        "<script>",
                                        "caf\xc3\xa9 \xf0\x9f\x9b\x92",
                                        "a/b?c=d#e",
                                        "\x7f"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same_as_jansson(json_string(fixed[i]), write_str, fixed[i]);
    char s[2] = {0, 0};
    for (int c = 1; c < 0x20; c++) {
        s[0] = (char)c;
        same_as_jansson(json_string(s), write_str, s);
    }
}
END_TEST

START_TEST(test_json_out_ints_and_keys)
{
    json_out b = {0};
    json_out_raw(&b, "{");
    json_out_key(&b, "n");
    json_out_int(&b, -9223372036854775807LL);
    json_out_raw(&b, "}");
    size_t len = 0;
    char *got = json_out_take(&b, &len);
    ck_assert_str_eq(got, "{\"n\":-9223372036854775807}");
    free(got);
    json_out empty = {0};
    ck_assert_ptr_null(json_out_take(&empty, &len));
    /* integers as jansson writes them, both ends and between */
    static const long long fixed[] = {0,   -1, 1,   9,         10,
                                      -10, 99, 100, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same_as_jansson(json_integer(fixed[i]), write_int, &fixed[i]);
    srand(11);
    for (int i = 0; i < 20000; i++) {
        long long v = ((long long)rand() << 31 ^ rand()) >> (rand() % 60);
        if (i % 2)
            v = -v;
        same_as_jansson(json_integer(v), write_int, &v);
    }
}
END_TEST

Suite *suite_json_out(void)
{
    Suite *s = suite_create("json_out");
    TCase *tc = tcase_create("json_out");
    tcase_add_test(tc, test_json_out_reals);
    tcase_add_test(tc, test_json_out_strings);
    tcase_add_test(tc, test_json_out_ints_and_keys);
    suite_add_tcase(s, tc);
    return s;
}

/* base_fmt_g17 (src/base/fmt_g17.c) writes what snprintf's "%.17g" writes,
 * byte for byte: on random bit patterns (every exponent, the snprintf
 * fallback among them), log-uniform magnitudes across its integer range
 * and past both ends, integers and dyadic fractions, the doubles beside
 * every power of ten (where the rounding carries into the next power) and
 * exact ties at the 17th digit (half to even). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/fmt_g17.h"

static uint64_t state = 88172645463325252ull;

/* xorshift64: reproducible, and every bit pattern reachable */
static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static double uniform(void)
{
    return (double)(next() >> 11) * 0x1p-53;
}

static size_t checked;

static void same(double d)
{
    char got[BASE_G17_MAX], want[BASE_G17_MAX];
    size_t n = base_fmt_g17(got, d);
    snprintf(want, sizeof want, "%.17g", d);
    ck_assert_msg(strcmp(got, want) == 0, "%a: %s, printf %s", d, got, want);
    ck_assert_uint_eq(n, strlen(want));
    checked++;
}

START_TEST(test_fmt_g17_random)
{
    checked = 0;
    for (int i = 0; i < 400000; i++) {
        uint64_t u = next();
        double d;
        memcpy(&d, &u, sizeof d);
        same(d);
    }
    for (int i = 0; i < 800000; i++) {
        double d = exp(log(1e-12) + uniform() * (log(1e18) - log(1e-12)));
        same(i & 1 ? -d : d);
    }
    for (int i = 0; i < 200000; i++)
        same(ldexp((double)(next() >> 11), -(int)(next() % 64)));
    for (int i = 0; i < 20000; i++) {
        same(i);
        same(i / 1000.0);
        same(i * 0.1);
    }
    fprintf(stderr, "fmt_g17 random: %zu doubles as printf writes them\n", checked);
}
END_TEST

START_TEST(test_fmt_g17_edges)
{
    checked = 0;
    static const double fixed[] = {0,
                                   -0.0,
                                   1,
                                   -1,
                                   0.1,
                                   0.5,
                                   1e-10,
                                   1e17,
                                   1e-300,
                                   1e300,
                                   5e-324,
                                   INFINITY,
                                   -INFINITY,
                                   NAN,
                                   0.726620311664282,
                                   1795613648.8105111,
                                   74.02,
                                   9007199254740993.0};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same(fixed[i]);
    for (int k = -12; k <= 18; k++) {
        double p = pow(10, k), d = p, u = p;
        for (int j = 0; j < 300; j++) {
            same(d);
            same(u);
            d = nextafter(d, 0);
            u = nextafter(u, INFINITY);
        }
    }
    /* 17 digits and a quarter, an eighth, a half: the 18th digit a 5 */
    for (int j = 0; j < 100000; j++) {
        same(0x1p50 + j * 0.25);
        same(0x1p49 + j * 0.125);
        same(0x1p51 + j * 0.5);
        same(1e15 + j * 0.125);
    }
    fprintf(stderr, "fmt_g17 edges: %zu doubles as printf writes them\n", checked);
}
END_TEST

Suite *suite_fmt_g17(void)
{
    Suite *s = suite_create("fmt_g17");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fmt_g17_random);
    tcase_add_test(tc, test_fmt_g17_edges);
    suite_add_tcase(s, tc);
    return s;
}

/* "%.17g" by integer arithmetic (fmt_g17.h). A double is m * 2^e with m
 * < 2^53; its 17 digits from the k-th power of ten are d * 10^(16 - k) =
 * m * 5^p * 2^(p + e) with p = 16 - k, rounded half to even. For 1e-10 <=
 * |d| < 1e17, p is at most 27 (5^27 < 2^63), so m * 5^p fits in 116 bits and
 * the shift's remainder decides the rounding exactly, as glibc's
 * multi-precision printf does. */
#include "base/fmt_g17.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __SIZEOF_INT128__

#define LO 1e-10
#define HI 1e17
#define P_MAX 27
#define TEN16 10000000000000000ull
#define TEN17 100000000000000000ull

typedef unsigned __int128 u128;

static const uint64_t pow5[P_MAX + 1] = {
    1ull,
    5ull,
    25ull,
    125ull,
    625ull,
    3125ull,
    15625ull,
    78125ull,
    390625ull,
    1953125ull,
    9765625ull,
    48828125ull,
    244140625ull,
    1220703125ull,
    6103515625ull,
    30517578125ull,
    152587890625ull,
    762939453125ull,
    3814697265625ull,
    19073486328125ull,
    95367431640625ull,
    476837158203125ull,
    2384185791015625ull,
    11920928955078125ull,
    59604644775390625ull,
    298023223876953125ull,
    1490116119384765625ull,
    7450580596923828125ull,
};

/* The powers of ten 1e-11 .. 1e17 as doubles (the nearest to each). */
#define P10_MIN (-11)
#define P10_MAX 17
static const double p10[P10_MAX - P10_MIN + 1] = {
    1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2,
    1e-1,  1e0,   1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
    1e9,   1e10,  1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
};

/* "00" .. "99" */
static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                            "25262728293031323334353637383940414243444546474849"
                            "50515253545556575859606162636465666768697071727374"
                            "75767778798081828384858687888990919293949596979899";

/* round(m * 2^e * 10^p), half to even, for 0 <= p <= P_MAX; 0 when it
 * does not fit in 64 bits. */
static uint64_t scaled(uint64_t m, int e, int p)
{
    u128 x = (u128)m * pow5[p]; /* < 2^116 */
    int s = p + e;
    if (s >= 0) {
        if (s > 11 || (x << s) >> 64)
            return 0;
        return (uint64_t)(x << s);
    }
    int sh = -s;
    if (sh >= 127)
        return 0;
    u128 q = x >> sh, r = x - (q << sh), half = (u128)1 << (sh - 1);
    if (r > half || (r == half && (q & 1)))
        q++;
    return q >> 64 ? 0 : (uint64_t)q;
}

/* The 17 digits n (10^16 <= n < 10^17) and the exponent *k of |d|, in
 * range; false if it cannot be had this way. */
static int digits17(double a, uint64_t *n, int *k)
{
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    uint64_t m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
    int e = (int)((bits >> 52) & 0x7ff) - 1075;
    /* floor(log10(2^(e + 52))) is k or k - 1; the power above tells which
     * (a misjudged boundary case costs a second try below) */
    int kk = (int)floor((e + 52) * 0.30102999566398120);
    if (kk + 1 >= P10_MIN && kk + 1 <= P10_MAX && a >= p10[kk + 1 - P10_MIN])
        kk++;
    for (int tries = 0; tries < 3; tries++) {
        int p = 16 - kk;
        if (p < 0 || p > P_MAX)
            return 0;
        uint64_t v = scaled(m, e, p);
        if (v == 0)
            return 0;
        if (v >= TEN17) {
            kk++;
            continue;
        }
        if (v < TEN16) {
            kk--;
            continue;
        }
        /* 10^16 may be d * 10^p rounded up from below 10^16: then d has 17
         * digits from the power below (9.9999999999999995e-08) */
        if (v == TEN16) {
            if (p + 1 > P_MAX)
                return 0;
            uint64_t below = scaled(m, e, p + 1);
            if (below != 0 && below < TEN17) {
                v = below;
                kk--;
            }
        }
        *n = v;
        *k = kk;
        return 1;
    }
    return 0;
}

/* %g's layout of the digits (trailing zeros of the fraction dropped, and
 * the point with them; the exponent signed, at least two digits). */
static size_t layout(char *out, int neg, uint64_t n, int k)
{
    char dig[17];
    for (int i = 15; i >= 1; i -= 2) {
        memcpy(dig + i, pairs + 2 * (n % 100), 2);
        n /= 100;
    }
    dig[0] = (char)('0' + n);
    int last = 16; /* the last significant digit */
    while (last > 0 && dig[last] == '0')
        last--;
    char *o = out;
    if (neg)
        *o++ = '-';
    if (k < -4 || k >= 17) {
        *o++ = dig[0];
        if (last > 0) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)last);
            o += last;
        }
        int ke = k < 0 ? -k : k;
        *o++ = 'e';
        *o++ = k < 0 ? '-' : '+';
        if (ke >= 100)
            *o++ = (char)('0' + ke / 100);
        *o++ = (char)('0' + ke / 10 % 10);
        *o++ = (char)('0' + ke % 10);
    } else if (k >= 0) {
        memcpy(o, dig, (size_t)k + 1);
        o += k + 1;
        if (last > k) {
            *o++ = '.';
            memcpy(o, dig + k + 1, (size_t)(last - k));
            o += last - k;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -k - 1; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)last + 1);
        o += last + 1;
    }
    *o = '\0';
    return (size_t)(o - out);
}

size_t base_fmt_g17(char *out, double d)
{
    double a = fabs(d);
    uint64_t n;
    int k;
    if (a >= LO && a < HI && digits17(a, &n, &k))
        return layout(out, d < 0, n, k);
    return (size_t)snprintf(out, BASE_G17_MAX, "%.17g", d);
}

#else /* no 128-bit integers: printf */

size_t base_fmt_g17(char *out, double d)
{
    return (size_t)snprintf(out, BASE_G17_MAX, "%.17g", d);
}

#endif

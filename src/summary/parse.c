/* Strict parsers for the text fields of the CSV files: calendar days (ISO
 * dates and RFC 3339 date-times, as UTC day numbers) and decimal numbers. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "summary/summary.h"

static const char DIGITS[] = "0123456789";

/* Exactly n decimal digits at s. Returns 1 and the value, or 0. */
static int fixed_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = 10 * v + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int summary_days_in_month(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t summary_day_of(int64_t unix_seconds)
{
    return floor_div(unix_seconds, 86400);
}

/* H. Hinnant's days_from_civil. */
int64_t summary_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD" at s (exactly 10 characters, valid date). */
static int parse_date(const char *s, int64_t *day)
{
    int y, m, d;
    if (!fixed_digits(s, 4, &y) || s[4] != '-' || !fixed_digits(s + 5, 2, &m) ||
        s[7] != '-' || !fixed_digits(s + 8, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > summary_days_in_month(y, m))
        return -1;
    *day = summary_days_from_civil(y, m, d);
    return 0;
}

/* "HH:MM:SS[.frac]" at *p; advances *p. Returns minutes of the day or -1. */
static int parse_time(const char **p)
{
    const char *s = *p;
    int h, mi, sec;
    if (!fixed_digits(s, 2, &h) || s[2] != ':' || !fixed_digits(s + 3, 2, &mi) ||
        s[5] != ':' || !fixed_digits(s + 6, 2, &sec))
        return -1;
    /* 60: a leap second, which the minute's arithmetic below keeps in its
     * own minute and day, as ingest_parse_time does (it reads :60 as :59) */
    if (h > 23 || mi > 59 || sec > 60)
        return -1;
    s += 8;
    if (*s == '.') {
        size_t n = strspn(++s, DIGITS);
        if (n == 0)
            return -1;
        s += n;
    }
    *p = s;
    return 60 * h + mi;
}

/* "Z" or "+HH:MM"/"-HH:MM" or nothing (taken as written) at s, then the end.
 * Returns 0 with the offset east of UTC in minutes, or -1. */
static int parse_offset(const char *s, int *minutes)
{
    int h, m;
    if (*s == '\0') {
        *minutes = 0;
        return 0;
    }
    if (*s == 'Z' || *s == 'z') {
        *minutes = 0;
        return s[1] == '\0' ? 0 : -1;
    }
    if ((*s != '+' && *s != '-') || !fixed_digits(s + 1, 2, &h) || s[3] != ':' ||
        !fixed_digits(s + 4, 2, &m) || s[6] != '\0' || h > 23 || m > 59)
        return -1;
    *minutes = (*s == '-' ? -1 : 1) * (60 * h + m);
    return 0;
}

int summary_parse_day(const char *s, int64_t *day)
{
    int64_t date;
    if (strlen(s) < 10 || parse_date(s, &date) != 0)
        return -1;
    const char *p = s + 10;
    if (*p == '\0') {
        *day = date;
        return 0;
    }
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    int minute = parse_time(&p);
    int offset;
    if (minute < 0 || parse_offset(p, &offset) != 0)
        return -1;
    *day = date + floor_div(minute - offset, 24 * 60);
    return 0;
}

int summary_format_day(int64_t day, char out[11])
{
    if (day < -1000000 || day > 3000000) /* far outside years 0..9999 */
        return -1;
    /* H. Hinnant's civil_from_days. */
    int64_t z = day + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    if (y < 0 || y > 9999)
        return -1;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
    return 0;
}

/* 10^0 .. 10^22: the powers of ten that are exact doubles. */
static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The digits of a decimal number, as the parser collects them: the value is
 * w * 10^(exp - scale) unless more than 19 significant digits were lost. */
typedef struct decimal {
    uint64_t w;    /* the significant digits (leading zeros skipped) */
    int sig;       /* how many */
    int lost;      /* there were more than 19 */
    int64_t scale; /* digits after the point */
    int64_t exp;   /* the exponent, saturated at +-100000 */
} decimal;

/* Adds the digits at *p to d, advancing *p; after the point when frac.
 * Returns how many there were. */
static size_t digits(const char **p, decimal *d, int frac)
{
    const char *s = *p;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned k = (unsigned)(*s - '0');
        d->scale += frac;
        if (d->w == 0 && k == 0)
            continue;
        if (d->sig == 19) {
            d->lost = 1;
            continue;
        }
        d->w = 10 * d->w + k;
        d->sig++;
    }
    size_t n = (size_t)(s - *p);
    *p = s;
    return n;
}

/* The exponent's [+-]digits at *p into d->exp. Returns 0 or -1 (no digit). */
static int exponent(const char **p, decimal *d)
{
    const char *s = *p;
    int neg = *s == '-';
    s += (*s == '+' || *s == '-');
    const char *first = s;
    for (; *s >= '0' && *s <= '9'; s++)
        if (d->exp < 100000)
            d->exp = 10 * d->exp + (*s - '0');
    if (s == first)
        return -1;
    d->exp = neg ? -d->exp : d->exp;
    *p = s;
    return 0;
}

/* Clinger's fast path (1990): when w <= 2^53 and |e| <= 22, w and 10^|e|
 * are exact doubles and one correctly rounded multiplication or division
 * gives the double nearest to w * 10^e, which is strtod's result (double
 * arithmetic, FLT_EVAL_METHOD 0, the default rounding mode, which ltvd
 * never changes). Returns 1 with *out, 0 when strtod must decide. */
static int fast_path(const decimal *d, int neg, double *out)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    int64_t e = d->exp - d->scale;
    if (d->w == 0) { /* no significant digit: nothing was lost */
        *out = neg ? -0.0 : 0.0;
        return 1;
    }
    if (d->lost || d->w > (UINT64_C(1) << 53) || e < -22 || e > 22)
        return 0;
    double v = e >= 0 ? (double)d->w * POW10[e] : (double)d->w / POW10[-e];
    *out = neg ? -v : v;
    return 1;
#else
    (void)d, (void)neg, (void)out;
    return 0;
#endif
}

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

/* 10^0 .. 10^19: the powers of ten below 2^64. */
static const uint64_t POW10_U64[] = {1u,
                                     10u,
                                     100u,
                                     1000u,
                                     10000u,
                                     100000u,
                                     1000000u,
                                     10000000u,
                                     100000000u,
                                     1000000000u,
                                     10000000000u,
                                     100000000000u,
                                     1000000000000u,
                                     10000000000000u,
                                     100000000000000u,
                                     1000000000000000u,
                                     10000000000000000u,
                                     100000000000000000u,
                                     1000000000000000000u,
                                     10000000000000000000u};

static int bit_length(u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64), lo = (uint64_t)v;
    return hi != 0 ? 128 - __builtin_clzll(hi) : (lo != 0 ? 64 - __builtin_clzll(lo) : 0);
}

/* q * 2^bexp (plus less than one unit when sticky) rounded to the nearest
 * double, ties to even. q has at most 128 bits; the result is normal. */
static double round_bits(u128 q, int bexp, int sticky)
{
    int shift = bit_length(q) - 53;
    if (shift <= 0) /* exact: then sticky is 0 (q is an exact product) */
        return ldexp((double)(uint64_t)q, bexp);
    u128 mant = q >> shift, rest = q & (((u128)1 << shift) - 1);
    u128 half = (u128)1 << (shift - 1);
    if (rest > half || (rest == half && (sticky || (mant & 1))))
        mant++;
    if (mant >> 53) { /* rounded up to 2^53 */
        mant >>= 1;
        shift++;
    }
    return ldexp((double)(uint64_t)mant, bexp + shift);
}

/* The nearest double to w * 10^e for 0 < w < 2^64 and |e| <= 19, by integer
 * arithmetic: w * 10^e is below 2^128; for e < 0, w is shifted left to 127
 * bits and divided by 10^-e, leaving a quotient of at least 63 bits and a
 * remainder that only decides ties. Exact, so strtod's result; used for
 * the 17-digit values pandas writes (1/7 of a week), which Clinger's path
 * cannot take (w > 2^53). */
static double exact_decimal(uint64_t w, int e)
{
    if (e >= 0)
        return round_bits((u128)w * POW10_U64[e], 0, 0);
    int s = 127 - (64 - __builtin_clzll(w));
    u128 num = (u128)w << s, den = POW10_U64[-e];
    u128 q = num / den;
    return round_bits(q, -s, num - q * den != 0);
}
#endif

int summary_parse_number(const char *s, double *out)
{
    decimal d = {0};
    const char *p = s + (*s == '+' || *s == '-');
    size_t n = digits(&p, &d, 0);
    if (*p == '.') {
        p++;
        n += digits(&p, &d, 1);
    }
    if (n == 0)
        return -1;
    if ((*p == 'e' || *p == 'E') && (p++, exponent(&p, &d) != 0))
        return -1;
    if (*p != '\0')
        return -1;
    if (fast_path(&d, *s == '-', out))
        return 0;
#ifdef __SIZEOF_INT128__
    int64_t e = d.exp - d.scale;
    if (!d.lost && e >= -19 && e <= 19) {
        double v = exact_decimal(d.w, (int)e);
        *out = *s == '-' ? -v : v;
        return 0;
    }
#endif
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != p || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Strict parsers for the text fields of the CSV files: calendar days (ISO
 * dates and RFC 3339 date-times, as UTC day numbers) and decimal numbers. */
#include <errno.h>
#include <math.h>
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

int summary_parse_number(const char *s, double *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    size_t int_digits = strspn(p, DIGITS);
    p += int_digits;
    size_t frac_digits = 0;
    if (*p == '.') {
        frac_digits = strspn(++p, DIGITS);
        p += frac_digits;
    }
    if (int_digits + frac_digits == 0)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        p += (*p == '+' || *p == '-');
        size_t exp_digits = strspn(p, DIGITS);
        if (exp_digits == 0)
            return -1;
        p += exp_digits;
    }
    if (*p != '\0')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != p || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

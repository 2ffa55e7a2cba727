/* CSV rows for `ltvd import`: the header's columns, then each record checked
 * field by field with the API's validators (batch.c), every problem of a row
 * collected into one "FILE:LINE: ..." message. */
#include "ingest/csv_rows.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "summary/csv.h"
#include "summary/summary.h"

struct ingest_csv {
    csv_reader *csv;
    int64_t now;
    size_t n_columns; /* fields in the header */
    long col_id;      /* -1: no id column */
    long col_customer, col_at, col_amount;
    long col_channel, col_campaign; /* -1: no such column */
};

/* A row's message under construction: "FILE:LINE: a; b; c". */
typedef struct problems {
    char *buf;
    size_t len;
    int n;
} problems;

static void problem(problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(problems *p, const char *fmt, ...)
{
    if (p->len + 3 >= INGEST_CSV_ERR_MAX)
        return;
    if (p->n++ > 0) {
        memcpy(p->buf + p->len, "; ", 3);
        p->len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->buf + p->len, INGEST_CSV_ERR_MAX - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len = p->len + (size_t)n < INGEST_CSV_ERR_MAX ? p->len + (size_t)n
                                                         : INGEST_CSV_ERR_MAX - 1;
}

/* At most 40 bytes of s for a message, control characters as '?'. */
static const char *shown(const char *s, char out[41])
{
    size_t i = 0;
    for (; s[i] != '\0' && i < 40; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    out[i] = '\0';
    return out;
}

/* ---- the header ---------------------------------------------------------- */

static int read_header(ingest_csv *c, char err[INGEST_CSV_ERR_MAX])
{
    int rc = csv_next(c->csv, err, INGEST_CSV_ERR_MAX);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        csv_errorf(c->csv, err, INGEST_CSV_ERR_MAX,
                   "empty file (need a header "
                   "customer_id,occurred_at,amount[,id])");
        return -1;
    }
    static const char *const names[3] = {"customer_id", "occurred_at", "amount"};
    long *cols[3] = {&c->col_customer, &c->col_at, &c->col_amount};
    for (int i = 0; i < 3; i++) {
        if ((*cols[i] = csv_find(c->csv, names[i])) < 0) {
            csv_errorf(c->csv, err, INGEST_CSV_ERR_MAX,
                       "missing column \"%s\" (need customer_id,occurred_at,amount "
                       "and optionally id)",
                       names[i]);
            return -1;
        }
    }
    c->col_id = csv_find(c->csv, "id");
    c->col_channel = csv_find(c->csv, "acquisition_channel");
    c->col_campaign = csv_find(c->csv, "campaign");
    c->n_columns = csv_count(c->csv);
    return 0;
}

ingest_csv *ingest_csv_open(FILE *fp, const char *name, int64_t now,
                            char err[INGEST_CSV_ERR_MAX])
{
    ingest_csv *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, INGEST_CSV_ERR_MAX, "%s: out of memory", name);
        return NULL;
    }
    c->now = now;
    if ((c->csv = csv_open_stream(fp, name, err, INGEST_CSV_ERR_MAX)) == NULL ||
        read_header(c, err) != 0)
        goto failed;
    return c;
failed:
    ingest_csv_close(c);
    return NULL;
}

bool ingest_csv_has_id(const ingest_csv *c)
{
    return c->col_id >= 0;
}

long ingest_csv_line(const ingest_csv *c)
{
    return csv_line(c->csv);
}

void ingest_csv_close(ingest_csv *c)
{
    if (c == NULL)
        return;
    csv_close(c->csv);
    free(c);
}

/* ---- fields ---------------------------------------------------------------- */

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned char b = *s;
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (b < 0x80) {
            s++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            n = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            n = 2;
            lo = b == 0xE0 ? 0xA0 : 0x80;
            hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            n = 3;
            lo = b == 0xF0 ? 0x90 : 0x80;
            hi = b == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (s[1] < lo || s[1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if (s[k] < 0x80 || s[k] > 0xBF)
                return false;
        s += n + 1;
    }
    return true;
}

static void check_id(problems *p, const char *field, const char *s)
{
    char buf[64];
    const char *why =
        ingest_check_id(s, strlen(s), INGEST_ID_BYTES_DEFAULT, buf, sizeof buf);
    if (why == NULL && !utf8_valid((const unsigned char *)s))
        why = "not valid UTF-8";
    if (why != NULL)
        problem(p, "%s: %s", field, why);
}

/* The fit reader's forms (summary_parse_day) rewritten as the API's RFC 3339
 * "YYYY-MM-DDTHH:MM:SS[.frac]zone", then the API's checks (range included). */
static void check_time(problems *p, const char *s, int64_t now, int64_t *secs)
{
    char v[41], buf[INGEST_TIME_MAX + 16];
    int64_t day;
    size_t len = strlen(s);
    if (summary_parse_day(s, &day) != 0 || len > INGEST_TIME_MAX) {
        problem(p, "occurred_at \"%s\": expected YYYY-MM-DD or RFC 3339", shown(s, v));
        return;
    }
    memcpy(buf, s, len + 1);
    if (len == 10) {
        memcpy(buf + 10, "T00:00:00Z", 11);
    } else {
        buf[10] = 'T';
        size_t end = 19; /* after the seconds and their fraction */
        if (buf[end] == '.')
            end += 1 + strspn(buf + end + 1, "0123456789");
        if (buf[end] == '\0')
            memcpy(buf + end, "Z", 2);
    }
    const char *why = ingest_parse_time(buf, strlen(buf), now, secs);
    if (why != NULL)
        problem(p, "occurred_at \"%s\": %s", shown(s, v), why);
}

/* "012.300" -> "12.3", "5." -> "5", ".50" -> "0.5", "0.000" -> "0": one text
 * per value, for the derived ids (and what is stored). */
static void canonical_amount(char a[INGEST_AMOUNT_MAX])
{
    char *dot = strchr(a, '.');
    if (dot != NULL) { /* trailing zeros of the fraction, then a bare point */
        char *end = a + strlen(a);
        while (end > dot + 1 && end[-1] == '0')
            end--;
        *(end == dot + 1 ? dot : end) = '\0';
    }
    const char *digits = a + strspn(a, "0");
    char tmp[INGEST_AMOUNT_MAX + 1];
    int n = snprintf(tmp, sizeof tmp, "%s%s",
                     *digits == '\0' || *digits == '.' ? "0" : "", digits);
    /* a "0" is only added where zeros went, or before a bare ".d" (5 characters
     * at most once trailing zeros are gone): never longer than the input */
    if (n > 0 && n < INGEST_AMOUNT_MAX)
        memcpy(a, tmp, (size_t)n + 1);
}

static void check_amount(problems *p, const char *s, char out[INGEST_AMOUNT_MAX])
{
    char v[41];
    const char *why = ingest_parse_amount(s, strlen(s), out);
    if (why != NULL)
        problem(p, "amount \"%s\": %s", shown(s, v), why);
    else
        canonical_amount(out);
}

/* An attribute column's value: NULL when absent or empty. */
static const char *attr_field(ingest_csv *c, problems *p, long col, const char *name)
{
    if (col < 0)
        return NULL;
    const char *s = csv_field(c->csv, (size_t)col);
    if (s[0] == '\0')
        return NULL;
    char buf[64];
    const char *why = ingest_check_id(s, strlen(s), INGEST_ATTR_BYTES, buf, sizeof buf);
    if (why == NULL && !utf8_valid((const unsigned char *)s))
        why = "not valid UTF-8";
    if (why != NULL)
        problem(p, "%s: %s", name, why);
    return s;
}

/* ---- rows ------------------------------------------------------------------ */

ingest_csv_status ingest_csv_next(ingest_csv *c, ingest_csv_row *row,
                                  char err[INGEST_CSV_ERR_MAX])
{
    int rc = csv_next(c->csv, err, INGEST_CSV_ERR_MAX);
    if (rc < 0)
        return INGEST_CSV_FAILED;
    if (rc == 0)
        return INGEST_CSV_END;
    if (csv_count(c->csv) != c->n_columns) {
        csv_errorf(c->csv, err, INGEST_CSV_ERR_MAX, "%zu fields, the header has %zu",
                   csv_count(c->csv), c->n_columns);
        return INGEST_CSV_BAD_ROW;
    }
    csv_errorf(c->csv, err, INGEST_CSV_ERR_MAX, "%s", "");
    problems p = {err, strlen(err), 0};
    memset(row, 0, sizeof *row);
    row->customer_id = csv_field(c->csv, (size_t)c->col_customer);
    check_id(&p, "customer_id", row->customer_id);
    if (c->col_id >= 0) {
        row->id = csv_field(c->csv, (size_t)c->col_id);
        check_id(&p, "id", row->id);
    }
    check_time(&p, csv_field(c->csv, (size_t)c->col_at), c->now, &row->occurred_at_s);
    check_amount(&p, csv_field(c->csv, (size_t)c->col_amount), row->amount);
    row->channel = attr_field(c, &p, c->col_channel, "acquisition_channel");
    row->campaign = attr_field(c, &p, c->col_campaign, "campaign");
    return p.n == 0 ? INGEST_CSV_ROW : INGEST_CSV_BAD_ROW;
}

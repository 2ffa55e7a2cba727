/* Cohorts by first-purchase month and customers by channel (cohorts.h). */
#include "summary/cohorts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- months */

int32_t cohort_month_of_day(int64_t day)
{
    /* Howard Hinnant's civil_from_days, year and month only */
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    return (int32_t)(y * 12 + (m - 1));
}

int cohort_format_month(int32_t mo, char out[8])
{
    if (mo < 0 || mo >= 10000 * 12)
        return -1;
    snprintf(out, 8, "%04d-%02d", (int)(mo / 12), (int)(mo % 12 + 1));
    return 0;
}

int cohort_parse_month(const char *s, int32_t *mo)
{
    for (int i = 0; i < 7; i++)
        if (i == 4 ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9'))
            return -1;
    if (s[7] != '\0')
        return -1;
    int y = atoi(s), m = atoi(s + 5);
    if (m < 1 || m > 12)
        return -1;
    *mo = (int32_t)(y * 12 + m - 1);
    return 0;
}

/* ------------------------------------------------------- accumulator */

/* Months added beyond the one that grows the range, at least: growing is
 * then amortized O(1) per customer. */
#define GROW_MONTHS 12

struct cohort_acc {
    size_t n_channels;   /* grid rows: n_channels, then the one of no channel */
    int32_t as_of_month; /* bounds the retention columns */
    int32_t lo;          /* the month of index 0 of rows and the grid */
    size_t span;         /* months allocated (0: no customer yet) */
    int32_t first, last; /* the months with customers (when span > 0) */
    cohort_row *rows;    /* [span]: the cohort of month lo + j */
    uint32_t *count;     /* [ch * span + j]: customers of channel ch in lo + j */
    cohort_channel *ch;  /* [n_channels + 1]: the sums (by_month unused) */
    cohort_channel all;
    bool failed;
};

cohort_acc *cohort_acc_new(size_t n_channels, int32_t as_of_month)
{
    cohort_acc *a = calloc(1, sizeof *a);
    if (a == NULL || n_channels >= COHORT_MAX_CELLS ||
        (a->ch = calloc(n_channels + 1, sizeof *a->ch)) == NULL) {
        free(a);
        return NULL;
    }
    a->n_channels = n_channels;
    a->as_of_month = as_of_month;
    return a;
}

void cohort_acc_free(cohort_acc *a)
{
    if (a == NULL)
        return;
    free(a->rows);
    free(a->count);
    free(a->ch);
    free(a);
}

/* Makes room for month m: the range grows to [lo', hi'] covering the old
 * one and m, with GROW_MONTHS or the old span more on m's side, never
 * past COHORT_MAX_CELLS cells. -1 when out of memory or too many cells. */
static int grow(cohort_acc *a, int32_t m)
{
    size_t rows = a->n_channels + 1, most = COHORT_MAX_CELLS / rows;
    int64_t first = a->span > 0 && a->first < m ? a->first : m;
    int64_t last = a->span > 0 && a->last > m ? a->last : m;
    if ((uint64_t)(last - first) + 1 > most)
        return -1;
    int64_t extra = a->span > GROW_MONTHS ? (int64_t)a->span : GROW_MONTHS;
    int64_t lo = a->span > 0 ? a->lo : m,
            hi = a->span > 0 ? lo + (int64_t)a->span - 1 : m;
    if (m < lo)
        lo = m - extra;
    if (m > hi)
        hi = m + extra;
    if ((uint64_t)(hi - lo) + 1 > most) { /* less slack: the cells bound holds */
        lo = lo < first ? first : lo;
        hi = lo + (int64_t)most - 1; /* >= last, as last - first < most */
    }
    size_t span = (size_t)(hi - lo) + 1;
    cohort_row *r = calloc(span, sizeof *r);
    uint32_t *cnt = calloc(rows * span, sizeof *cnt);
    if (r == NULL || cnt == NULL) {
        free(r);
        free(cnt);
        return -1;
    }
    if (a->span > 0) {
        /* only [first, last] holds customers: the old slack may lie outside
         * the new range when the cells bound cut it */
        size_t from = (size_t)(a->first - a->lo), to = (size_t)(a->first - lo),
               len = (size_t)(a->last - a->first) + 1;
        memcpy(r + to, a->rows + from, len * sizeof *r);
        for (size_t k = 0; k < rows; k++)
            memcpy(cnt + k * span + to, a->count + k * a->span + from, len * sizeof *cnt);
    }
    for (size_t j = 0; j < span; j++)
        r[j].month = (int32_t)(lo + (int64_t)j);
    free(a->rows);
    free(a->count);
    a->rows = r;
    a->count = cnt;
    a->lo = (int32_t)lo;
    a->span = span;
    return 0;
}

static void add_to_cohort(cohort_row *r, const cohort_customer *c)
{
    r->customers++;
    r->repeaters += c->n_days > 1;
    r->revenue += c->first_amount + c->repeat_amount;
    if (isfinite(c->predicted_ltv)) {
        r->predicted += c->predicted_ltv;
        r->n_predicted++;
    }
    for (uint64_t b = c->month_bits; b != 0; b &= b - 1)
        r->active[__builtin_ctzll(b)]++;
}

static void add_customer(cohort_channel *ch, const cohort_customer *c)
{
    ch->customers++;
    ch->first_sum += c->first_amount;
    ch->first_sumsq += c->first_amount * c->first_amount;
    ch->revenue += c->first_amount + c->repeat_amount;
}

int cohort_acc_add(cohort_acc *a, const cohort_customer *c)
{
    if (a->failed)
        return -1;
    int32_t m = cohort_month_of_day(c->first_day);
    if ((a->span == 0 || m < a->lo || (int64_t)m >= (int64_t)a->lo + (int64_t)a->span) &&
        grow(a, m) != 0) {
        a->failed = true;
        return -1;
    }
    if (a->span > 0 && a->all.customers > 0) {
        a->first = m < a->first ? m : a->first;
        a->last = m > a->last ? m : a->last;
    } else {
        a->first = a->last = m;
    }
    size_t j = (size_t)(m - a->lo);
    size_t ch = c->channel < a->n_channels ? c->channel : a->n_channels;
    add_to_cohort(&a->rows[j], c);
    a->count[ch * a->span + j]++;
    add_customer(&a->ch[ch], c);
    add_customer(&a->all, c);
    return 0;
}

/* ------------------------------------------------------------ results */

static int finish_cohorts(const cohort_acc *a, cohort_set *out)
{
    size_t n = 0;
    for (size_t j = 0; j < a->span; j++)
        n += a->rows[j].customers > 0;
    if (n == 0)
        return 0;
    if ((out->rows = calloc(n, sizeof *out->rows)) == NULL)
        return -1;
    for (size_t j = 0; j < a->span; j++) {
        if (a->rows[j].customers == 0)
            continue;
        cohort_row *r = &out->rows[out->n++];
        *r = a->rows[j];
        int64_t later = (int64_t)a->as_of_month - r->month + 1;
        r->n_later = later < 1                   ? 1
                     : later > COHORT_MONTH_BITS ? COHORT_MONTH_BITS
                                                 : (unsigned)later;
    }
    return 0;
}

/* The months of counts[0..span) with customers (month lo + j). */
static int fill_months(cohort_channel *out, const uint32_t *counts, int32_t lo,
                       size_t span)
{
    size_t k = 0;
    for (size_t j = 0; j < span; j++)
        k += counts[j] != 0;
    out->by_month = malloc((k ? k : 1) * sizeof *out->by_month);
    if (out->by_month == NULL)
        return -1;
    for (size_t j = 0; j < span; j++)
        if (counts[j] != 0)
            out->by_month[out->n_months++] =
                (cohort_month_count){lo + (int32_t)j, counts[j]};
    return 0;
}

static size_t cell_count(const cohort_acc *a, size_t ch, int32_t month)
{
    if (a->span == 0 || month < a->lo || (int64_t)month - a->lo >= (int64_t)a->span)
        return 0;
    return a->count[ch * a->span + (size_t)(month - a->lo)];
}

static void add_spend(cohort_channel *ch, const cohort_spend *s, size_t customers)
{
    ch->has_spend = true;
    ch->spend += s->spend;
    ch->spend_customers += customers;
    if (s->has_leads) {
        ch->has_leads = true;
        ch->leads += s->leads;
        ch->lead_customers += customers;
    }
}

static int finish_channels(const cohort_acc *a, const cohort_spend *sp, size_t n_spend,
                           cohort_channels *out)
{
    size_t nc = a->n_channels;
    out->n_channels = nc;
    if ((out->ch = calloc(nc + 1, sizeof *out->ch)) == NULL)
        return -1;
    for (size_t k = 0; k <= nc; k++)
        out->ch[k] = a->ch[k]; /* the sums; by_month is NULL there */
    out->all = a->all;
    if (a->span > 0) {
        uint32_t *col = calloc(a->span, sizeof *col); /* the overall months */
        if (col == NULL)
            return -1;
        for (size_t k = 0; k <= nc; k++)
            for (size_t j = 0; j < a->span; j++)
                col[j] += a->count[k * a->span + j];
        int rc = fill_months(&out->all, col, a->lo, a->span);
        free(col);
        for (size_t k = 0; rc == 0 && k <= nc; k++)
            rc = fill_months(&out->ch[k], a->count + k * a->span, a->lo, a->span);
        if (rc != 0)
            return -1;
    }
    for (size_t i = 0; i < n_spend; i++) {
        if (sp[i].channel >= nc)
            continue;
        size_t cust = cell_count(a, sp[i].channel, sp[i].month);
        add_spend(&out->ch[sp[i].channel], &sp[i], cust);
        add_spend(&out->all, &sp[i], cust);
    }
    return 0;
}

int cohort_acc_finish(const cohort_acc *a, const cohort_spend *sp, size_t n_spend,
                      cohort_set *out, cohort_channels *cc)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (cc != NULL)
        memset(cc, 0, sizeof *cc);
    if (a->failed || (out != NULL && finish_cohorts(a, out) != 0) ||
        (cc != NULL && finish_channels(a, sp, n_spend, cc) != 0))
        goto failed;
    return 0;
failed:
    if (out != NULL)
        cohort_set_free(out);
    if (cc != NULL)
        cohort_channels_free(cc);
    return -1;
}

/* ------------------------------------------------------- over an array */

/* a over c[0..n), then its results; -1 as cohort_acc_finish. */
static int build(const cohort_customer *c, size_t n, size_t n_channels,
                 int32_t as_of_month, const cohort_spend *sp, size_t n_spend,
                 cohort_set *out, cohort_channels *cc)
{
    cohort_acc *a = cohort_acc_new(n_channels, as_of_month);
    int rc = a != NULL ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cohort_acc_add(a, &c[i]);
    if (a != NULL) /* a failed add fails the finish too, emptying the results */
        rc = cohort_acc_finish(a, sp, n_spend, out, cc);
    else if (out != NULL)
        memset(out, 0, sizeof *out);
    else
        memset(cc, 0, sizeof *cc);
    cohort_acc_free(a);
    return rc;
}

int cohort_build(const cohort_customer *c, size_t n, int32_t as_of_month, cohort_set *out)
{
    return build(c, n, 0, as_of_month, NULL, 0, out, NULL);
}

void cohort_set_free(cohort_set *s)
{
    free(s->rows);
    memset(s, 0, sizeof *s);
}

int cohort_channels_build(const cohort_customer *c, size_t n, size_t n_channels,
                          const cohort_spend *sp, size_t n_spend, cohort_channels *out)
{
    return build(c, n, n_channels, 0, sp, n_spend, NULL, out);
}

void cohort_channels_free(cohort_channels *s)
{
    for (size_t k = 0; s->ch != NULL && k <= s->n_channels; k++)
        free(s->ch[k].by_month);
    free(s->ch);
    free(s->all.by_month);
    memset(s, 0, sizeof *s);
}

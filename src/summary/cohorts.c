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

/* One (channel, month) with customers: key (channel + 1) << 32 | month's
 * bits (0: an empty slot). */
typedef struct cell {
    uint64_t key;
    uint32_t count;
} cell;

struct cohort_acc {
    size_t n_channels;   /* channels; index n_channels is no channel */
    int32_t as_of_month; /* bounds the retention columns */
    int32_t lo;          /* the month of rows[0] */
    size_t span;         /* months allocated (0: no customer yet) */
    int32_t first, last; /* the months with customers (when span > 0) */
    cohort_row *rows;    /* [span]: the cohort of month lo + j */
    cell *cells;         /* open addressing, at most half full */
    size_t n_cells, cap_cells;
    cohort_channel *ch; /* [n_channels + 1]: the sums (by_month unused) */
    cohort_channel all;
    bool failed;
};

cohort_acc *cohort_acc_new(size_t n_channels, int32_t as_of_month)
{
    cohort_acc *a = calloc(1, sizeof *a);
    if (a == NULL || n_channels >= UINT32_MAX ||
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
    free(a->cells);
    free(a->ch);
    free(a);
}

/* Makes room for month m: the range grows to cover the old one and m, with
 * GROW_MONTHS or the old span more on m's side, never past
 * COHORT_MAX_MONTHS. -1 when out of memory or too many months. */
static int grow(cohort_acc *a, int32_t m)
{
    int64_t first = a->span > 0 && a->first < m ? a->first : m;
    int64_t last = a->span > 0 && a->last > m ? a->last : m;
    if (last - first + 1 > COHORT_MAX_MONTHS)
        return -1;
    int64_t extra = a->span > GROW_MONTHS ? (int64_t)a->span : GROW_MONTHS;
    int64_t lo = a->span > 0 ? a->lo : m,
            hi = a->span > 0 ? lo + (int64_t)a->span - 1 : m;
    if (m < lo)
        lo = m - extra;
    if (m > hi)
        hi = m + extra;
    if (hi - lo + 1 > COHORT_MAX_MONTHS) { /* less slack: the bound holds */
        lo = lo < first ? first : lo;
        hi = lo + COHORT_MAX_MONTHS - 1; /* >= last, as last - first < the bound */
    }
    size_t span = (size_t)(hi - lo) + 1;
    cohort_row *r = calloc(span, sizeof *r);
    if (r == NULL)
        return -1;
    if (a->span > 0) /* only [first, last] holds customers: the old slack
                        may lie outside the new range when the bound cut it */
        memcpy(r + (a->first - lo), a->rows + (a->first - a->lo),
               (size_t)(a->last - a->first + 1) * sizeof *r);
    for (size_t j = 0; j < span; j++)
        r[j].month = (int32_t)(lo + (int64_t)j);
    free(a->rows);
    a->rows = r;
    a->lo = (int32_t)lo;
    a->span = span;
    return 0;
}

static uint64_t cell_key(size_t ch, int32_t month)
{
    return (uint64_t)(ch + 1) << 32 | (uint32_t)month;
}

static size_t cell_slot(const cell *t, size_t cap, uint64_t key)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (t[i].key != 0 && t[i].key != key)
        i = (i + 1) & (cap - 1);
    return i;
}

/* Counts one customer in (ch, month). -1 when out of memory or past
 * COHORT_MAX_CELLS cells. */
static int cell_add(cohort_acc *a, size_t ch, int32_t month)
{
    uint64_t key = cell_key(ch, month);
    if (2 * (a->n_cells + 1) > a->cap_cells) {
        if (a->n_cells >= COHORT_MAX_CELLS)
            return -1;
        size_t cap = a->cap_cells ? 2 * a->cap_cells : 64;
        cell *t = calloc(cap, sizeof *t);
        if (t == NULL)
            return -1;
        for (size_t i = 0; i < a->cap_cells; i++)
            if (a->cells[i].key != 0)
                t[cell_slot(t, cap, a->cells[i].key)] = a->cells[i];
        free(a->cells);
        a->cells = t;
        a->cap_cells = cap;
    }
    cell *c = &a->cells[cell_slot(a->cells, a->cap_cells, key)];
    if (c->key == 0) {
        c->key = key;
        a->n_cells++;
    }
    c->count++;
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
    size_t ch = c->channel < a->n_channels ? c->channel : a->n_channels;
    if (((a->span == 0 || m < a->lo || (int64_t)m >= (int64_t)a->lo + (int64_t)a->span) &&
         grow(a, m) != 0) ||
        cell_add(a, ch, m) != 0) {
        a->failed = true;
        return -1;
    }
    if (a->all.customers > 0) {
        a->first = m < a->first ? m : a->first;
        a->last = m > a->last ? m : a->last;
    } else {
        a->first = a->last = m;
    }
    add_to_cohort(&a->rows[m - a->lo], c);
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

static size_t cell_count(const cohort_acc *a, size_t ch, int32_t month)
{
    if (a->cap_cells == 0)
        return 0;
    return a->cells[cell_slot(a->cells, a->cap_cells, cell_key(ch, month))].count;
}

static int cmp_cell(const void *x, const void *y)
{
    uint64_t a = ((const cell *)x)->key, b = ((const cell *)y)->key;
    /* by channel, then month (a signed int32 in the low bits) */
    if ((a >> 32) != (b >> 32))
        return (a >> 32) < (b >> 32) ? -1 : 1;
    int32_t ma = (int32_t)(uint32_t)a, mb = (int32_t)(uint32_t)b;
    return (ma > mb) - (ma < mb);
}

/* Each channel's months with customers, ascending, from the cells; the
 * overall months from the cohorts. */
static int fill_months(const cohort_acc *a, cohort_channels *out)
{
    size_t n = 0;
    for (size_t j = 0; j < a->span; j++)
        n += a->rows[j].customers > 0;
    out->all.by_month = malloc((n ? n : 1) * sizeof *out->all.by_month);
    cell *v = malloc((a->n_cells ? a->n_cells : 1) * sizeof *v);
    if (out->all.by_month == NULL || v == NULL) {
        free(v);
        return -1;
    }
    for (size_t j = 0; j < a->span; j++)
        if (a->rows[j].customers > 0)
            out->all.by_month[out->all.n_months++] =
                (cohort_month_count){a->rows[j].month, a->rows[j].customers};
    size_t k = 0;
    for (size_t i = 0; i < a->cap_cells; i++)
        if (a->cells[i].key != 0)
            v[k++] = a->cells[i];
    qsort(v, k, sizeof *v, cmp_cell);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < k;) {
        size_t e = i, ch = (size_t)(v[i].key >> 32) - 1;
        while (e < k && v[e].key >> 32 == v[i].key >> 32)
            e++;
        cohort_channel *c = &out->ch[ch];
        if ((c->by_month = malloc((e - i) * sizeof *c->by_month)) == NULL)
            rc = -1;
        for (; rc == 0 && i < e; i++)
            c->by_month[c->n_months++] =
                (cohort_month_count){(int32_t)(uint32_t)v[i].key, v[i].count};
    }
    free(v);
    return rc;
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
    if (a->span > 0 && fill_months(a, out) != 0)
        return -1;
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

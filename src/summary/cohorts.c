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

/* Days spanned up to which months are looked up in a table (~100 years). */
#define MONTH_TABLE_DAYS 36600

/* The month of each first day: a table of the days spanned when they span
 * at most MONTH_TABLE_DAYS (an index instead of the calendar arithmetic,
 * for the passes over a million customers), else computed. */
typedef struct months {
    int32_t *of_day; /* [day - lo_day], or NULL */
    int64_t lo_day;
    int32_t lo, hi; /* the first and last month */
} months;

static inline int32_t month_of(const months *t, int64_t day)
{
    return t->of_day != NULL ? t->of_day[day - t->lo_day] : cohort_month_of_day(day);
}

/* Fills *t for the customers (free t->of_day); false when there are none.
 * Without memory for the table the months are computed instead. */
static bool months_init(months *t, const cohort_customer *c, size_t n)
{
    t->of_day = NULL;
    if (n == 0)
        return false;
    int64_t lo = c[0].first_day, hi = lo;
    for (size_t i = 1; i < n; i++) {
        lo = c[i].first_day < lo ? c[i].first_day : lo;
        hi = c[i].first_day > hi ? c[i].first_day : hi;
    }
    t->lo_day = lo;
    t->lo = cohort_month_of_day(lo);
    t->hi = cohort_month_of_day(hi);
    if (hi - lo < MONTH_TABLE_DAYS &&
        (t->of_day = malloc((size_t)(hi - lo + 1) * sizeof *t->of_day)) != NULL)
        for (int64_t d = lo; d <= hi; d++)
            t->of_day[d - lo] = cohort_month_of_day(d);
    return true;
}

/* ------------------------------------------------------------ cohorts */

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

int cohort_build(const cohort_customer *c, size_t n, int32_t as_of_month, cohort_set *out)
{
    memset(out, 0, sizeof *out);
    months mt;
    if (!months_init(&mt, c, n))
        return 0;
    int32_t lo = mt.lo;
    size_t span = (size_t)(mt.hi - lo) + 1;
    int32_t *slot = malloc(span * sizeof *slot); /* month - lo -> row, or -1 */
    if (slot == NULL) {
        free(mt.of_day);
        return -1;
    }
    for (size_t j = 0; j < span; j++)
        slot[j] = -1;
    for (size_t i = 0; i < n; i++)
        slot[month_of(&mt, c[i].first_day) - lo] = 0;
    for (size_t j = 0; j < span; j++)
        if (slot[j] == 0)
            slot[j] = (int32_t)out->n++;
    out->rows = calloc(out->n, sizeof *out->rows);
    if (out->rows == NULL) {
        free(slot);
        free(mt.of_day);
        out->n = 0;
        return -1;
    }
    for (size_t j = 0; j < span; j++)
        if (slot[j] >= 0) {
            cohort_row *r = &out->rows[slot[j]];
            r->month = lo + (int32_t)j;
            int64_t later = (int64_t)as_of_month - r->month + 1;
            r->n_later = later < 1                   ? 1
                         : later > COHORT_MONTH_BITS ? COHORT_MONTH_BITS
                                                     : (unsigned)later;
        }
    for (size_t i = 0; i < n; i++)
        add_to_cohort(&out->rows[slot[month_of(&mt, c[i].first_day) - lo]], &c[i]);
    free(slot);
    free(mt.of_day);
    return 0;
}

void cohort_set_free(cohort_set *s)
{
    free(s->rows);
    memset(s, 0, sizeof *s);
}

/* ----------------------------------------------------------- channels */

typedef struct grid {
    uint32_t *count; /* [(channel) * span + month - lo], channel n = none */
    int32_t lo;
    size_t span;
} grid;

static size_t cell_count(const grid *g, size_t ch, int32_t month)
{
    if (g->count == NULL || month < g->lo || (size_t)(month - g->lo) >= g->span)
        return 0;
    return g->count[ch * g->span + (size_t)(month - g->lo)];
}

static void add_customer(cohort_channel *ch, const cohort_customer *c)
{
    ch->customers++;
    ch->first_sum += c->first_amount;
    ch->first_sumsq += c->first_amount * c->first_amount;
    ch->revenue += c->first_amount + c->repeat_amount;
}

/* The months of channel row `ch` of the grid with customers. */
static int fill_months(cohort_channel *out, const grid *g, size_t ch)
{
    size_t k = 0;
    for (size_t j = 0; j < g->span; j++)
        k += g->count[ch * g->span + j] != 0;
    out->by_month = malloc((k ? k : 1) * sizeof *out->by_month);
    if (out->by_month == NULL)
        return -1;
    for (size_t j = 0; j < g->span; j++) {
        uint32_t v = g->count[ch * g->span + j];
        if (v != 0)
            out->by_month[out->n_months++] = (cohort_month_count){g->lo + (int32_t)j, v};
    }
    return 0;
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

static int count_customers(const cohort_customer *c, size_t n, cohort_channels *out,
                           grid *g)
{
    months mt;
    if (!months_init(&mt, c, n))
        return 0;
    g->lo = mt.lo;
    g->span = (size_t)(mt.hi - g->lo) + 1;
    size_t rows = out->n_channels + 1;
    if (g->span > COHORT_MAX_CELLS / rows ||
        (g->count = calloc(rows * g->span + 1, sizeof *g->count)) == NULL) {
        free(mt.of_day);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t ch = c[i].channel < out->n_channels ? c[i].channel : out->n_channels;
        g->count[ch * g->span + (size_t)(month_of(&mt, c[i].first_day) - g->lo)]++;
        add_customer(&out->ch[ch], &c[i]);
        add_customer(&out->all, &c[i]);
    }
    free(mt.of_day);
    return 0;
}

int cohort_channels_build(const cohort_customer *c, size_t n, size_t n_channels,
                          const cohort_spend *sp, size_t n_spend, cohort_channels *out)
{
    memset(out, 0, sizeof *out);
    out->n_channels = n_channels;
    out->ch = calloc(n_channels + 1, sizeof *out->ch);
    grid g = {0};
    if (out->ch == NULL || count_customers(c, n, out, &g) != 0)
        goto failed;
    for (size_t k = 0; k <= n_channels && g.count != NULL; k++)
        if (fill_months(&out->ch[k], &g, k) != 0)
            goto failed;
    /* the overall months: the column sums */
    for (size_t k = 1; k <= n_channels && g.count != NULL; k++)
        for (size_t j = 0; j < g.span; j++)
            g.count[j] += g.count[k * g.span + j];
    if (g.count != NULL && fill_months(&out->all, &g, 0) != 0)
        goto failed;
    for (size_t k = 1; k <= n_channels && g.count != NULL; k++) /* undo */
        for (size_t j = 0; j < g.span; j++)
            g.count[j] -= g.count[k * g.span + j];
    for (size_t i = 0; i < n_spend; i++) {
        if (sp[i].channel >= n_channels)
            continue;
        size_t cust = cell_count(&g, sp[i].channel, sp[i].month);
        add_spend(&out->ch[sp[i].channel], &sp[i], cust);
        add_spend(&out->all, &sp[i], cust);
    }
    free(g.count);
    return 0;
failed:
    free(g.count);
    cohort_channels_free(out);
    return -1;
}

void cohort_channels_free(cohort_channels *s)
{
    for (size_t k = 0; s->ch != NULL && k <= s->n_channels; k++)
        free(s->ch[k].by_month);
    free(s->ch);
    free(s->all.by_month);
    memset(s, 0, sizeof *s);
}

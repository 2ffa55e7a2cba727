/* The back-test's input from transactions, per lifetimes'
 * calibration_and_holdout_data with freq='D' and a freq_multiplier
 * (conventions in backtest_data.h). The rows are sorted by (customer, day)
 * once: O(n log n). */
#include <stdlib.h>
#include <string.h>

#include "summary/backtest_data.h"

/* One transaction, sorted by customer then day. */
typedef struct row {
    size_t customer;
    int64_t day;
    double amount;
} row;

static int cmp_row(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->customer != b->customer)
        return a->customer < b->customer ? -1 : 1;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    /* amounts too, so that same-day sums do not depend on qsort's order */
    return (a->amount > b->amount) - (a->amount < b->amount);
}

/* The split. */
typedef struct split {
    int64_t cal_end, obs_end; /* days */
    int pd;
} split;

/* Summarises one customer's sorted rows r[0..n) (r[0] on or before the
 * calibration end) into *c (first_day left 0). */
static void summarize(const row *r, size_t n, const split *s, backtest_customer *c)
{
    int64_t first = r[0].day, last = first;
    double cal_days = 0, repeat_sum = 0, hold_days = 0, hold_sum = 0;
    for (size_t i = 0; i < n;) {
        int64_t day = r[i].day;
        double sum = 0;
        for (; i < n && r[i].day == day; i++)
            sum += r[i].amount;
        if (day > s->cal_end) {
            hold_days++;
            hold_sum += sum;
        } else {
            if (cal_days++ > 0)
                repeat_sum += sum;
            last = day;
        }
    }
    double x = cal_days - 1;
    *c = (backtest_customer){
        .x = x,
        .t_x = (double)(last - first) / s->pd,
        .T = (double)(s->cal_end - first) / s->pd,
        .m = x > 0 ? repeat_sum / x : 0,
        .x_holdout = hold_days,
        .m_holdout = hold_days > 0 ? hold_sum / hold_days : 0,
        .duration_holdout = (double)(s->obs_end - s->cal_end) / s->pd,
    };
}

/* Sorted rows of the transactions on or before obs_end; *n_out of them. */
static row *sorted_rows(const txn_set *t, int64_t obs_end, size_t *n_out)
{
    row *r = malloc((t->n ? t->n : 1) * sizeof *r);
    if (r == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i].day <= obs_end)
            r[k++] = (row){t->items[i].customer, t->items[i].day, t->items[i].amount};
    qsort(r, k, sizeof *r, cmp_row);
    *n_out = k;
    return r;
}

/* The end of customer rows starting at r[i]. */
static size_t customer_end(const row *r, size_t nr, size_t i)
{
    size_t j = i;
    while (j < nr && r[j].customer == r[i].customer)
        j++;
    return j;
}

/* Summaries of every customer; their first days (absolute) in firsts. */
static summary_backtest_status customers(const txn_set *t, const row *r, size_t nr,
                                         const split *s, summary_backtest *out,
                                         int64_t *firsts)
{
    for (size_t i = 0, j; i < nr; i = j) {
        j = customer_end(r, nr, i);
        if (r[i].day <= s->cal_end) {
            summarize(r + i, j - i, s, &out->customers[out->n]);
            firsts[out->n] = r[i].day;
            out->ids[out->n++] = t->customer_ids[r[i].customer];
        }
    }
    return out->n > 0 ? SUMMARY_BACKTEST_OK : SUMMARY_BACKTEST_NO_CUSTOMERS;
}

/* Adds the repeat purchase days of customer rows r[0..n) to the series
 * starting on day s0. */
static void add_to_series(const row *r, size_t n, int64_t s0, int pd, double *act)
{
    for (size_t i = 1; i < n; i++)
        if (r[i].day != r[i - 1].day)
            act[(r[i].day - s0) / pd] += 1;
}

/* The series: its start, lengths, first days and actual counts. */
static summary_backtest_status series(const row *r, size_t nr, const split *s,
                                      const int64_t *firsts, summary_backtest *out)
{
    int64_t lo = firsts[0];
    for (size_t i = 1; i < out->n; i++)
        if (firsts[i] < lo)
            lo = firsts[i];
    int64_t n_cal = (s->cal_end + 1 - lo + s->pd - 1) / s->pd;
    int64_t s0 = s->cal_end + 1 - n_cal * s->pd;
    if (s->obs_end - s0 >= BACKTEST_MAX_DAYS)
        return SUMMARY_BACKTEST_LONG;
    out->first_period_day = s0;
    out->last_day = (size_t)(s->obs_end - s0);
    out->n_periods = out->last_day / (size_t)s->pd + 1;
    out->n_periods_cal = (size_t)n_cal;
    out->actual_repeat = calloc(out->n_periods, sizeof *out->actual_repeat);
    if (out->actual_repeat == NULL)
        return SUMMARY_BACKTEST_NOMEM;
    for (size_t i = 0; i < out->n; i++)
        out->customers[i].first_day = (size_t)(firsts[i] - s0);
    for (size_t i = 0, j; i < nr; i = j) {
        j = customer_end(r, nr, i);
        if (r[i].day <= s->cal_end)
            add_to_series(r + i, j - i, s0, s->pd, out->actual_repeat);
    }
    return SUMMARY_BACKTEST_OK;
}

summary_backtest_status summary_backtest_data(const txn_set *t, int64_t cal_end_day,
                                              int64_t obs_end_day, int period_days,
                                              summary_backtest *out)
{
    *out = (summary_backtest){.period_days = period_days};
    if ((period_days != 1 && period_days != 7) || obs_end_day <= cal_end_day)
        return SUMMARY_BACKTEST_BAD_ARGS;
    split s = {cal_end_day, obs_end_day, period_days};
    summary_backtest_status st = SUMMARY_BACKTEST_NOMEM;
    size_t nr = 0, nc = t->n_customers ? t->n_customers : 1;
    int64_t *firsts = malloc(nc * sizeof *firsts);
    row *r = sorted_rows(t, obs_end_day, &nr);
    out->customers = malloc(nc * sizeof *out->customers);
    out->ids = malloc(nc * sizeof *out->ids);
    if (firsts == NULL || r == NULL || out->customers == NULL || out->ids == NULL)
        goto cleanup;
    out->holdout_periods = (double)(obs_end_day - cal_end_day) / period_days;
    st = customers(t, r, nr, &s, out, firsts);
    if (st == SUMMARY_BACKTEST_OK)
        st = series(r, nr, &s, firsts, out);
cleanup:
    free(firsts);
    free(r);
    if (st != SUMMARY_BACKTEST_OK)
        summary_backtest_free(out);
    return st;
}

void summary_backtest_free(summary_backtest *b)
{
    if (b == NULL)
        return;
    free(b->customers);
    free(b->ids);
    free(b->actual_repeat);
    int pd = b->period_days;
    *b = (summary_backtest){.period_days = pd};
}

backtest_input summary_backtest_input(const summary_backtest *b, const btyd_model *m,
                                      const double *params, const double *gg_params)
{
    return (backtest_input){
        .customers = b->customers,
        .n = b->n,
        .model = m,
        .params = params,
        .gg_params = gg_params,
        .period_days = b->period_days,
        .last_day = b->last_day,
        .actual_repeat = b->actual_repeat,
        .n_periods = b->n_periods,
        .n_periods_cal = b->n_periods_cal,
    };
}

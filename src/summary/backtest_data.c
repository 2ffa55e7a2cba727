/* The back-test's input from transactions, per lifetimes'
 * calibration_and_holdout_data with freq='D' and a freq_multiplier
 * (conventions in backtest_data.h), and the builder both it and the
 * service (store/diagnostics.c, from customer_days' aggregates) go through,
 * so the two give the same doubles. The rows are sorted by (customer, day)
 * once: O(n log n); amounts are summed in exact units (SUMMARY_BACKTEST_UNITS). */
#include <math.h>
#include <stdbool.h>
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

/* ------------------------------------------------------------ the builder */

int64_t summary_backtest_units(double amount)
{
    double u = amount * SUMMARY_BACKTEST_UNITS;
    const double lim = (double)(INT64_MAX / 2);
    if (!(u < lim))
        return u != u ? 0 : INT64_MAX / 2;
    if (u < -lim)
        return -(INT64_MAX / 2);
    return (int64_t)llround(u);
}

summary_backtest_status summary_backtest_begin(summary_backtest *out, int64_t cal_end_day,
                                               int64_t obs_end_day, int period_days)
{
    *out = (summary_backtest){.period_days = period_days,
                              .cal_end_day = cal_end_day,
                              .obs_end_day = obs_end_day};
    if ((period_days != 1 && period_days != 7) || obs_end_day <= cal_end_day)
        return SUMMARY_BACKTEST_BAD_ARGS;
    out->holdout_periods = (double)(obs_end_day - cal_end_day) / period_days;
    return SUMMARY_BACKTEST_OK;
}

/* Room for one more customer. */
static bool grow(summary_backtest *b)
{
    if (b->n < b->cap)
        return true;
    size_t cap = b->cap ? b->cap * 2 : 1024;
    backtest_customer *c = realloc(b->customers, cap * sizeof *c);
    if (c == NULL)
        return false;
    b->customers = c;
    int64_t *f = realloc(b->firsts, cap * sizeof *f);
    if (f == NULL)
        return false;
    b->firsts = f;
    b->cap = cap;
    return true;
}

summary_backtest_status summary_backtest_add(summary_backtest *b,
                                             const summary_backtest_agg *a)
{
    if (a->cal_days < 1 || a->hold_days < 0 || a->first_day > a->last_cal_day ||
        a->last_cal_day > b->cal_end_day ||
        (a->cal_days == 1) != (a->first_day == a->last_cal_day))
        return SUMMARY_BACKTEST_BAD_ARGS;
    if (!grow(b))
        return SUMMARY_BACKTEST_NOMEM;
    int pd = b->period_days;
    double x = (double)(a->cal_days - 1), hold = (double)a->hold_days;
    /* the mean spends as documented at SUMMARY_BACKTEST_UNITS: one
     * expression, whatever the path */
    double repeat_sum = (double)a->repeat_units / SUMMARY_BACKTEST_UNITS;
    double hold_sum = (double)a->hold_units / SUMMARY_BACKTEST_UNITS;
    b->customers[b->n] = (backtest_customer){
        .x = x,
        .t_x = (double)(a->last_cal_day - a->first_day) / pd,
        .T = (double)(b->cal_end_day - a->first_day) / pd,
        .m = x > 0 ? repeat_sum / x : 0,
        .x_holdout = hold,
        .m_holdout = hold > 0 ? hold_sum / hold : 0,
        .duration_holdout = (double)(b->obs_end_day - b->cal_end_day) / pd,
    };
    b->firsts[b->n++] = a->first_day;
    return SUMMARY_BACKTEST_OK;
}

summary_backtest_status summary_backtest_end(summary_backtest *b)
{
    if (b->n == 0)
        return SUMMARY_BACKTEST_NO_CUSTOMERS;
    int64_t lo = b->firsts[0];
    for (size_t i = 1; i < b->n; i++)
        if (b->firsts[i] < lo)
            lo = b->firsts[i];
    int pd = b->period_days;
    int64_t n_cal = (b->cal_end_day + 1 - lo + pd - 1) / pd;
    int64_t s0 = b->cal_end_day + 1 - n_cal * pd;
    if (b->obs_end_day - s0 >= BACKTEST_MAX_DAYS)
        return SUMMARY_BACKTEST_LONG;
    b->first_period_day = s0;
    b->last_day = (size_t)(b->obs_end_day - s0);
    b->n_periods = b->last_day / (size_t)pd + 1;
    b->n_periods_cal = (size_t)n_cal;
    b->actual_repeat = calloc(b->n_periods, sizeof *b->actual_repeat);
    if (b->actual_repeat == NULL)
        return SUMMARY_BACKTEST_NOMEM;
    for (size_t i = 0; i < b->n; i++) {
        b->customers[i].first_day = (size_t)(b->firsts[i] - s0);
        /* the first purchase day is no repeat (summary_backtest_add_days) */
        b->actual_repeat[(b->firsts[i] - s0) / pd] -= 1;
    }
    free(b->firsts);
    b->firsts = NULL;
    return SUMMARY_BACKTEST_OK;
}

void summary_backtest_add_days(summary_backtest *b, int64_t day, double n)
{
    if (b->actual_repeat == NULL || day < b->first_period_day || day > b->obs_end_day)
        return;
    b->actual_repeat[(day - b->first_period_day) / b->period_days] += n;
}

/* ------------------------------------------------------------ from transactions */

/* The aggregates of one customer's sorted rows r[0..n) (r[0] on or before
 * the calibration end), each amount in units. */
static summary_backtest_agg aggregate(const row *r, size_t n, int64_t cal_end)
{
    summary_backtest_agg a = {.first_day = r[0].day, .last_cal_day = r[0].day};
    for (size_t i = 0; i < n;) {
        int64_t day = r[i].day, sum = 0;
        for (; i < n && r[i].day == day; i++)
            sum += summary_backtest_units(r[i].amount);
        if (day > cal_end) {
            a.hold_days++;
            a.hold_units += sum;
        } else {
            if (a.cal_days++ > 0)
                a.repeat_units += sum;
            a.last_cal_day = day;
        }
    }
    return a;
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

/* Every customer of the calibration, with their ids. */
static summary_backtest_status customers(const txn_set *t, const row *r, size_t nr,
                                         summary_backtest *out)
{
    summary_backtest_status st = SUMMARY_BACKTEST_OK;
    for (size_t i = 0, j; st == SUMMARY_BACKTEST_OK && i < nr; i = j) {
        j = customer_end(r, nr, i);
        if (r[i].day <= out->cal_end_day) {
            summary_backtest_agg a = aggregate(r + i, j - i, out->cal_end_day);
            out->ids[out->n] = t->customer_ids[r[i].customer];
            st = summary_backtest_add(out, &a);
        }
    }
    return st;
}

/* The purchase days of the calibration's customers. */
static void series(const row *r, size_t nr, summary_backtest *out)
{
    for (size_t i = 0, j; i < nr; i = j) {
        j = customer_end(r, nr, i);
        if (r[i].day > out->cal_end_day)
            continue;
        for (size_t k = i; k < j; k++)
            if (k == i || r[k].day != r[k - 1].day)
                summary_backtest_add_days(out, r[k].day, 1);
    }
}

summary_backtest_status summary_backtest_data(const txn_set *t, int64_t cal_end_day,
                                              int64_t obs_end_day, int period_days,
                                              summary_backtest *out)
{
    summary_backtest_status st =
        summary_backtest_begin(out, cal_end_day, obs_end_day, period_days);
    if (st != SUMMARY_BACKTEST_OK)
        return st;
    st = SUMMARY_BACKTEST_NOMEM;
    size_t nr = 0, nc = t->n_customers ? t->n_customers : 1;
    row *r = sorted_rows(t, obs_end_day, &nr);
    out->ids = malloc(nc * sizeof *out->ids);
    if (r == NULL || out->ids == NULL)
        goto cleanup;
    st = customers(t, r, nr, out);
    if (st == SUMMARY_BACKTEST_OK)
        st = summary_backtest_end(out);
    if (st == SUMMARY_BACKTEST_OK)
        series(r, nr, out);
cleanup:
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
    free(b->firsts);
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

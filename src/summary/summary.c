/* Per-customer summaries from transactions (lifetimes'
 * summary_data_from_transaction_data and calibration_and_holdout_data with
 * freq='D'), and their collapse into weighted patterns for the fitters.
 * The transactions are grouped by customer with a counting sort, then each
 * customer's few rows are sorted by day: O(n log k) overall. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary/summary.h"

/* One transaction of a customer, once grouped. */
typedef struct day_amount {
    int64_t day;
    double amount;
} day_amount;

/* Transactions on or before obs_end, grouped by customer: customer c's are
 * rows[start[c] .. start[c + 1]), sorted by day. */
typedef struct grouped {
    day_amount *rows;
    size_t *start; /* n_customers + 1 entries */
} grouped;

/* The observation: calibration up to cal_end, holdout (cal_end, obs_end]. */
typedef struct window {
    int64_t cal_end, obs_end;
    double period;
    int holdout;
} window;

static int cmp_day_amount(const void *pa, const void *pb)
{
    const day_amount *a = pa, *b = pb;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    /* amounts too, so that same-day sums do not depend on qsort's order */
    return (a->amount > b->amount) - (a->amount < b->amount);
}

static void grouped_free(grouped *g)
{
    free(g->rows);
    free(g->start);
}

/* Counting sort by customer, then sort each customer's rows. Returns 0/-1. */
static int group_by_customer(const txn_set *t, int64_t obs_end, grouped *g)
{
    size_t nc = t->n_customers;
    g->start = calloc(nc + 2, sizeof *g->start);
    g->rows = malloc((t->n ? t->n : 1) * sizeof *g->rows);
    if (g->start == NULL || g->rows == NULL)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i].day <= obs_end)
            g->start[t->items[i].customer + 2]++;
    for (size_t c = 2; c < nc + 2; c++)
        g->start[c] += g->start[c - 1];
    /* start[c + 1] is now where customer c's rows go; filling shifts it to
     * the end of c's rows, which is start[c + 1] in the final layout. */
    for (size_t i = 0; i < t->n; i++) {
        const txn *x = &t->items[i];
        if (x->day <= obs_end)
            g->rows[g->start[x->customer + 1]++] = (day_amount){x->day, x->amount};
    }
    for (size_t c = 0; c < nc; c++) {
        size_t n = g->start[c + 1] - g->start[c];
        if (n > 1)
            qsort(g->rows + g->start[c], n, sizeof *g->rows, cmp_day_amount);
    }
    return 0;
}

/* Summarizes one customer's day-sorted rows. Returns 0 when the customer is
 * left out (no purchase on or before cal_end), 1 with *s filled. */
static int summarize(const day_amount *r, size_t n, const window *w, cust_summary *s)
{
    if (n == 0 || r[0].day > w->cal_end)
        return 0;
    int64_t first = r[0].day, last = first;
    double cal_days = 0, repeat_sum = 0, hold_days = 0, hold_sum = 0;
    for (size_t i = 0; i < n;) {
        int64_t day = r[i].day;
        double sum = 0;
        for (; i < n && r[i].day == day; i++)
            sum += r[i].amount;
        if (day <= w->cal_end) {
            if (cal_days++ > 0)
                repeat_sum += sum;
            last = day;
        } else {
            hold_days++;
            hold_sum += sum;
        }
    }
    double x = cal_days - 1;
    *s = (cust_summary){
        .frequency = x,
        .recency = (double)(last - first) / w->period,
        .T = (double)(w->cal_end - first) / w->period,
        .monetary_value = x > 0 ? repeat_sum / x : 0,
        .weight = 1,
    };
    if (w->holdout) {
        s->frequency_holdout = hold_days;
        s->monetary_value_holdout = hold_days > 0 ? hold_sum / hold_days : 0;
        s->duration_holdout = (double)(w->obs_end - w->cal_end) / w->period;
    }
    return 1;
}

static int build(const txn_set *t, const window *w, summary_set *out)
{
    int ok = -1;
    grouped g = {0};
    *out = (summary_set){.has_monetary = 1};
    if (!(w->period > 0) || !isfinite(w->period) || w->obs_end < w->cal_end)
        return -1;
    if (group_by_customer(t, w->obs_end, &g) != 0)
        goto cleanup;
    out->rows = malloc((t->n_customers ? t->n_customers : 1) * sizeof *out->rows);
    if (out->rows == NULL)
        goto cleanup;
    for (size_t c = 0; c < t->n_customers; c++) {
        cust_summary *s = &out->rows[out->n];
        if (summarize(g.rows + g.start[c], g.start[c + 1] - g.start[c], w, s)) {
            s->id = t->customer_ids[c];
            out->n++;
        }
    }
    ok = 0;
cleanup:
    grouped_free(&g);
    if (ok != 0)
        summary_set_free(out);
    return ok;
}

int summary_from_transactions(const txn_set *txns, int64_t as_of_day, double period_days,
                              summary_set *out)
{
    window w = {as_of_day, as_of_day, period_days, 0};
    return build(txns, &w, out);
}

int summary_calibration_holdout(const txn_set *txns, int64_t cal_end_day,
                                int64_t obs_end_day, double period_days, summary_set *out)
{
    window w = {cal_end_day, obs_end_day, period_days, 1};
    return build(txns, &w, out);
}

void summary_set_free(summary_set *s)
{
    if (s == NULL)
        return;
    free(s->owned_text);
    free(s->owned_row_ids);
    free(s->rows);
    *s = (summary_set){0};
}

/* ------------------------------------------------------------------------
 * Patterns: sort, then merge equal keys summing their weights.
 * ------------------------------------------------------------------------ */

static int cmp_double(double a, double b)
{
    return (a > b) - (a < b);
}

static int cmp_gg(const void *pa, const void *pb)
{
    const gg_pattern *a = pa, *b = pb;
    int c = cmp_double(a->x, b->x);
    return c != 0 ? c : cmp_double(a->m, b->m);
}

int summary_patterns(const summary_set *s, btyd_pattern **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (s->n == 0)
        return 0;
    btyd_pattern *p = malloc(s->n * sizeof *p);
    if (p == NULL)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        const cust_summary *r = &s->rows[i];
        p[i] = (btyd_pattern){r->frequency, r->recency, r->T, r->weight};
    }
    size_t n = btyd_patterns_collapse(p, s->n); /* the fitters' own order */
    *out = p;
    *n_out = n;
    return 0;
}

int summary_gg_patterns(const summary_set *s, gg_pattern **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!s->has_monetary)
        return -1;
    gg_pattern *p = malloc((s->n ? s->n : 1) * sizeof *p);
    if (p == NULL)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        const cust_summary *r = &s->rows[i];
        if (r->frequency >= 1)
            p[k++] = (gg_pattern){r->frequency, r->monetary_value, r->weight};
    }
    qsort(p, k, sizeof *p, cmp_gg);
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (n > 0 && cmp_gg(&p[n - 1], &p[i]) == 0)
            p[n - 1].weight += p[i].weight;
        else
            p[n++] = p[i];
    }
    if (n == 0) {
        free(p);
        p = NULL;
    }
    *out = p;
    *n_out = n;
    return 0;
}

/* The calibration/holdout back-test: holdout errors and the naive
 * benchmark, conditional expectations by frequency, the calibration
 * histogram, the tracking series and spend (see backtest.h for the
 * conventions). Pure: GSL and libc. */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/backtest.h"
#include "model/gg.h"

size_t backtest_bin_of(double x)
{
    return x >= BACKTEST_BINS - 1 ? BACKTEST_BINS - 1 : (size_t)(x > 0 ? x : 0);
}

/* ------------------------------------------------------------------------
 * Per customer: holdout errors, the naive benchmark, frequency classes.
 * ------------------------------------------------------------------------ */

/* Running sums of one error table. */
typedef struct err_sums {
    double abs, sq, pred, act, n;
} err_sums;

static void err_add(err_sums *s, double pred, double act)
{
    double d = pred - act;
    s->abs += fabs(d);
    s->sq += d * d;
    s->pred += pred;
    s->act += act;
    s->n += 1;
}

static backtest_errors err_finish(const err_sums *s)
{
    return (backtest_errors){
        .customers = s->n,
        .mae = s->abs / s->n,
        .rmse = sqrt(s->sq / s->n),
        .predicted_total = s->pred,
        .actual_total = s->act,
    };
}

/* The naive benchmark's holdout prediction: the calibration rate x / T
 * (0 when T = 0) over the holdout. */
static double naive_prediction(const backtest_customer *c)
{
    return c->T > 0 ? c->x / c->T * c->duration_holdout : 0;
}

/* Gamma-Gamma's expected mean spend of customer c. */
static int predicted_spend(const double *gg, const backtest_customer *c, double *out)
{
    return gg_expected_spend(gg, c->x, c->x >= 1 ? c->m : 0, out);
}

static int check_customer(const backtest_input *in, const backtest_customer *c)
{
    if (c->first_day >= in->n_periods_cal * (size_t)in->period_days ||
        !(c->x_holdout >= 0) || !(c->duration_holdout >= 0) ||
        !isfinite(c->duration_holdout) || !isfinite(c->x_holdout) ||
        !(c->m_holdout >= 0) || !isfinite(c->m_holdout))
        return GSL_EDOM;
    return btyd_check_domain(in->params, in->model->n_params, c->x, c->t_x, c->T);
}

/* Per-customer sums; fills the holdout, naive, frequency and spend figures. */
static int customers_pass(const backtest_input *in, backtest_figures *f,
                          backtest_customer_out *per_customer)
{
    err_sums model = {0}, naive = {0}, spend = {0};
    double bin_n[BACKTEST_BINS] = {0}, bin_act[BACKTEST_BINS] = {0},
           bin_pred[BACKTEST_BINS] = {0};
    for (size_t i = 0; i < in->n; i++) {
        const backtest_customer *c = &in->customers[i];
        double pred, p_alive = 0, sp = 0;
        int rc = check_customer(in, c);
        if (rc == GSL_SUCCESS)
            rc = in->model->expected(in->params, c->x, c->t_x, c->T, c->duration_holdout,
                                     &pred);
        if (rc == GSL_SUCCESS && per_customer != NULL)
            rc = in->model->p_alive(in->params, c->x, c->t_x, c->T, &p_alive);
        if (rc == GSL_SUCCESS && in->gg_params != NULL &&
            (c->x_holdout > 0 || per_customer != NULL))
            rc = predicted_spend(in->gg_params, c, &sp);
        if (rc != GSL_SUCCESS)
            return rc;
        err_add(&model, pred, c->x_holdout);
        err_add(&naive, naive_prediction(c), c->x_holdout);
        size_t b = backtest_bin_of(c->x);
        bin_n[b] += 1;
        bin_act[b] += c->x_holdout;
        bin_pred[b] += pred;
        if (in->gg_params != NULL && c->x_holdout > 0)
            err_add(&spend, sp, c->m_holdout);
        if (per_customer != NULL)
            per_customer[i] = (backtest_customer_out){pred, p_alive, sp};
    }
    f->holdout = err_finish(&model);
    f->naive = err_finish(&naive);
    f->naive.actual_total = f->holdout.actual_total;
    f->worse_than_naive = f->holdout.mae > f->naive.mae;
    for (size_t b = 0; b < BACKTEST_BINS; b++)
        f->by_frequency[b] =
            (backtest_freq_bin){bin_n[b], bin_n[b] > 0 ? bin_act[b] / bin_n[b] : 0,
                                bin_n[b] > 0 ? bin_pred[b] / bin_n[b] : 0};
    f->has_spend = in->gg_params != NULL;
    if (f->has_spend && spend.n > 0)
        f->spend = (backtest_spend){spend.n, spend.act / spend.n, spend.pred / spend.n,
                                    spend.abs / spend.n};
    return GSL_SUCCESS;
}

/* ------------------------------------------------------------------------
 * The calibration histogram: customers by repeat purchases, actual and
 * sum_i P(k in (0, T_i]) (customers sharing a T share the evaluation).
 * ------------------------------------------------------------------------ */

static int cmp_dbl(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Adds count * P(k) for k = 0..6, and count * (1 - their sum) for 7+. */
static int hist_add_T(const backtest_input *in, double T, double count,
                      backtest_hist_bin *h)
{
    double rest = 1;
    for (unsigned k = 0; k + 1 < BACKTEST_BINS; k++) {
        double p;
        int rc = in->model->p_n_new(in->params, T, k, &p);
        if (rc != GSL_SUCCESS)
            return rc;
        h[k].model += count * p;
        rest -= p;
    }
    h[BACKTEST_BINS - 1].model += count * (rest > 0 ? rest : 0);
    return GSL_SUCCESS;
}

static int histogram_pass(const backtest_input *in, backtest_figures *f)
{
    double *T = malloc(in->n * sizeof *T);
    if (T == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < in->n; i++) {
        T[i] = in->customers[i].T;
        f->histogram[backtest_bin_of(in->customers[i].x)].actual += 1;
    }
    qsort(T, in->n, sizeof *T, cmp_dbl);
    int rc = GSL_SUCCESS;
    for (size_t i = 0; i < in->n && rc == GSL_SUCCESS;) {
        size_t j = i;
        while (j < in->n && T[j] == T[i])
            j++;
        rc = hist_add_T(in, T[i], (double)(j - i), f->histogram);
        i = j;
    }
    free(T);
    return rc;
}

/* ------------------------------------------------------------------------
 * The tracking series: the model's unconditional expectation summed over
 * the cohorts of first-purchase days.
 * ------------------------------------------------------------------------ */

/* e[k] = expected_new(k / period_days) of a customer k days old; ages below
 * 0 are 0. */
static double at_age(const double *e, long age)
{
    return age > 0 ? e[age] : 0;
}

/* The cohorts: the distinct first-purchase days, ascending, and how many
 * customers each holds. */
typedef struct cohorts {
    size_t *day;
    double *count;
    size_t n;
} cohorts;

/* The model's repeat purchases in period p (days [a, b]) over the cohorts
 * whose first day is on or before b. */
static double model_in_period(const backtest_input *in, const cohorts *co,
                              const double *e, size_t p)
{
    long pd = in->period_days;
    long a = (long)p * pd, b = a + pd - 1;
    if (b > (long)in->last_day)
        b = (long)in->last_day;
    double m = 0;
    for (size_t i = 0; i < co->n && (long)co->day[i] <= b; i++) {
        long f = (long)co->day[i];
        m += co->count[i] * (at_age(e, b - f) - at_age(e, a - 1 - f));
    }
    return m;
}

/* The cohorts of in's customers (arrays of nd = last_day + 1 entries;
 * count[] doubles as the per-day tally). GSL_ENOMEM when out of memory. */
static int cohorts_make(const backtest_input *in, cohorts *co)
{
    size_t nd = in->last_day + 1;
    co->n = 0;
    co->day = malloc(nd * sizeof *co->day);
    co->count = calloc(nd, sizeof *co->count);
    if (co->day == NULL || co->count == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < in->n; i++)
        co->count[in->customers[i].first_day] += 1;
    for (size_t d = 0; d < nd; d++)
        if (co->count[d] > 0) {
            co->day[co->n] = d;
            co->count[co->n++] = co->count[d]; /* co->n <= d: not read again */
        }
    return GSL_SUCCESS;
}

static int tracking_pass(const backtest_input *in, backtest_figures *f)
{
    size_t nd = in->last_day + 1;
    cohorts co = {0};
    double *e = malloc(nd * sizeof *e);
    f->tracking = calloc(in->n_periods, sizeof *f->tracking);
    int rc = e == NULL || f->tracking == NULL ? GSL_ENOMEM : cohorts_make(in, &co);
    if (rc != GSL_SUCCESS)
        goto cleanup;
    e[0] = 0;
    for (size_t k = 1; k < nd; k++)
        if ((rc = in->model->expected_new(in->params, (double)k / in->period_days,
                                          &e[k])) != GSL_SUCCESS)
            goto cleanup;
    double act = 0, mod = 0;
    for (size_t p = 0; p < in->n_periods; p++) {
        double m = model_in_period(in, &co, e, p);
        act += in->actual_repeat[p];
        mod += m;
        f->tracking[p] = (backtest_period){in->actual_repeat[p], m, act, mod};
    }
    f->n_periods = in->n_periods;
    f->n_periods_cal = in->n_periods_cal;
cleanup:
    free(co.day);
    free(co.count);
    free(e);
    return rc;
}

int backtest_compute(const backtest_input *in, backtest_figures *out,
                     backtest_customer_out *per_customer)
{
    *out = (backtest_figures){0};
    if (in->n == 0 || in->model == NULL || in->params == NULL ||
        in->actual_repeat == NULL || in->period_days < 1 || in->n_periods_cal == 0 ||
        in->n_periods_cal > in->n_periods || in->last_day >= BACKTEST_MAX_DAYS ||
        in->n_periods != in->last_day / (size_t)in->period_days + 1 ||
        in->n_periods_cal * (size_t)in->period_days > in->last_day + 1)
        return GSL_EDOM;
    for (size_t p = 0; p < in->n_periods; p++)
        if (!(in->actual_repeat[p] >= 0) || !isfinite(in->actual_repeat[p]))
            return GSL_EDOM;
    int rc = customers_pass(in, out, per_customer);
    if (rc == GSL_SUCCESS)
        rc = histogram_pass(in, out);
    if (rc == GSL_SUCCESS)
        rc = tracking_pass(in, out);
    if (rc != GSL_SUCCESS)
        backtest_figures_free(out);
    return rc;
}

void backtest_figures_free(backtest_figures *f)
{
    if (f == NULL)
        return;
    free(f->tracking);
    *f = (backtest_figures){0};
}

/* ------------------------------------------------------------------------
 * The calibration fits.
 * ------------------------------------------------------------------------ */

/* (x, m) order of Gamma-Gamma's patterns. */
static int cmp_spend(const void *pa, const void *pb)
{
    const gg_pattern *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return (a->m > b->m) - (a->m < b->m);
}

/* Gamma-Gamma on the repeat buyers, their patterns sorted by (x, m) so that
 * the likelihood's sums, hence the fit to the last bit, do not depend on
 * the customers' order (a CSV's, or the service's customer id order:
 * worker/backtest_run.c gives the same back-test as `ltvd backtest`). */
static int fit_spend(const backtest_customer *c, size_t n, double penalizer,
                     fit_result *out, double *customers)
{
    gg_pattern *p = malloc((n ? n : 1) * sizeof *p);
    if (p == NULL)
        return GSL_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].x >= 1 && c[i].m > 0)
            p[k++] = (gg_pattern){c[i].x, c[i].m, 1};
    *customers = (double)k;
    qsort(p, k, sizeof *p, cmp_spend);
    int rc = k > 0 ? gg_fit(p, k, penalizer, NULL, out) : GSL_EDOM;
    free(p);
    return rc;
}

int backtest_fit(const btyd_model *model, const backtest_customer *c, size_t n,
                 double penalizer, fit_result *fit, double *customers,
                 fit_result *spend_fit, double *spend_customers)
{
    if (n == 0)
        return GSL_EDOM;
    btyd_pattern *p = malloc(n * sizeof *p);
    if (p == NULL)
        return GSL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        p[i] = (btyd_pattern){c[i].x, c[i].t_x, c[i].T, 1};
    size_t np = btyd_patterns_collapse(p, n);
    *customers = (double)n;
    int rc = fit_btyd(model, p, np, penalizer, NULL, fit);
    free(p);
    if (rc == GSL_SUCCESS && spend_fit != NULL)
        rc = fit_spend(c, n, penalizer, spend_fit, spend_customers);
    return rc;
}

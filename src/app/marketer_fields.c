/* The fields marketers expect (marketer_fields.h): historic figures from the
 * summary, the next-purchase date from the model (model/next_purchase.h),
 * the LTV percentile from the tenant's score table (cache/scores.h). */
#include "app/marketer_fields.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdint.h>

#include "app/list_table.h"
#include "app/tenant.h"
#include "cache/scores.h"
#include "model/next_purchase.h"

/* The day the row was scored as of (app_score_compute's rule). */
static int64_t scored_day(const app_score_opts *o, const cache_summary *s)
{
    return !o->as_of_given && s->last_day > o->as_of_day ? s->last_day : o->as_of_day;
}

static void historic(const cache_summary *s, app_marketer *out)
{
    out->historic_units = s->repeat_units > INT64_MAX - s->first_units
                              ? INT64_MAX /* as the summary's amounts saturate */
                              : s->first_units + s->repeat_units;
    out->historic_value = (double)out->historic_units / CACHE_AMOUNT_UNITS;
    out->historic_purchases = s->n_days;
    out->average_order_value = s->n_days > 0 ? out->historic_value / s->n_days : 0;
    out->has_days_between = s->n_days > 1;
    out->days_between =
        out->has_days_between
            ? (double)((int64_t)s->last_day - s->first_day) / (s->n_days - 1)
            : 0;
}

static void next_purchase(const cache_model *m, const app_score_opts *o,
                          const cache_score_result *r, app_marketer *out)
{
    unsigned k = 0;
    out->has_next = false;
    if (m->model->discrete || !(m->period_days > 0))
        return;
    int rc = btyd_next_purchase_steps(m->model, m->params, r->x, r->t_x, r->T,
                                      1.0 / m->period_days, APP_NEXT_PURCHASE_MAX_DAYS,
                                      APP_NEXT_PURCHASE_P, &k);
    if (rc != GSL_SUCCESS || k == 0)
        return;
    out->has_next = true;
    out->next_purchase_by = scored_day(o, &r->summary) + (int64_t)k;
}

/* The predicted LTV of row at the table's spec sp. */
static bool ltv_at_spec(const cache_model *m, const cache_scores_spec *sp,
                        const app_score_opts *o, const app_score_row *row, double *ltv)
{
    const cache_score_result *r = &row->r;
    if (row->has_table_ltv) { /* a list's item: the table's row had it */
        *ltv = row->table_ltv;
        return true;
    }
    if (o->horizon_days == sp->horizon_days && o->discount_rate == sp->discount_rate &&
        o->margin == sp->clv.margin && scored_day(o, &r->summary) == sp->as_of_day) {
        *ltv = r->clv;
        return true;
    }
    cache_score_result d;
    if (cache_score_summary(m, &r->summary, sp->as_of_day, sp->horizon, sp->p_horizon,
                            &sp->clv, &d) != GSL_SUCCESS)
        return false;
    *ltv = d.clv;
    return true;
}

static void percentile(const cache_model *m, const app_score_opts *o,
                       const app_score_row *row, app_marketer *out)
{
    out->has_percentile = false;
    out->tier = NULL;
    if (o->tenant == NULL || !row->r.has_spend ||
        (o->as_of_given && o->as_of_day != app_tenant_as_of_day(o->tenant)))
        return;
    app_list_table *tab = app_list_table_acquire(o->tenant->lists);
    double ltv, pct;
    if (tab != NULL && cache_scores_spec_of(tab->t)->model_version == m->serial &&
        ltv_at_spec(m, cache_scores_spec_of(tab->t), o, row, &ltv) &&
        cache_scores_ltv_percentile(tab->t, ltv, &pct)) {
        out->has_percentile = true;
        out->percentile_tenths = (int)floor(pct * 10);
        out->percentile = out->percentile_tenths / 10.0;
        out->tier = pct >= APP_TIER_HIGH_FROM     ? "high"
                    : pct >= APP_TIER_MEDIUM_FROM ? "medium"
                                                  : "low";
    }
    app_list_table_release(o->tenant->lists, tab);
}

void app_marketer_fields(const cache_model *m, const app_score_opts *o,
                         const app_score_row *row, app_marketer *out)
{
    historic(&row->r.summary, out);
    next_purchase(m, o, &row->r, out);
    percentile(m, o, row, out);
}

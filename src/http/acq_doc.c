/* The acquisition and cohort documents (acq_doc.h). */
#include "http/acq_doc.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>

#include "http/acq_channel_doc.h"
#include "model/gg.h"
#include "summary/summary.h"

/* A number, or null when undefined or not finite. */
static json_t *num_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

/* {"name": value, ...}, or null when every value is 0 (unknown). */
static json_t *named(const char *const *names, const double *v, size_t n, bool errors)
{
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= v[i] > 0 && isfinite(v[i]);
    if (errors && !any)
        return json_null();
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        json_object_set_new(o, names[i], num_or_null(true, v[i]));
    return o;
}

json_t *acq_doc_provenance(const acq_model *a, long long version, double fitted_at,
                           bool with_spend)
{
    json_t *spend = with_spend
                        ? json_pack("{s:s, s:o, s:o}", "name", "gg", "params",
                                    named(gg_param_names, a->gg, 3, false), "std_errors",
                                    named(gg_param_names, a->gg_se, 3, true))
                        : json_null();
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "name", a->m->name, "version",
                     version >= 0 ? json_integer(version) : json_null(), "fitted_at",
                     num_or_null(true, fitted_at), "params",
                     named(a->m->param_names, a->params, a->m->n_params, false),
                     "std_errors", named(a->m->param_names, a->se, a->m->n_params, true),
                     "spend_model", spend);
}

static json_t *by_month(const cohort_channel *ch)
{
    json_t *a = json_array();
    char mo[8];
    for (size_t i = 0; a != NULL && i < ch->n_months; i++)
        if (cohort_format_month(ch->by_month[i].month, mo) == 0)
            json_array_append_new(a, json_pack("{s:s, s:I}", "month", mo, "customers",
                                               (json_int_t)ch->by_month[i].customers));
    return a;
}

/* The interval of the LTV scaled by `scale` (when has), or null. */
static json_t *interval(bool has, const acq_figures *f, double scale)
{
    if (!has)
        return json_null();
    return json_pack("{s:f, s:f}", "low", f->ltv_low * scale, "high",
                     f->ltv_high * scale);
}

/* One group's figures (a channel, or every customer). */
static json_t *group(json_t *name, size_t k, const cohort_channel *ch, const acq_value *v,
                     const acq_doc_in *in)
{
    acq_inputs ai = {
        .repeat_ltv = v != NULL && v->ok ? v->ltv : NAN,
        .repeat_ltv_se = v != NULL ? v->se : 0,
        .inc = v != NULL ? v->inc : NULL,
        .months = in->model ? in->model->clv.months : 0,
        .margin = in->model ? in->model->clv.margin : 0,
        .customers = ch->customers,
        .first_sum = ch->first_sum,
        .first_sumsq = ch->first_sumsq,
        .has_spend = ch->has_spend,
        .spend = ch->spend,
        .spend_customers = ch->spend_customers,
        .has_leads = ch->has_leads,
        .leads = ch->leads,
        .lead_customers = ch->lead_customers,
        .target_ratio = in->target_ratio,
    };
    acq_figures f;
    acq_figures_compute(&ai, &f);
    json_t *g = json_object();
    if (name != NULL)
        json_object_set_new(g, "channel", name);
    json_object_set_new(g, "customers", json_integer((json_int_t)ch->customers));
    json_object_set_new(g, "sample_size", json_integer((json_int_t)ch->customers));
    json_object_set_new(g, "acquired_by_month", by_month(ch));
    json_object_set_new(g, "customers_revenue", json_real(ch->revenue));
    json_object_set_new(g, "spend", num_or_null(ch->has_spend, ch->spend));
    json_object_set_new(g, "customers_in_spend_months",
                        json_integer((json_int_t)ch->spend_customers));
    json_object_set_new(g, "cac", num_or_null(f.has_cac, f.cac));
    json_object_set_new(g, "leads", num_or_null(ch->has_leads, ch->leads));
    json_object_set_new(g, "conversion", num_or_null(f.has_conversion, f.conversion));
    json_object_set_new(g, "new_customer_repeat_ltv",
                        num_or_null(v != NULL && v->ok, v != NULL ? v->ltv : 0));
    json_object_set_new(g, "first_purchase_value",
                        num_or_null(f.has_ltv, f.first_purchase_value));
    json_object_set_new(g, "new_customer_ltv",
                        num_or_null(f.has_ltv, f.new_customer_ltv));
    json_object_set_new(g, "new_customer_ltv_interval", interval(f.has_ltv, &f, 1));
    json_object_set_new(g, "ltv_cac", num_or_null(f.has_ratio, f.ltv_cac));
    json_object_set_new(g, "ltv_cac_interval",
                        interval(f.has_ratio, &f, f.has_ratio ? 1 / f.cac : 0));
    json_object_set_new(g, "max_cac", num_or_null(f.has_max_cac, f.max_cac));
    json_object_set_new(g, "max_cac_interval",
                        interval(f.has_max_cac, &f, 1 / in->target_ratio));
    json_object_set_new(g, "payback_month",
                        f.payback_month >= 0 ? json_integer(f.payback_month)
                                             : json_null());
    json_object_set_new(g, "lead_value", num_or_null(f.has_lead_value, f.lead_value));
    json_object_set_new(
        g, "lead_value_interval",
        interval(f.has_lead_value, &f, f.has_lead_value ? f.conversion : 0));
    if (g != NULL && in->group_hook != NULL)
        in->group_hook(g, k, &f, in->hook_arg);
    return g;
}

static json_t *header(const acq_doc_in *in, const acq_value *v)
{
    char day[11] = "";
    summary_format_day(in->as_of_day, day);
    const acq_model *a = in->model;
    json_t *prov = in->provenance ? json_incref(in->provenance) : json_null();
    return json_pack(
        "{s:s, s:o, s:f, s:o, s:o, s:o, s:{s:f, s:s}, s:o}", "as_of", day, "months",
        a ? json_integer(a->clv.months) : json_null(), "target_ratio", in->target_ratio,
        "margin", a ? json_real(a->clv.margin) : json_null(), "discount_rate",
        a ? json_real(a->clv.discount_rate) : json_null(), "model", prov, "interval",
        "level", 0.95, "method",
        "delta method on the fits' standard errors, parameters taken as independent "
        "(no covariance is kept), plus the sampling error of the mean first purchase",
        "new_customer_repeat_ltv",
        num_or_null(v != NULL && v->ok, v != NULL ? v->ltv : 0));
}

/* Channel indices by customers, most first (ties by index); qsort has no
 * argument for the table, so it is this thread's. */
static _Thread_local const cohort_channels *sort_cc;

static int by_size(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    size_t ci = sort_cc->ch[i].customers, cj = sort_cc->ch[j].customers;
    if (ci != cj)
        return ci > cj ? -1 : 1;
    return i < j ? -1 : i > j;
}

static int by_size_index(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    return i < j ? -1 : i > j;
}

/* The channels listed: the ACQ_DOC_CHANNELS_MAX with most customers (or
 * spend rows), in index order; *n_out of them. NULL when out of memory. */
static size_t *listed_channels(const cohort_channels *cc, size_t *n_out)
{
    size_t n = cc->n_channels;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (idx == NULL)
        return NULL;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (cc->ch[k].customers > 0 || cc->ch[k].has_spend)
            idx[m++] = k;
    if (m > ACQ_DOC_CHANNELS_MAX) {
        sort_cc = cc;
        qsort(idx, m, sizeof *idx, by_size);
        m = ACQ_DOC_CHANNELS_MAX;
        sort_cc = NULL;
        qsort(idx, m, sizeof *idx, by_size_index);
    }
    *n_out = m;
    return idx;
}

json_t *acq_doc_acquisition(const acq_doc_in *in, const char **why)
{
    const acq_value *v = in->model != NULL ? in->value : NULL;
    size_t n_listed = 0;
    size_t *listed = listed_channels(in->cc, &n_listed);
    json_t *doc = listed != NULL ? header(in, v) : NULL, *chans = json_array();
    /* the listed channels, then the customers without one */
    for (size_t i = 0; doc != NULL && chans != NULL && i <= n_listed; i++) {
        size_t k = i < n_listed ? listed[i] : in->cc->n_channels;
        const cohort_channel *ch = &in->cc->ch[k];
        if (k == in->cc->n_channels && ch->customers == 0)
            continue; /* no customer without a channel */
        json_t *name = k < in->cc->n_channels ? json_string(in->names[k]) : json_null();
        const acq_value *cv = v != NULL && in->channel_values != NULL &&
                                      k < in->cc->n_channels &&
                                      in->channel_values[k] != NULL
                                  ? in->channel_values[k]
                                  : v;
        json_t *g = group(name, k, ch, cv, in);
        json_t *cp = k < in->cc->n_channels && in->channel_params != NULL
                         ? in->channel_params[k]
                         : NULL;
        if (g != NULL)
            json_object_set_new(g, "channel_params",
                                cp != NULL ? json_incref(cp)
                                           : acq_channel_doc_params(NULL, 0, false,
                                                                    k < in->cc->n_channels
                                                                        ? in->params_why
                                                                        : "no channel"));
        json_array_append_new(chans, g);
    }
    size_t n_with = 0;
    for (size_t k = 0; k < in->cc->n_channels; k++)
        n_with += in->cc->ch[k].customers > 0 || in->cc->ch[k].has_spend;
    free(listed);
    if (doc == NULL || chans == NULL) {
        json_decref(doc);
        json_decref(chans);
        *why = "out of memory";
        return NULL;
    }
    json_object_set_new(doc, "channel_model",
                        in->channel_model != NULL ? json_incref(in->channel_model)
                                                  : json_null());
    json_object_set_new(doc, "overall",
                        group(NULL, ACQ_DOC_OVERALL, &in->cc->all, v, in));
    json_object_set_new(doc, "channels", chans);
    json_object_set_new(doc, "channels_total", json_integer((json_int_t)n_with));
    json_object_set_new(doc, "channels_listed", json_integer((json_int_t)n_listed));
    return doc;
}

static json_t *cohort(const cohort_row *r)
{
    char mo[8] = "";
    cohort_format_month(r->month, mo);
    json_t *ret = json_array();
    for (unsigned k = 0; ret != NULL && k < r->n_later; k++)
        json_array_append_new(ret,
                              json_real((double)r->active[k] / (double)r->customers));
    return json_pack("{s:s, s:I, s:f, s:f, s:o, s:I, s:o}", "month", mo, "customers",
                     (json_int_t)r->customers, "repeat_share",
                     (double)r->repeaters / (double)r->customers, "revenue", r->revenue,
                     "predicted_remaining_value",
                     num_or_null(r->n_predicted > 0, r->predicted), "predicted_customers",
                     (json_int_t)r->n_predicted, "retention", ret);
}

json_t *acq_doc_cohorts(const cohort_set *s, json_t *provenance, int64_t as_of_day)
{
    char day[11] = "";
    summary_format_day(as_of_day, day);
    json_t *rows = json_array();
    for (size_t i = 0; rows != NULL && i < s->n; i++)
        json_array_append_new(rows, cohort(&s->rows[i]));
    return json_pack("{s:s, s:s, s:o, s:o}", "as_of", day, "by", "month", "model",
                     provenance ? json_incref(provenance) : json_null(), "cohorts", rows);
}

/* The subscribers' part of GET /v1/acquisition (acq_subs_doc.h). */
#include "http/acq_subs_doc.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/acq_doc.h"

/* A number, or null when undefined or not finite. */
static json_t *num_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

/* The billing period valued: a served fit, most subscriptions (the month
 * on a tie); -1 when none, with p->why set. */
static int choose_period(const app_subs_report *r, acq_subs_part *p)
{
    int best = -1;
    for (int k = 0; k < 2; k++)
        if (r->present[k] && r->periods[k].has_fit &&
            (best < 0 || r->periods[k].n_subs > r->periods[best].n_subs))
            best = k;
    if (best >= 0)
        return best;
    if (!r->present[0] && !r->present[1]) {
        snprintf(p->why, sizeof p->why, "the tenant has no subscriptions");
        return -1;
    }
    int k = r->present[0] ? 0 : 1;
    snprintf(p->why, sizeof p->why,
             "no retention model is served for the %s "
             "subscriptions: %s",
             k == 0 ? "monthly" : "yearly",
             r->periods[k].note[0] ? r->periods[k].note : "no fit");
    return -1;
}

/* Sums the start amounts by the view's channel index (the view's first
 * n_dict channels are the cache dictionary's, by name). False when out of
 * memory. */
static bool sum_by_channel(app_tenant *t, const app_acq_view *v, acq_subs_part *p)
{
    app_subs_starts st;
    json_t *index = json_object(); /* the subscribers' channel names -> st.ch */
    bool ok = app_subs_starts_by_channel(t, p->period, &st) == 0 && index != NULL;
    p->all_sum = st.all_sum;
    p->all_count = st.all_count;
    for (size_t i = 0; ok && i < st.n; i++) {
        if (st.ch[i].channel == NULL) { /* customers without a channel */
            p->sum[p->n_channels] += st.ch[i].sum;
            p->count[p->n_channels] += st.ch[i].count;
        } else {
            ok = json_object_set_new(index, st.ch[i].channel,
                                     json_integer((json_int_t)i)) == 0;
        }
    }
    for (size_t k = 0; ok && json_object_size(index) > 0 && k < v->n_dict; k++) {
        json_t *i = json_object_get(index, v->names[k]);
        if (i != NULL) {
            p->sum[k] += st.ch[json_integer_value(i)].sum;
            p->count[k] += st.ch[json_integer_value(i)].count;
        }
    }
    /* a channel new to the cache since the view: counted in overall only */
    json_decref(index);
    app_subs_starts_free(&st);
    return ok;
}

bool acq_subs_part_make(app_tenant *t, const app_acq_view *v, const ltvd_config *cfg,
                        double target_ratio, acq_subs_part *p)
{
    memset(p, 0, sizeof *p);
    p->margin = cfg->margin;
    p->target_ratio = target_ratio;
    p->n_channels = v->cc.n_channels;
    p->sum = calloc(p->n_channels + 1, sizeof *p->sum);
    p->count = calloc(p->n_channels + 1, sizeof *p->count);
    if (p->sum == NULL || p->count == NULL)
        return false;
    app_subs_report r;
    bool ok = app_subs_report_make(t, 1, &r) == 0;
    int k = ok ? choose_period(&r, p) : -1;
    if (k >= 0) {
        const app_subs_period_report *pr = &r.periods[k];
        p->ok = true;
        p->period = (subs_period)k;
        p->fit = pr->fit;
        p->discount_rate = pr->discount_rate;
        p->has_naive = pr->has_naive;
        p->naive = pr->has_naive ? p->margin * pr->naive_value : 0;
    }
    app_subs_report_free(&r);
    if (p->ok && !sum_by_channel(t, v, p))
        return false;
    return ok;
}

/* margin x the mean start amount of count subscriptions summing sum,
 * valued by the model; false when undefined. */
static bool value_of(const acq_subs_part *p, double sum, size_t count, double *out)
{
    if (!p->ok || count == 0)
        return false;
    double amount = p->margin * (sum / (double)count);
    return retention_new_subscriber_value(&p->fit.params, amount, p->discount_rate,
                                          out) == GSL_SUCCESS &&
           isfinite(*out);
}

static json_t *params_of(const acq_subs_part *p, const double *v, bool has)
{
    if (!has)
        return json_null();
    json_t *o = json_pack("{s:f, s:f}", "alpha", v[0], "beta", v[1]);
    if (o != NULL && p->fit.params.kind == RETENTION_BDW)
        json_object_set_new(o, "c", json_real(v[2]));
    return o;
}

void acq_subs_part_top(const acq_subs_part *p, json_t *doc)
{
    if (!p->ok) {
        json_object_set_new(doc, "subscription_value", json_null());
        json_object_set_new(doc, "subscription_value_reason", json_string(p->why));
        return;
    }
    double v = 0;
    bool has = value_of(p, p->all_sum, p->all_count, &v);
    const double *se = p->fit.fit.std_errors;
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:f, s:f, s:f, s:o, s:I, s:o, s:o}", "source",
        "subscriptions", "billing_period", p->period == SUBS_MONTH ? "month" : "year",
        "model", retention_kind_name(p->fit.params.kind), "params",
        params_of(p, p->fit.fit.params, true), "std_errors",
        params_of(p, se, p->fit.fit.std_errors_ok), "log_likelihood",
        p->fit.fit.log_likelihood, "margin", p->margin, "discount_rate", p->discount_rate,
        "mean_start_amount",
        num_or_null(p->all_count > 0,
                    p->all_count ? p->all_sum / (double)p->all_count : 0),
        "subscribers", (json_int_t)p->all_count, "new_subscriber_value",
        num_or_null(has, v), "naive_arpa_over_churn",
        num_or_null(p->has_naive, p->naive));
    json_object_set_new(doc, "subscription_value", o != NULL ? o : json_null());
    json_object_set_new(doc, "subscription_value_reason",
                        o != NULL ? json_null() : json_string("out of memory"));
}

void acq_subs_part_group(json_t *g, size_t k, const acq_figures *f, void *arg)
{
    const acq_subs_part *p = arg;
    double sum = k == ACQ_DOC_OVERALL ? p->all_sum : k <= p->n_channels ? p->sum[k] : 0;
    size_t n = k == ACQ_DOC_OVERALL ? p->all_count : k <= p->n_channels ? p->count[k] : 0;
    double v = 0;
    bool has = value_of(p, sum, n, &v);
    json_object_set_new(g, "subscribers", json_integer((json_int_t)(p->ok ? n : 0)));
    json_object_set_new(g, "new_subscriber_value", num_or_null(has, v));
    json_object_set_new(
        g, "subscription_ltv_cac",
        num_or_null(has && f->has_cac && f->cac > 0, f->cac > 0 ? v / f->cac : 0));
    json_object_set_new(g, "subscription_max_cac", num_or_null(has, v / p->target_ratio));
}

void acq_subs_part_free(acq_subs_part *p)
{
    free(p->sum);
    free(p->count);
    p->sum = NULL;
    p->count = NULL;
}

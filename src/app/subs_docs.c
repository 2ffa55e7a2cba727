/* A tenant's subscriptions: the subscriber documents and the retention
 * report (see subs.h), computed from the records and the cached fit under
 * the tenant's subscriptions lock. */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/subs_impl.h"

/* End of the tenant's as_of day, or now. */
static int64_t now_of(app_tenant *t)
{
    const ltvd_config *cfg = app_tenant_config(t);
    return cfg->has_as_of ? (cfg->as_of_day + 1) * 86400 - 1 : (int64_t)time(NULL);
}

/* The monthly discount_rate per billing period. */
static double rate_per_period(const ltvd_config *cfg, subs_period p)
{
    return p == SUBS_MONTH ? cfg->discount_rate : pow(1 + cfg->discount_rate, 12) - 1;
}

/* The model's figures for d (status and renewals set). */
static void doc_figures(app_sub_doc *d, const subs_fit_cache *c)
{
    d->has_model = c->ok;
    if (c->ok)
        d->params = c->fit.params;
    if (d->status != APP_SUB_ACTIVE) {
        /* churned: nothing more to come, whatever the model */
        d->has_figures = d->has_derl = true;
        return;
    }
    if (!c->ok) {
        snprintf(d->note, sizeof d->note, "%s", c->note);
        return;
    }
    /* k beyond any horizon served: a renewal count no real subscription has */
    unsigned k = d->renewals > APP_SUBS_HORIZON_MAX * 100 ? APP_SUBS_HORIZON_MAX * 100
                                                          : (unsigned)d->renewals;
    d->has_figures = retention_p_renew(&d->params, k, &d->p_renew) == GSL_SUCCESS &&
                     retention_expected_renewals(&d->params, k, d->horizon,
                                                 &d->expected_renewals) == GSL_SUCCESS;
    if (!d->has_figures) {
        d->p_renew = d->expected_renewals = 0;
        snprintf(d->note, sizeof d->note,
                 "the model could not be evaluated for this subscriber");
        return;
    }
    int rc = retention_derl(&d->params, k, d->discount_rate, &d->derl);
    d->has_derl = rc == GSL_SUCCESS;
    if (!d->has_derl) {
        /* e.g. an sBG with beta <= 1 at discount 0: the expected lifetime
         * is infinite, the other figures are not */
        d->derl = 0;
        snprintf(d->note, sizeof d->note, "%s",
                 rc == GSL_EDOM || rc == GSL_EMAXITER
                     ? "DERL does not converge at this discount rate (an infinite "
                       "expected lifetime: set a discount_rate above 0)"
                     : "DERL could not be evaluated for this subscriber");
        return;
    }
    d->residual_value = d->amount * d->derl;
}

static void doc_make(app_tenant *t, const sub_rec *r, unsigned horizon, int64_t now_s,
                     app_sub_doc *d)
{
    const ltvd_config *cfg = app_tenant_config(t);
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", r->id);
    snprintf(d->customer_id, sizeof d->customer_id, "%s", r->customer_id);
    d->period = r->period;
    d->status = subs_status(r, now_s, cfg->subscription_grace_days, &d->paid_through_s);
    d->start_s = r->start_s;
    d->cancelled = r->cancelled;
    d->cancel_s = r->cancel_s;
    d->renewals = r->renewals;
    d->amount = r->amount;
    d->horizon = horizon;
    d->discount_rate = rate_per_period(cfg, r->period);
    doc_figures(d, subs_fit(t->subs, r->period, cfg, now_s));
}

void app_subs_warm(app_tenant *t)
{
    app_subs *s = t->subs;
    const ltvd_config *cfg = app_tenant_config(t);
    int64_t now_s = now_of(t);
    pthread_mutex_lock(&s->lock);
    bool has[2] = {false, false};
    for (size_t i = 0; i < s->n && !(has[0] && has[1]); i++)
        has[s->v[i].period] = true;
    for (int p = 0; p < 2; p++)
        if (has[p])
            subs_fit(s, (subs_period)p, cfg, now_s);
    pthread_mutex_unlock(&s->lock);
}

int app_subs_get(app_tenant *t, const char *id, unsigned horizon, app_sub_doc *out)
{
    app_subs *s = t->subs;
    int64_t now_s = now_of(t);
    pthread_mutex_lock(&s->lock);
    const sub_rec *r = subs_find(s, id);
    if (r != NULL)
        doc_make(t, r, horizon, now_s, out);
    pthread_mutex_unlock(&s->lock);
    return r != NULL ? 0 : 1;
}

size_t app_subs_of_customer(app_tenant *t, const char *customer_id, unsigned horizon,
                            app_sub_doc *out, size_t max, size_t *total)
{
    app_subs *s = t->subs;
    int64_t now_s = now_of(t);
    size_t n = 0;
    *total = 0;
    if (atomic_load(&s->count) == 0)
        return 0; /* the common case of a tenant without subscriptions */
    pthread_mutex_lock(&s->lock);
    for (int32_t k = subs_customer_head(s, customer_id); k >= 0;
         k = s->v[k].next_of_customer) {
        if (n < max)
            doc_make(t, &s->v[k], horizon, now_s, &out[n++]);
        (*total)++;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ----------------------------------------------------------------- report */

/* The pooled observed churn per period: lost / at risk over every cohort
 * and observed decision. */
static void naive_churn(const subs_fit_cache *c, app_subs_period_report *p)
{
    double lost = 0, at_risk = 0;
    for (size_t i = 0; i < c->n_cohorts; i++)
        for (size_t t = 1; t < c->cohorts[i].n; t++) {
            lost += c->cohorts[i].survivors[t - 1] - c->cohorts[i].survivors[t];
            at_risk += c->cohorts[i].survivors[t - 1];
        }
    p->has_churn = at_risk > 0;
    p->churn = p->has_churn ? lost / at_risk : 0;
}

/* The newest cohorts with a decision observed, copied. -1 when out of
 * memory. */
static int copy_cohorts(const subs_fit_cache *c, app_subs_period_report *p)
{
    for (size_t i = 0; i < c->n_cohorts; i++)
        p->n_cohorts += c->cohorts[i].n > 1;
    size_t want =
        p->n_cohorts < APP_SUBS_COHORTS_SHOWN ? p->n_cohorts : APP_SUBS_COHORTS_SHOWN;
    p->shown = calloc(want > 0 ? want : 1, sizeof *p->shown);
    if (p->shown == NULL)
        return -1;
    for (size_t i = c->n_cohorts; i-- > 0 && p->n_shown < want;) {
        const app_subs_cohort *h = &c->cohorts[i];
        if (h->n < 2)
            continue;
        app_subs_cohort *o = &p->shown[p->n_shown];
        o->key = h->key;
        o->n = h->n;
        if ((o->survivors = malloc(h->n * sizeof *o->survivors)) == NULL)
            return -1;
        memcpy(o->survivors, h->survivors, h->n * sizeof *o->survivors);
        p->n_shown++;
    }
    return 0;
}

static int model_part(const subs_fit_cache *c, unsigned horizon,
                      app_subs_period_report *p)
{
    p->has_fit = c->ok;
    snprintf(p->note, sizeof p->note, "%s", c->ok ? "" : c->note);
    if (!c->ok)
        return 0;
    p->fit = c->fit;
    if ((p->curve = malloc((horizon + 1) * sizeof *p->curve)) == NULL)
        return -1;
    for (unsigned h = 0; h <= horizon && p->has_fit; h++)
        p->has_fit = retention_survival(&c->fit.params, h, &p->curve[h]) == GSL_SUCCESS;
    if (!p->has_fit)
        snprintf(p->note, sizeof p->note, "the fitted model could not be evaluated");
    if (p->has_fit && p->has_arpa)
        p->has_model_value =
            retention_new_subscriber_value(&c->fit.params, p->arpa, p->discount_rate,
                                           &p->model_value) == GSL_SUCCESS &&
            isfinite(p->model_value);
    return 0;
}

static int period_report(app_tenant *t, subs_period period, unsigned horizon,
                         int64_t now_s, app_subs_period_report *p)
{
    app_subs *s = t->subs;
    const ltvd_config *cfg = app_tenant_config(t);
    p->period = period;
    p->discount_rate = rate_per_period(cfg, period);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++) {
        const sub_rec *r = &s->v[i];
        int64_t paid;
        if (r->period != period || !r->has_start)
            continue;
        p->n_subs++;
        app_sub_status st = subs_status(r, now_s, cfg->subscription_grace_days, &paid);
        p->n_active += st == APP_SUB_ACTIVE;
        p->n_cancelled += st == APP_SUB_CANCELLED;
        p->n_lapsed += st == APP_SUB_LAPSED;
        sum += st == APP_SUB_ACTIVE ? r->amount : 0;
    }
    p->has_arpa = p->n_active > 0;
    p->arpa = p->has_arpa ? sum / (double)p->n_active : 0;
    const subs_fit_cache *c = subs_fit(s, period, cfg, now_s);
    naive_churn(c, p);
    p->has_naive = p->has_arpa && p->has_churn && p->churn > 0;
    if (p->has_naive) {
        p->naive_value = p->arpa / p->churn;
        p->naive_value_discounted =
            p->arpa * (1 + p->discount_rate) / (p->churn + p->discount_rate);
    }
    if (copy_cohorts(c, p) != 0)
        return -1;
    return model_part(c, horizon, p);
}

int app_subs_report_make(app_tenant *t, unsigned horizon, app_subs_report *out)
{
    const ltvd_config *cfg = app_tenant_config(t);
    app_subs *s = t->subs;
    memset(out, 0, sizeof *out);
    out->kind = (retention_kind)cfg->retention_model;
    out->grace_days = cfg->subscription_grace_days;
    out->as_of_s = now_of(t);
    out->horizon = horizon;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        out->present[s->v[i].period] = out->present[s->v[i].period] || s->v[i].has_start;
    for (int p = 0; rc == 0 && p < 2; p++)
        if (out->present[p])
            rc =
                period_report(t, (subs_period)p, horizon, out->as_of_s, &out->periods[p]);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void app_subs_report_free(app_subs_report *r)
{
    for (int p = 0; p < 2; p++) {
        app_subs_period_report *x = &r->periods[p];
        for (size_t i = 0; i < x->n_shown; i++)
            free(x->shown[i].survivors);
        free(x->shown);
        free(x->curve);
        memset(x, 0, sizeof *x);
    }
}

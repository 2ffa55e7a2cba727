/* GET /v1/acquisition?months=N&target_ratio=R and GET /v1/cohorts?by=month
 * (and their /v1/tenants/{tenant}/ forms): the acquisition and cohort
 * answers of docs/acquisition.md, from the tenant's cache and served model
 * (app/acq_view.h: one pass kept while nothing changes), as
 * http/acq_doc.h's documents. months 1..1200 (default 36), target_ratio a
 * number > 0 (default 3), by "month" (the only grouping). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/acq_view.h"
#include "http/acq_channel_doc.h"
#include "http/acq_doc.h"
#include "http/acq_subs_doc.h"
#include "http/customers.h"
#include "http/json_body.h"
#include "http/query.h"
#include "http/score_doc.h"
#include "summary/summary.h"

/* Reads query parameter name as a number into *v (left as is when absent).
 * False after a 400 reply. */
static bool number_param(http_request *req, const char *name, double *v, bool whole,
                         double lo, double hi, http_result *res)
{
    const char *s;
    int q = http_query(req, name, &s);
    if (q == 0)
        return true;
    double d;
    if (q == 1 && summary_parse_number(s, &d) == 0 && d >= lo && d <= hi &&
        (!whole || d == floor(d)) && (lo > 0 || d > 0)) {
        *v = d;
        return true;
    }
    char detail[300];
    snprintf(detail, sizeof detail, "%s must be %s, not \"%.100s\"", name,
             whole ? "a whole number of months from 1 to 1200" : "a number above 0",
             q == 1 ? s : "");
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    return false;
}

/* The view, or a failure already replied (NULL). */
static app_acq_view *view_or_reply(http_request *req, http_result *res)
{
    score_mark_stale(req);
    app_acq_view *v;
    app_list_status st = app_acq_view_get(req->tenant_ref, &v);
    if (st != APP_LIST_OK)
        *res = customer_list_reply_failure(req, st, 0);
    return v;
}

/* The per-channel part of an answer: "channel_model", each channel's
 * "channel_params" and value (model/acq_channels.h, fitted in the
 * background: app/acq_chan.h). */
typedef struct channel_part {
    app_acq_chan_fit *fit; /* held, or NULL */
    json_t *model;
    json_t **params;       /* v->cc.n_channels */
    const acq_value **per; /* v->cc.n_channels */
    acq_value *distinct;   /* ACQ_CHANNELS_DISTINCT */
    const char *why;       /* for the channels with the pooled value */
} channel_part;

static const char *status_label(app_acq_chan_status st)
{
    return st == APP_ACQ_CHAN_FITTING          ? "fitting"
           : st == APP_ACQ_CHAN_NOT_APPLICABLE ? "not_applicable"
                                               : "failed";
}

/* The fitted model's members, the channels' names read from the cache's
 * dictionary (the fit's channel k is its index k + 1). */
static void ready_part(app_tenant *tn, const app_acq_view *v, const acq_model *a,
                       channel_part *p)
{
    const acq_channel_fit *f = &p->fit->f;
    const char **dict = malloc((f->n_channels + 1) * sizeof *dict);
    if (dict != NULL &&
        cache_channel_names(tn->cache, dict, f->n_channels + 1) >= f->n_channels + 1)
        p->model = acq_channel_doc_model(f, dict + 1);
    free(dict);
    if (p->model == NULL) {
        p->why = "out of memory";
        return;
    }
    const acq_value **fper = calloc(f->n_channels + 1, sizeof *fper);
    bool later = false; /* a long horizon's values, computed in the background */
    if (fper != NULL && !app_acq_chan_values(p->fit, a, p->distinct, fper)) {
        app_acq_chan_values_start(app_acq_chan_of(tn), p->fit, a);
        later = true;
    }
    for (size_t k = 0; k < v->cc.n_channels; k++) {
        bool in_fit = fper != NULL && !later && k < v->n_dict && k < f->n_channels;
        p->per[k] = in_fit ? fper[k] : NULL;
        const char *why = later ? "the channels' values over this many months are being "
                                  "computed in the background"
                          : !in_fit
                              ? "no customer of the channel in the channel model's fit"
                          : f->source[k] == ACQ_SRC_POOLED
                              ? "no customer of the channel in the fit"
                              : "its parameters cannot value a new customer";
        p->params[k] =
            acq_channel_doc_params(in_fit ? f : NULL, k, p->per[k] != NULL, why);
    }
    free(fper);
}

/* Fills p for view v (its pooled model a, valued); false when out of
 * memory. */
static bool channel_part_make(app_tenant *tn, const app_acq_view *v, const acq_model *a,
                              bool valued, channel_part *p)
{
    size_t n = v->cc.n_channels + 1;
    *p = (channel_part){.params = calloc(n, sizeof *p->params),
                        .per = calloc(n, sizeof *p->per),
                        .distinct = malloc(ACQ_CHANNELS_DISTINCT * sizeof *p->distinct)};
    if (p->params == NULL || p->per == NULL || p->distinct == NULL)
        return false;
    app_acq_chan_status st = APP_ACQ_CHAN_NOT_APPLICABLE;
    p->why = "no spend model is served: no value to give per channel";
    if (valued)
        st = app_acq_chan_get(app_acq_chan_of(tn), tn->cache, v->m, a, &p->fit, &p->why);
    if (st == APP_ACQ_CHAN_READY)
        ready_part(tn, v, a, p);
    else
        p->model = acq_channel_doc_status(status_label(st), p->why);
    return p->model != NULL;
}

static void channel_part_free(channel_part *p, size_t n_channels)
{
    for (size_t k = 0; p->params != NULL && k < n_channels; k++)
        json_decref(p->params[k]);
    free(p->params);
    free(p->per);
    free(p->distinct);
    json_decref(p->model);
    app_acq_chan_release(p->fit);
}

/* GET /v1/acquisition */
static http_result get_acquisition(http_request *req)
{
    static const char *const known[] = {"months", "target_ratio", NULL};
    http_result res = HTTP_REPLIED;
    double months = 36, ratio = 3;
    if (!query_known_only_or_reply(
            req, known, "GET /v1/acquisition takes months and target_ratio", &res) ||
        !number_param(req, "months", &months, true, 1, ACQ_MAX_MONTHS, &res) ||
        !number_param(req, "target_ratio", &ratio, false, 0, 1e300, &res))
        return res;
    app_acq_view *v = view_or_reply(req, &res);
    if (v == NULL)
        return res;
    const ltvd_config *cfg = app_tenant_config(req->tenant_ref);
    acq_model a;
    bool valued = app_acq_model(v->m, cfg, (unsigned)months, &a);
    acq_value *value = valued ? malloc(sizeof *value) : NULL;
    if (value != NULL)
        app_acq_value(req->tenant_ref, v->m, &a, value);
    json_t *prov =
        acq_doc_provenance(&a, (long long)v->m->version, v->m->fitted_at, valued);
    channel_part cp;
    bool parts = channel_part_make(req->tenant_ref, v, &a, value != NULL, &cp);
    acq_subs_part sp;
    parts = acq_subs_part_make(req->tenant_ref, v, cfg, ratio, &sp) && parts;
    acq_doc_in in = {.model = value != NULL ? &a : NULL,
                     .value = value,
                     .channel_values = parts ? cp.per : NULL,
                     .channel_model = parts ? cp.model : NULL,
                     .channel_params = parts ? cp.params : NULL,
                     .params_why = cp.why,
                     .provenance = prov,
                     .names = (const char *const *)v->names,
                     .cc = &v->cc,
                     .target_ratio = ratio,
                     .as_of_day = v->as_of_day,
                     .group_hook = acq_subs_part_group,
                     .hook_arg = &sp};
    const char *why = "out of memory";
    json_t *doc = parts ? acq_doc_acquisition(&in, &why) : NULL;
    if (doc != NULL)
        acq_subs_part_top(&sp, doc);
    acq_subs_part_free(&sp);
    channel_part_free(&cp, v->cc.n_channels);
    json_decref(prov);
    free(value);
    app_acq_view_release(v);
    if (doc == NULL)
        return http_reply_problem(req, PROBLEM_INTERNAL, why, NULL);
    return json_body_reply(req, 200, doc, 17);
}

/* GET /v1/cohorts */
static http_result get_cohorts(http_request *req)
{
    static const char *const known[] = {"by", NULL};
    http_result res = HTTP_REPLIED;
    if (!query_known_only_or_reply(req, known, "GET /v1/cohorts takes by", &res))
        return res;
    const char *by;
    if (http_query(req, "by", &by) == 1 && strcmp(by, "month") != 0) {
        char detail[300];
        snprintf(detail, sizeof detail, "by must be \"month\", not \"%.100s\"", by);
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    }
    app_acq_view *v = view_or_reply(req, &res);
    if (v == NULL)
        return res;
    const ltvd_config *cfg = app_tenant_config(req->tenant_ref);
    acq_model a;
    bool valued = app_acq_model(v->m, cfg, 1, &a);
    json_t *prov =
        acq_doc_provenance(&a, (long long)v->m->version, v->m->fitted_at, valued);
    json_t *doc = acq_doc_cohorts(&v->cohorts, prov, v->as_of_day);
    json_decref(prov);
    app_acq_view_release(v);
    return json_body_reply(req, 200, doc, 17);
}

const http_route acq_answer_routes[] = {
    {"GET", "/v1/acquisition", get_acquisition, 0, NULL, http_offload_always},
    {"GET", "/v1/cohorts", get_cohorts, 0, NULL, http_offload_always},
};
const size_t acq_answer_nroutes = sizeof acq_answer_routes / sizeof acq_answer_routes[0];

/* One customer's scores for the customer endpoints (see score_doc.h; the
 * scores and lifecycle stages themselves are app/customer_query.c's). */
#include "http/score_doc.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/query.h"
#include "http/score_fields.h"
#include "model/clv.h"
#include "summary/summary.h"

static const char *const risk_names[] = {"low", "medium", "high"};
static const char *const stage_names[] = {"new", "developing", "established", "sleeping",
                                          "lost"};

const char *score_risk_name(score_risk r)
{
    return risk_names[r];
}

const char *score_stage_name(score_stage s)
{
    return stage_names[s];
}

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0)
            return i;
    }
    return -1;
}

int score_risk_parse(const char *s)
{
    return name_index(risk_names, 3, s);
}

int score_stage_parse(const char *s)
{
    return name_index(stage_names, 5, s);
}

/* ---------------------------------------------------------------- options */

bool score_query_known_or_reply(http_request *req, const char *const *known,
                                http_result *res)
{
    const char *bad = http_query_unknown(req, known);
    if (bad == NULL)
        return true;
    char detail[160];
    snprintf(detail, sizeof detail, "unknown query parameter \"%.100s\"", bad);
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    return false;
}

bool score_opts_or_reply(http_request *req, score_opts *o, http_result *res)
{
    const ltvd_config *cfg = app_tenant_config(req->tenant_ref); /* its settings */
    double h = (double)cfg->horizon_days;
    o->discount_rate = cfg->discount_rate;
    o->margin = cfg->margin;
    if (!query_number(req, "horizon_days", 1, 36500, true, &h, res) ||
        !query_number(req, "discount_rate", 0, 1, false, &o->discount_rate, res) ||
        !query_number(req, "margin", 0, 1, false, &o->margin, res))
        return false;
    o->horizon_days = (long)h;
    o->as_of_day = app_tenant_as_of_day(req->tenant_ref);
    o->tenant = req->tenant_ref; /* its percentiles (score_fields.h) */
    const char *v = NULL;
    int q = http_query(req, "as_of", &v);
    o->as_of_given = q != 0;
    if (q != 0 && (q < 0 || summary_parse_day(v, &o->as_of_day) != 0)) {
        *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER,
                                  "as_of must be a date (YYYY-MM-DD) or an RFC 3339 time",
                                  NULL);
        return false;
    }
    /* the cache holds summaries cut at LTVD_AS_OF: a later day would see
     * the customers age without their purchases in between */
    if (cfg->has_as_of && o->as_of_day > cfg->as_of_day) {
        char detail[120];
        snprintf(detail, sizeof detail,
                 "as_of must not be after the service's as_of (%.40s)", cfg->as_of);
        *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- summary */

void score_mark_stale(http_request *req)
{
    long long since = app_db_down_since(req->ctx->app);
    if (since == 0)
        return;
    time_t t = (time_t)since;
    struct tm tm;
    char value[96];
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(value, sizeof value, "database unavailable since %Y-%m-%dT%H:%M:%SZ",
                 &tm) == 0)
        snprintf(value, sizeof value, "database unavailable");
    http_set_header(req, SCORE_STALE_HEADER, value);
}

/* ---------------------------------------------------------------- scores */

int score_compute(const cache_model *m, const cache_summary *s, const score_opts *o,
                  const ltvd_config *cfg, score_row *out)
{
    return app_score_compute(m, s, o, cfg, out);
}

http_result score_reply_failure(http_request *req, const char *id, int rc)
{
    if (rc == CACHE_SCORE_NOT_YET)
        return http_reply_problem(req, PROBLEM_CUSTOMER_NOT_FOUND,
                                  "the first purchase is after as_of", NULL);
    char detail[200];
    snprintf(detail, sizeof detail, "the scores of \"%.60s\" cannot be computed: %s", id,
             rc == CACHE_SCORE_AS_OF_EARLY ? "the last purchase is after as_of"
                                           : gsl_strerror(rc));
    return http_reply_problem(req, PROBLEM_INTERNAL, detail, NULL);
}

static void day_out(json_out *b, int64_t day)
{
    char s[11];
    if (summary_format_day(day, s) == 0)
        json_out_str(b, s);
    else
        json_out_raw(b, "null");
}

static void real_or_null(json_out *b, bool has, double d)
{
    if (has)
        json_out_real(b, d);
    else
        json_out_raw(b, "null");
}

static void str_or_null(json_out *b, const char *s)
{
    if (s != NULL)
        json_out_str(b, s);
    else
        json_out_raw(b, "null");
}

void score_doc_write(json_out *b, const char *id, const cache_model *m,
                     const score_opts *o, const score_row *row)
{
    const cache_score_result *r = &row->r;
    json_out_raw(b, "{");
    json_out_key(b, "customer_id");
    json_out_str(b, id);
    json_out_raw(b, ",\"as_of\":");
    day_out(b, o->as_of_day);
    json_out_raw(b, ",\"summary\":{\"frequency\":");
    json_out_int(b, (long long)r->x);
    json_out_raw(b, ",\"recency\":");
    json_out_real(b, r->t_x);
    json_out_raw(b, ",\"T\":");
    json_out_real(b, r->T);
    json_out_raw(b, m->period_days == 1 ? ",\"period\":\"day\"" : ",\"period\":\"week\"");
    json_out_raw(b, ",\"monetary_value\":");
    json_out_real(b, r->m);
    json_out_raw(b, ",\"first_purchase\":");
    day_out(b, r->summary.first_day);
    json_out_raw(b, ",\"last_purchase\":");
    day_out(b, r->summary.last_day);
    json_out_raw(b, "},\"p_alive\":");
    json_out_real(b, r->p_alive);
    json_out_raw(b, ",\"horizon_days\":");
    json_out_int(b, o->horizon_days);
    json_out_raw(b, ",\"expected_purchases\":");
    json_out_real(b, r->expected);
    json_out_raw(b, ",\"p_purchase\":");
    json_out_real(b, r->p_purchase);
    json_out_raw(b, ",\"expected_spend\":");
    real_or_null(b, r->has_spend, r->expected_spend);
    json_out_raw(b, ",\"predicted_ltv\":");
    real_or_null(b, r->has_spend, r->clv);
    json_out_raw(b, ",\"churn_risk\":");
    json_out_str(b, score_risk_name(row->risk));
    json_out_raw(b, row->risk == SCORE_RISK_HIGH ? ",\"at_risk\":true"
                                                 : ",\"at_risk\":false");
    json_out_raw(b, ",\"lifecycle_stage\":");
    json_out_str(b, score_stage_name(row->stage));
    json_out_raw(b, ",\"acquisition_channel\":");
    str_or_null(b, row->channel);
    json_out_raw(b, ",\"campaign\":");
    str_or_null(b, row->campaign);
    score_fields_write(b, m, o, row);
    json_out_raw(b, ",\"model\":{\"name\":");
    json_out_str(b, m->model->name);
    json_out_raw(b, ",\"version\":");
    json_out_int(b, (long long)m->version);
    json_out_raw(b, ",\"fitted_at\":");
    json_out_real(b, m->fitted_at);
    json_out_raw(b, "}}");
}

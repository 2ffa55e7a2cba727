/* The "intervals" member of GET /v1/customers/{customer_id} (see
 * intervals_doc.h). */
#include "http/intervals_doc.h"

#include <string.h>

#include "app/customer_query.h"
#include "http/problem.h"
#include "model/intervals.h"

static void pair_out(json_out *b, const char *key, const intervals_bound *v)
{
    json_out_raw(b, ",");
    json_out_key(b, key);
    if (!v->ok) {
        json_out_raw(b, "null");
        return;
    }
    json_out_raw(b, "[");
    json_out_real(b, v->lo);
    json_out_raw(b, ",");
    json_out_real(b, v->hi);
    json_out_raw(b, "]");
}

void intervals_doc_member(json_out *b, const cache_model *m, const score_opts *o,
                          const score_row *row)
{
    if (b->failed || b->len == 0 || b->p[b->len - 1] != '}')
        return;
    const cache_score_result *r = &row->r;
    clv_options clv = app_clv_options(m, o->horizon_days, o->discount_rate, o->margin);
    intervals_spec s = {
        .model = m->model,
        .params = m->params,
        .covariance = m->fit.covariance_ok ? m->fit.covariance : NULL,
        .gg_params = m->has_spend ? m->gg_params : NULL,
        .gg_covariance =
            m->has_spend && m->gg_fit.covariance_ok ? m->gg_fit.covariance : NULL,
        .horizon = (double)o->horizon_days / m->period_days,
        .clv = m->has_spend ? &clv : NULL,
        .level = INTERVALS_LEVEL,
    };
    intervals_result res;
    bool any = intervals_compute(&s, r->x, r->t_x, r->T, r->m, &res) == 0 &&
               (res.p_alive.ok || res.expected.ok);
    b->p[--b->len] = '\0'; /* reopen the document */
    json_out_raw(b, ",\"intervals\":");
    if (!any) {
        json_out_raw(b, "null}");
        return;
    }
    json_out_raw(b, "{\"level\":0.9"); /* INTERVALS_LEVEL, as written (not %.17g) */
    pair_out(b, "p_alive", &res.p_alive);
    pair_out(b, "expected_purchases", &res.expected);
    pair_out(b, "predicted_ltv", &res.ltv);
    json_out_raw(b, "}}");
}

bool intervals_doc_wanted_or_reply(http_request *req, bool *want, http_result *res)
{
    const char *v = NULL;
    int q = http_query(req, "intervals", &v);
    *want = true;
    if (q == 0)
        return true;
    if (q > 0 && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)) {
        *want = v[0] == 't';
        return true;
    }
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER,
                              "intervals must be true or false", NULL);
    return false;
}

/* The two summary endpoints the dashboard draws besides the existing ones
 * (docs/dashboard.md), under every tenant too, scope read:
 *   GET /v1/model/p_alive_matrix?max_frequency=F&max_recency=R
 *     P(alive) of a customer with frequency f (repeat purchases) and
 *     recency r (age at the last purchase, in model periods) observed for
 *     T = R periods, f = 0..F, r = 0..R, from the served snapshot alone,
 *     as lifetimes' plot_probability_alive_matrix draws it. F 1..100
 *     (default 20), R 1..1000 (default 52 weekly, 180 daily: ~30 KB), at most
 *     PALIVE_CELLS_MAX cells: bounded work, run on the offload pool.
 *     {"model", "period", "version", "fitted_at", "T", "frequency": [..],
 *      "recency": [..], "p_alive": [[row of frequency f: R+1 values, null
 *      where the model has no value (BG/BB: f > r)], ...]}
 *   GET /v1/customers/ltv_distribution?bins=N
 *     The histogram of predicted LTV (app/ltv_dist.h), N 1..100 (default 20):
 *     {"as_of", "customers", "unscored", "has_spend_model", "horizon_days",
 *      "margin", "bins": [{"from", "to", "customers"}], "above": {"from",
 *      "customers"} | null,
 *      "min", "max", "mean", "total", "p50", "p90", "p99",
 *      "model": {"name", "version", "fitted_at"}}; without a spend model
 *     every LTV is unknown: bins empty and the figures null. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/ltv_dist.h"
#include "cache/cache.h"
#include "http/customers.h"
#include "http/dashboard.h"
#include "http/json_body.h"
#include "http/query.h"
#include "http/score_doc.h"
#include "summary/summary.h"

#define PALIVE_CELLS_MAX 40401 /* 201 x 201: 25-70 ms for BG/NBD here */

/* ------------------------------------------------------ p_alive_matrix */

/* Appends v (stolen) to a; on failure (v NULL, out of memory) frees a and
 * returns false, so that a NULL anywhere makes the whole document NULL
 * (a 500) rather than a short row. */
static bool append_or_drop(json_t **a, json_t *v)
{
    if (*a != NULL && json_array_append_new(*a, v) == 0)
        return true;
    if (*a == NULL)
        json_decref(v);
    json_decref(*a);
    *a = NULL;
    return false;
}

/* The row of frequency f: P(alive) at recency 0..R, T = R (4 decimals). */
static json_t *p_alive_row(const cache_model *m, int f, int R)
{
    json_t *row = json_array();
    for (int r = 0; row != NULL && r <= R; r++) {
        double p = NAN;
        int rc = m->model->p_alive(m->params, f, f == 0 ? 0 : r, R, &p);
        append_or_drop(&row, rc == 0 && isfinite(p) && (f == 0 || r > 0)
                                 ? json_real(round(p * 1e4) / 1e4)
                                 : json_null());
    }
    return row;
}

static json_t *matrix_json(const cache_model *m, int F, int R)
{
    json_t *freq = json_array(), *rec = json_array(), *rows = json_array();
    for (int f = 0; f <= F && append_or_drop(&freq, json_integer(f)) &&
                    append_or_drop(&rows, p_alive_row(m, f, R));
         f++)
        ;
    for (int r = 0; r <= R && append_or_drop(&rec, json_integer(r)); r++)
        ;
    /* "o" steals even on failure: a NULL member frees the others */
    return json_pack("{s:s, s:s, s:I, s:f, s:i, s:o, s:o, s:o}", "model", m->model->name,
                     "period", m->period_days == 1 ? "day" : "week", "version",
                     (json_int_t)m->version, "fitted_at", m->fitted_at, "T", R,
                     "frequency", freq, "recency", rec, "p_alive", rows);
}

/* GET /v1/model/p_alive_matrix */
static http_result get_p_alive_matrix(http_request *req)
{
    static const char *const known[] = {"max_frequency", "max_recency", NULL};
    http_result res;
    if (!query_known_only_or_reply(req, known, "it takes max_frequency and max_recency",
                                   &res))
        return res;
    app_tenant *t = req->tenant_ref;
    const cache_model *m = cache_snapshot_acquire(t->cache);
    if (m == NULL) {
        char detail[1400];
        app_no_model_detail(t, detail, sizeof detail);
        return http_reply_problem(req, PROBLEM_NO_MODEL, detail, NULL);
    }
    double F = 20, R = m->period_days == 1 ? 180 : 52;
    if (!query_number(req, "max_frequency", 1, 100, true, &F, &res) ||
        !query_number(req, "max_recency", 1, 1000, true, &R, &res)) {
        cache_snapshot_release(m);
        return res;
    }
    if ((F + 1) * (R + 1) > PALIVE_CELLS_MAX) {
        cache_snapshot_release(m);
        char detail[200];
        snprintf(detail, sizeof detail,
                 "(max_frequency + 1) x (max_recency + 1) is %.0f cells, at most %d",
                 (F + 1) * (R + 1), PALIVE_CELLS_MAX);
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    }
    json_t *doc = matrix_json(m, (int)F, (int)R);
    cache_snapshot_release(m);
    return json_body_reply(req, 200, doc, 12); /* p to 4 places, fitted_at whole */
}

/* ---------------------------------------------------- ltv_distribution */

static json_t *num_or_null(bool known, double v)
{
    return known && isfinite(v) ? json_real(v) : json_null();
}

static json_t *dist_json(const app_ltv_dist *d, const ltvd_config *cfg)
{
    char day[16];
    if (summary_format_day(d->as_of_day, day) != 0)
        return NULL;
    bool any = d->has_spend && d->n_counted > 0;
    json_t *bins = json_array();
    double w = (d->hi - d->lo) / (double)d->bins;
    for (size_t i = 0;
         any && i < d->bins &&
         append_or_drop(&bins,
                        json_pack("{s:f, s:f, s:I}", "from", d->lo + w * (double)i, "to",
                                  i + 1 == d->bins ? d->hi : d->lo + w * (double)(i + 1),
                                  "customers", (json_int_t)d->counts[i]));
         i++)
        ;
    json_t *above =
        any ? json_pack("{s:f, s:I}", "from", d->hi, "customers", (json_int_t)d->above)
            : json_null();
    return json_pack(
        "{s:s, s:I, s:I, s:b, s:I, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
        " s:{s:s, s:I, s:f}}",
        "as_of", day, "customers", (json_int_t)d->n_counted, "unscored",
        (json_int_t)d->n_failed, "has_spend_model", d->has_spend, "horizon_days",
        (json_int_t)cfg->horizon_days, "margin", cfg->margin, "bins", bins, "above",
        above, "min", num_or_null(any, d->lo), "max", num_or_null(any, d->max), "mean",
        num_or_null(any, d->mean), "total", num_or_null(any, d->total), "p50",
        num_or_null(any, d->p50), "p90", num_or_null(any, d->p90), "p99",
        num_or_null(any, d->p99), "model", "name", d->m->model->name, "version",
        (json_int_t)d->m->version, "fitted_at", d->m->fitted_at);
}

/* GET /v1/customers/ltv_distribution */
static http_result get_ltv_distribution(http_request *req)
{
    static const char *const known[] = {"bins", NULL};
    http_result res;
    if (!query_known_only_or_reply(req, known, "it takes bins", &res))
        return res;
    double bins = 20;
    if (!query_number(req, "bins", 1, APP_LTV_BINS_MAX, true, &bins, &res))
        return res;
    score_mark_stale(req);
    app_ltv_dist d;
    app_list_status st = app_ltv_dist_run(req->tenant_ref, (size_t)bins, &d);
    if (st != APP_LIST_OK)
        res = customer_list_reply_failure(req, st, d.n_customers);
    else
        res = json_body_reply(req, 200, dist_json(&d, app_tenant_config(req->tenant_ref)),
                              17);
    app_ltv_dist_free(&d);
    return res;
}

const http_route dashboard_data_routes[] = {
    /* up to 40,401 P(alive)s (~25 ms for BG/NBD, more for Pareto/NBD): off
     * the connection threads, as long work is */
    {"GET", "/v1/model/p_alive_matrix", get_p_alive_matrix, 0, NULL, http_offload_always},
    {"GET", "/v1/customers/ltv_distribution", get_ltv_distribution, 0, NULL,
     http_offload_always},
};
const size_t dashboard_data_nroutes =
    sizeof dashboard_data_routes / sizeof dashboard_data_routes[0];

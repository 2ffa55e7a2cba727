/* Segment counts (segments.h): the cells of the score table's ranks are
 * exactly the (churn risk, lifecycle stage) pairs (app_list_cell), so the
 * ranked customers are counted by the sizes of the cells; the customers the
 * ranks do not hold (changed since, unranked) are scored here one by one,
 * as a list would (app_score_compute, as of their last day when it is
 * after the service's). Without a rank (or when the change journal lost
 * track) every customer of the table is counted in one pass; without a
 * table, when there are at most list_rescore_max customers, each is scored
 * (as lists do). Customers scored here count against list_budget_ms. */
#include "app/segments.h"

#include <gsl/gsl_errno.h>
#include <string.h>

#include "app/apply.h"
#include "app/list_table.h"
#include "base/clock.h"
#include "cache/scores.h"

typedef struct counting {
    app_tenant *tn;
    const cache_model *m;
    app_score_opts o;
    app_segments *out;
    size_t scored;       /* customers scored here */
    int64_t deadline_ms; /* base_mono_ms: list_budget_ms from the start */
    bool over;           /* the budget ran out */
} counting;

/* Counts one customer (a cache_scores_fn). */
static int count_one(const char *id, const cache_summary *s, const cache_score_row *row,
                     void *arg)
{
    (void)id;
    counting *k = arg;
    app_segments *out = k->out;
    if (row != NULL && row->rc == GSL_SUCCESS && s->last_day <= k->o.as_of_day) {
        int cell =
            app_list_cell(app_tenant_config(k->tn), s, row->p_alive, k->o.as_of_day);
        out->counts[cell / APP_STAGES][cell % APP_STAGES]++;
        out->n_counted++;
        return 0;
    }
    if (++k->scored % 64 == 0 && base_mono_ms() >= k->deadline_ms) {
        k->over = true;
        return 1;
    }
    app_score_row r;
    if (app_score_compute(k->m, s, &k->o, app_tenant_config(k->tn), &r) != GSL_SUCCESS) {
        out->n_failed++;
        return 0;
    }
    out->counts[r.risk][r.stage]++;
    out->n_counted++;
    return 0;
}

/* Counts with table r (acquired; NULL: scoring every customer) and
 * snapshot out->m into the app_segments *out (an app_list_pass_fn). */
static app_list_status count_all(app_tenant *tn, app_list_table *r, void *arg)
{
    app_segments *out = arg;
    const ltvd_config *cfg = app_tenant_config(tn);
    counting k = {.tn = tn,
                  .m = out->m,
                  .out = out,
                  .deadline_ms = base_mono_ms() + cfg->list_budget_ms,
                  .o = app_score_opts_configured(cfg, out->as_of_day)};
    size_t cells[CACHE_RANK_CELLS] = {0};
    cache_scores *t = r != NULL ? r->t : NULL;
    int rc =
        t != NULL ? cache_scores_rank_counts(t, tn->cache, cells, count_one, &k) : -1;
    if (rc == -1) { /* no rank: every customer */
        memset(out->counts, 0, sizeof out->counts);
        out->n_counted = out->n_failed = 0;
        rc = cache_scores_scan(t, tn->cache, count_one, &k);
    } else {
        for (int j = 0; j < APP_RISKS * APP_STAGES; j++) {
            out->counts[j / APP_STAGES][j % APP_STAGES] += cells[j];
            out->n_counted += cells[j];
        }
    }
    return rc == CACHE_ENOMEM ? APP_LIST_NO_MEMORY
           : k.over           ? APP_LIST_BUDGET
                              : APP_LIST_OK;
}

app_list_status app_segments_run(app_tenant *tn, app_segments *out)
{
    memset(out, 0, sizeof *out);
    out->n_customers = app_tenant_customers(tn);
    out->as_of_day = app_tenant_as_of_day(tn);
    return app_list_aggregate(tn, out->as_of_day, &out->m, count_all, out);
}

void app_segments_free(app_segments *s)
{
    cache_snapshot_release(s->m);
    memset(s, 0, sizeof *s);
}

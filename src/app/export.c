/* The export walk (see export.h): a record index into the tenant's cache,
 * a step of APP_EXPORT_STEP records at a time (cache_records copies them
 * under one read lock and holds nothing between steps), each visible
 * customer scored as GET /v1/customers/{id} scores it (app_score_compute
 * with the same options and the same cached summary), so an exported row
 * is that document. A customer whose scores cannot be computed is left out
 * and counted, as a list page leaves it out. */
#include "app/export.h"

#include <gsl/gsl_errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "app/app.h"
#include "base/slots.h"
#include "log/log.h"

struct app_export {
    app_tenant *t;        /* held */
    const cache_model *m; /* held */
    const ltvd_config *cfg;
    app_score_opts o;
    size_t next;     /* the next record index */
    size_t n_failed; /* customers left out: scores not computable */
    int failure;     /* the code of the first of them */
    cache_summary s[APP_EXPORT_STEP];
    const char *ids[APP_EXPORT_STEP];
};

app_export *app_export_start(app_tenant *t, const app_score_opts *o,
                             app_export_refusal *why)
{
    app_export *e = calloc(1, sizeof *e);
    *why = APP_EXPORT_NO_MEMORY;
    if (e == NULL)
        return NULL;
    e->m = cache_snapshot_acquire(t->cache);
    *why = e->m == NULL ? APP_EXPORT_NO_MODEL : APP_EXPORT_BUSY;
    if (e->m == NULL || !base_slot_take(&t->app->exports, t->app->config->export_max)) {
        cache_snapshot_release(e->m);
        free(e);
        return NULL;
    }
    e->t = app_tenant_retain(t);
    e->cfg = app_tenant_config(t); /* kept until the tenant is freed */
    e->o = *o;
    e->o.as_of_given = false;
    return e;
}

const cache_model *app_export_model(const app_export *e)
{
    return e->m;
}

app_export_status app_export_next(app_export *e, app_export_item *items, size_t *n)
{
    *n = 0;
    if (atomic_load(&e->t->deleted))
        return APP_EXPORT_GONE;
    size_t k = cache_records(e->t->cache, e->next, APP_EXPORT_STEP, e->s, e->ids);
    if (k == 0)
        return APP_EXPORT_END;
    e->next += k;
    for (size_t i = 0; i < k; i++) {
        if (e->s[i].n_days == 0)
            continue;
        int rc = app_score_compute(e->m, &e->s[i], &e->o, e->cfg, &items[*n].row);
        if (rc != GSL_SUCCESS) {
            if (e->n_failed++ == 0)
                e->failure = rc;
            continue;
        }
        app_score_row *row = &items[*n].row;
        if (cache_get_attrs(e->t->cache, e->ids[i], &row->channel, &row->campaign) !=
            CACHE_OK)
            row->channel = row->campaign = NULL;
        items[(*n)++].id = e->ids[i];
    }
    return APP_EXPORT_MORE;
}

void app_export_end(app_export *e)
{
    if (e == NULL)
        return;
    if (e->n_failed > 0) /* no customer id: logs carry no customer data */
        log_write(LOG_WARN,
                  "export of tenant %s: %zu customer(s) left out, scores not "
                  "computable (%s)",
                  e->t->id, e->n_failed,
                  e->failure >= 1000 ? "not scorable as of the day"
                                     : gsl_strerror(e->failure));
    cache_snapshot_release(e->m);
    base_slot_give(&e->t->app->exports);
    app_tenant_release(e->t);
    free(e);
}

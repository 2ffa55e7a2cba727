/* Acquisition inputs of a tenant (see acquisition.h). */
#include "app/acquisition.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "app/acq_view.h"
#include "app/apply.h"
#include "log/log.h"

/* A failed statement: counted, and said in detail. */
static app_acq_status unavailable(app *a, store_db *db, char detail[APP_DB_DETAIL_MAX])
{
    app_db_refused(a, db);
    snprintf(detail, APP_DB_DETAIL_MAX, "%.200s",
             store_db_timed_out(db) ? "the database did not answer in time"
                                    : store_db_error(db));
    return APP_ACQ_UNAVAILABLE;
}

app_acq_status app_attrs_put(app_tenant *t, const char *id, const char *channel,
                             const char *campaign, char detail[APP_DB_DETAIL_MAX])
{
    app *a = t->app;
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_ACQ_UNAVAILABLE;
    int rc = store_attrs_put(db, t->id, id, channel, campaign);
    app_acq_status st = rc < 0    ? unavailable(a, db, detail)
                        : rc == 1 ? APP_ACQ_NOT_FOUND
                                  : APP_ACQ_OK;
    app_db_release(a, db);
    if (st != APP_ACQ_OK)
        return st;
    /* after the COMMIT; a customer the cache does not hold (its days after
     * a fixed as_of) has nothing to show them on */
    int set = app_customer_attrs(t, id, channel, campaign);
    if (set != CACHE_OK && set != CACHE_NOT_FOUND)
        log_write(LOG_WARN,
                  "tenant %s: attributes of a customer stored but not cached (%d)", t->id,
                  set);
    return APP_ACQ_OK;
}

/* declared[i]: t's acquisition_channels setting lists s[i].channel (an
 * item without a valid channel is not). */
static void spend_declared(app_tenant *t, const store_spend *s, size_t n, bool *declared)
{
    const json_t *list =
        json_object_get(app_tenant_settings(t)->settings, APP_TENANT_CHANNELS_SETTING);
    for (size_t i = 0; i < n; i++) {
        declared[i] = false;
        for (size_t j = 0;
             s[i].channel != NULL && j < json_array_size(list) && !declared[i]; j++)
            declared[i] =
                strcmp(json_string_value(json_array_get(list, j)), s[i].channel) == 0;
    }
}

/* store_spend_put (write) or store_spend_unknown_channels, with t's
 * declared channels, as an app_acq_status. */
static app_acq_status spend_call(app_tenant *t, const store_spend *s, size_t n,
                                 bool *unknown, bool write,
                                 char detail[APP_DB_DETAIL_MAX])
{
    app *a = t->app;
    bool declared[STORE_SPEND_MAX];
    if (n > STORE_SPEND_MAX) {
        snprintf(detail, APP_DB_DETAIL_MAX, "more than %d items", STORE_SPEND_MAX);
        return APP_ACQ_UNAVAILABLE;
    }
    spend_declared(t, s, n, declared);
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_ACQ_UNAVAILABLE;
    int rc = write ? store_spend_put(db, t->id, s, n, declared, unknown)
                   : store_spend_unknown_channels(db, t->id, s, n, declared, unknown);
    app_acq_status st = rc == 1   ? APP_ACQ_UNKNOWN_CHANNEL
                        : rc != 0 ? unavailable(a, db, detail)
                                  : APP_ACQ_OK;
    app_db_release(a, db);
    return st;
}

app_acq_status app_spend_put(app_tenant *t, const store_spend *s, size_t n, bool *unknown,
                             char detail[APP_DB_DETAIL_MAX])
{
    app_acq_status st = spend_call(t, s, n, unknown, true, detail);
    if (st == APP_ACQ_OK) /* after the COMMIT: the answers' copy (acq_view.h) */
        app_acq_spend_merge(t, s, n);
    return st;
}

app_acq_status app_spend_check_channels(app_tenant *t, const store_spend *s, size_t n,
                                        bool *unknown, char detail[APP_DB_DETAIL_MAX])
{
    /* a 422 does not wait on a PostgreSQL known to be failing: its other
     * errors are answered at once, the channels' in a later 422 */
    if (app_db_down_since(t->app) != 0) {
        snprintf(detail, APP_DB_DETAIL_MAX, "the database is failing");
        return APP_ACQ_UNAVAILABLE;
    }
    return spend_call(t, s, n, unknown, false, detail);
}

app_acq_status app_spend_page(app_tenant *t, const char *after_channel,
                              int64_t after_month, long limit, store_spend_cb cb,
                              void *arg, long *n_out, char detail[APP_DB_DETAIL_MAX])
{
    app *a = t->app;
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_ACQ_UNAVAILABLE;
    long n = store_spend_page(db, t->id, after_channel, after_month, limit, cb, arg);
    app_acq_status st = n < 0 ? unavailable(a, db, detail) : APP_ACQ_OK;
    *n_out = n < 0 ? 0 : n;
    app_db_release(a, db);
    return st;
}

/* Tenants in a running service (see tenant_admin.h): start-up, the
 * management operations, and following the tenants table. */
#include "app/tenant_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/apply.h"
#include "app/subs.h"
#include "app/sync.h"
#include "app/tenants.h"
#include "log/log.h"
#include "store/tenants.h"

/* A tenant object for id with the settings (JSON object text) over the
 * service's configuration. Bad stored settings (written by a newer
 * version, or by hand) are logged and left out. */
static app_tenant *make(app *a, const char *id, const char *settings_text)
{
    json_error_t jerr;
    json_t *settings = json_loads(settings_text != NULL ? settings_text : "{}", 0, &jerr);
    json_t *errors = json_array();
    app_tenant_cfg cfg;
    bool ok = settings != NULL && app_tenant_cfg_make(a->config, settings, &cfg, errors);
    if (!ok) {
        char *e = json_dumps(errors, JSON_COMPACT);
        log_write(LOG_WARN, "tenant %s: stored settings not used: %s", id,
                  e != NULL ? e : "unreadable");
        free(e);
        json_t *none = json_object();
        ok = none != NULL && app_tenant_cfg_make(a->config, none, &cfg, NULL);
        json_decref(none);
    }
    json_decref(settings);
    json_decref(errors);
    if (!ok)
        return NULL;
    app_tenant *t = app_tenant_new(a, id, &cfg);
    if (t == NULL)
        json_decref(cfg.settings);
    return t;
}

typedef struct load_ctx {
    app *a;
    int failed;
} load_ctx;

static int load_one(const store_tenant *row, void *arg)
{
    load_ctx *x = arg;
    app_tenant *t = make(x->a, row->id, row->settings_json);
    if (t != NULL) {
        t->created_at = row->created_at;
        t->updated_at = row->updated_at;
    }
    if (t == NULL || !app_tenants_add(x->a->tenants, t)) {
        app_tenant_release(t);
        x->failed = 1;
        return 1;
    }
    return 0;
}

int app_tenants_load(app *a, store_db *db, char err[CONFIG_ERR_MAX])
{
    load_ctx x = {a, 0};
    int rc = store_tenants_page(db, "", 0, load_one, &x);
    if (rc != 0 || x.failed) {
        snprintf(err, CONFIG_ERR_MAX, "tenants: %.200s",
                 rc < 0 ? store_db_error(db) : "out of memory");
        return -1;
    }
    a->dflt = app_tenants_find(a->tenants, STORE_TENANT_DEFAULT);
    if (a->dflt == NULL) { /* its row was deleted by hand: it still answers /v1 */
        app_tenant *t = make(a, STORE_TENANT_DEFAULT, "{}");
        if (t == NULL || !app_tenants_add(a->tenants, t)) {
            app_tenant_release(t);
            snprintf(err, CONFIG_ERR_MAX, "tenants: out of memory");
            return -1;
        }
        a->dflt = app_tenant_retain(t);
    }
    return 0;
}

/* ------------------------------------------------------- other processes */

typedef struct row_copy {
    bool found;
    char *settings;
    double created_at, updated_at;
} row_copy;

static int copy_row(const store_tenant *row, void *arg)
{
    row_copy *r = arg;
    r->found = true;
    r->created_at = row->created_at;
    r->updated_at = row->updated_at;
    r->settings = strdup(row->settings_json);
    return 0;
}

/* app_tenant_discover with the change lock held; with old (retained by
 * the caller), the new tenant takes its place in one step (a tenant deleted
 * and created again elsewhere: no lookup meanwhile finds none). */
static int discover(app *a, store_db *db, const char *id, app_tenant *old,
                    app_tenant **out)
{
    *out = NULL;
    row_copy row = {0};
    int rc = store_tenant_get(db, id, copy_row, &row);
    if (rc != 0) { /* 1: no such tenant (deleted): its rows are gone too */
        free(row.settings);
        return rc < 0 ? -1 : 0;
    }
    char err[CONFIG_ERR_MAX];
    app_tenant *t = row.settings != NULL ? make(a, id, row.settings) : NULL;
    free(row.settings);
    if (t == NULL) {
        snprintf(db->err, sizeof db->err, "tenant %s: out of memory", id);
        return -1;
    }
    t->created_at = row.created_at;
    t->updated_at = row.updated_at;
    rc = app_tenant_rebuild(t, db);
    if (rc == 0)
        rc = app_tenant_load_snapshot(t, db, err);
    if (rc == 0) /* its subscriptions, before it serves (app/subs.h) */
        rc = app_subs_load(t, db);
    if (rc != 0) {
        if (rc > 0)
            snprintf(db->err, sizeof db->err,
                     "tenant %s: invalid summary or out of memory", id);
        app_tenant_release(t);
        return -1;
    }
    if (old != NULL) {
        bool taken = false;
        app_tenant *was =
            app_tenant_start(t) ? app_tenants_replace(a->tenants, t, &taken) : NULL;
        if (!taken) {
            app_tenant_release(t);
            snprintf(db->err, sizeof db->err, "tenant %s: cannot start", id);
            return -1;
        }
        atomic_store(&old->deleted, true);
        app_tenant_release(was); /* the registry's reference to old */
        log_write(LOG_INFO,
                  "tenant %s: deleted and created again by another process: the new "
                  "one served, %zu customers",
                  id, app_tenant_customers(t));
        *out = app_tenant_retain(t);
        return 0;
    }
    app_tenant *known = app_tenants_find(a->tenants, id);
    if (known != NULL) { /* created here meanwhile (POST): that one serves */
        app_tenant_release(t);
        *out = known;
        return 0;
    }
    if (!app_tenant_start(t) || !app_tenants_add(a->tenants, app_tenant_retain(t))) {
        app_tenant_release(t);
        app_tenant_release(t);
        snprintf(db->err, sizeof db->err, "tenant %s: cannot start", id);
        return -1;
    }
    log_write(LOG_INFO, "tenant %s (created by another process) served: %zu customers",
              id, app_tenant_customers(t));
    *out = t;
    return 0;
}

int app_tenant_discover(app *a, store_db *db, const char *id, app_tenant **out)
{
    app_tenants_change_lock(a->tenants);
    int rc = discover(a, db, id, NULL, out);
    app_tenants_change_unlock(a->tenants);
    return rc;
}

/* The reconcile's pass over the table: the ids seen, in order. */
typedef struct seen_ctx {
    app *a;
    store_db *db;
    char **ids;
    bool *recreated; /* per id: deleted and created again elsewhere */
    size_t n, cap;
    int rc;
} seen_ctx;

static int reconcile_one(const store_tenant *row, void *arg)
{
    seen_ctx *x = arg;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        char **v = realloc(x->ids, cap * sizeof *v);
        if (v != NULL)
            x->ids = v;
        bool *re = v != NULL ? realloc(x->recreated, cap * sizeof *re) : NULL;
        if (re == NULL)
            return 1;
        x->recreated = re;
        x->cap = cap;
    }
    if ((x->ids[x->n] = strdup(row->id)) == NULL)
        return 1;
    x->recreated[x->n] = false;
    x->n++;
    app_tenant *t = app_tenants_find(x->a->tenants, row->id);
    if (t == NULL)
        return 0; /* discovered after the pass (not inside its result) */
    if (t->created_at == 0) {
        t->created_at = row->created_at; /* created here */
    } else if (t->created_at != row->created_at && t != x->a->dflt) {
        /* deleted and created again elsewhere since the last look: this
         * one holds the deleted one's customers; the pass's end loads the
         * new one and puts it in its place */
        x->recreated[x->n - 1] = true;
        log_write(LOG_INFO, "tenant %s: its row was created at %.6f, not %.6f", row->id,
                  row->created_at, t->created_at);
        app_tenant_release(t);
        return 0;
    }
    if (t->updated_at == row->updated_at) { /* unchanged since the last look */
        app_tenant_release(t);
        return 0;
    }
    char *now =
        json_dumps(app_tenant_settings(t)->settings, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *stored = json_loads(row->settings_json, 0, NULL);
    char *then =
        stored != NULL ? json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    app_tenant_cfg cfg;
    if (now != NULL && then != NULL)
        t->updated_at = row->updated_at; /* compared */
    if (now != NULL && then != NULL && strcmp(now, then) != 0 &&
        app_tenant_cfg_make(x->a->config, stored, &cfg, NULL)) {
        pthread_mutex_lock(&x->a->writer); /* one writer of the settings (a PATCH) */
        app_tenant_settings_swap(t, &cfg);
        pthread_mutex_unlock(&x->a->writer);
        log_write(LOG_INFO, "tenant %s: settings changed by another process", t->id);
    }
    free(now);
    free(then);
    json_decref(stored);
    app_tenant_release(t);
    return 0;
}

static int by_string(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* app_tenants_reconcile after a change of the signature sig, with the
 * change lock held: no create or delete of this process runs between the
 * read of the table and the registry's update. */
static int reconcile(app *a, store_db *db, const char *sig,
                     char last[STORE_TENANTS_SIG_MAX])
{
    seen_ctx x = {a, db, NULL, NULL, 0, 0, 0};
    int rc = store_tenants_page(db, "", 0, reconcile_one, &x);
    if (rc == 0) {
        for (size_t i = 0; rc == 0 && i < x.n; i++) {
            app_tenant *t = app_tenants_find(a->tenants, x.ids[i]), *old = NULL;
            if (t != NULL && x.recreated[i]) {
                old = t;
                t = NULL;
            }
            if (t == NULL)
                rc = discover(a, db, x.ids[i], old, &t);
            app_tenant_release(old);
            app_tenant_release(t);
        }
        size_t n;
        app_tenant **v = app_tenants_list(a->tenants, &n);
        for (size_t i = 0; i < n; i++) {
            const char *id = v[i]->id;
            if (strcmp(id, STORE_TENANT_DEFAULT) != 0 &&
                bsearch(&id, x.ids, x.n, sizeof *x.ids, by_string) == NULL) {
                atomic_store(&v[i]->deleted, true);
                app_tenant_release(app_tenants_remove(a->tenants, id));
                log_write(LOG_INFO, "tenant %s: deleted by another process", id);
            }
        }
        app_tenants_list_free(v, n);
    }
    if (rc == 0)
        snprintf(last, STORE_TENANTS_SIG_MAX, "%s", sig);
    for (size_t i = 0; i < x.n; i++)
        free(x.ids[i]);
    free(x.ids);
    free(x.recreated);
    return rc < 0 ? -1 : 0;
}

int app_tenants_reconcile(app *a, store_db *db, char last[STORE_TENANTS_SIG_MAX])
{
    char sig[STORE_TENANTS_SIG_MAX];
    if (store_tenants_signature(db, sig) != 0)
        return -1;
    if (strcmp(sig, last) == 0)
        return 0;
    app_tenants_change_lock(a->tenants);
    int rc = reconcile(a, db, sig, last);
    app_tenants_change_unlock(a->tenants);
    return rc;
}

/* ------------------------------------------------------- management */

/* The settings as text for the tenants table. */
static char *settings_text(json_t *settings)
{
    return json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS);
}

static app_admin_status unavailable(app *a, store_db *db, char detail[APP_DB_DETAIL_MAX])
{
    app_db_refused(a, db);
    snprintf(detail, APP_DB_DETAIL_MAX, "%.200s",
             store_db_timed_out(db) ? "the database did not answer in time"
                                    : store_db_error(db));
    return APP_ADMIN_UNAVAILABLE;
}

app_admin_status app_tenant_create(app *a, const char *id, json_t *settings,
                                   json_t *errors, app_tenant **out,
                                   char detail[APP_DB_DETAIL_MAX])
{
    *out = NULL;
    json_t *none = settings == NULL ? json_object() : NULL;
    app_tenant_cfg cfg;
    if (!app_tenant_cfg_make(a->config, settings != NULL ? settings : none, &cfg,
                             errors)) {
        json_decref(none);
        return APP_ADMIN_INVALID;
    }
    json_decref(none);
    char *text = settings_text(cfg.settings);
    app_tenant *t = text != NULL ? app_tenant_new(a, id, &cfg) : NULL;
    if (t == NULL) {
        free(text);
        if (text == NULL)
            json_decref(cfg.settings);
        return APP_ADMIN_NO_MEMORY;
    }
    store_db *db = app_db_acquire(a, detail);
    app_admin_status st = APP_ADMIN_UNAVAILABLE;
    if (db == NULL)
        goto cleanup;
    app_tenants_change_lock(a->tenants); /* the row and the registry together */
    int rc = store_tenant_create(db, id, text);
    if (rc < 0) {
        st = unavailable(a, db, detail);
    } else if (rc == 1) {
        st = APP_ADMIN_EXISTS;
    } else {
        app_db_ok(a);
        /* new: nothing of it is stored yet, so its empty cache is whole;
         * the catch-up may have discovered it meanwhile: that one serves */
        st = APP_ADMIN_OK;
        *out = app_tenants_find(a->tenants, id);
        if (*out == NULL && app_tenant_start(t) &&
            app_tenants_add(a->tenants, app_tenant_retain(t)))
            *out = app_tenant_retain(t);
        else if (*out == NULL)
            st = APP_ADMIN_NO_MEMORY; /* stored: another process serves it */
    }
    app_tenants_change_unlock(a->tenants);
    app_db_release(a, db);
cleanup:
    app_tenant_release(t);
    free(text);
    return st;
}

app_admin_status app_tenant_update(app_tenant *t, json_t *changes, json_t *errors,
                                   char detail[APP_DB_DETAIL_MAX])
{
    app *a = t->app;
    if (!json_is_object(changes)) {
        json_array_append_new(errors,
                              json_pack("{s:i, s:s, s:s}", "index", -1, "field",
                                        "settings", "reason", "must be a JSON object"));
        return APP_ADMIN_INVALID;
    }
    json_t *merged = json_deep_copy(app_tenant_settings(t)->settings);
    if (merged == NULL)
        return APP_ADMIN_NO_MEMORY;
    const char *name;
    json_t *v;
    json_object_foreach(changes, name, v)
    {
        if (json_is_null(v))
            json_object_del(merged, name);
        else
            json_object_set(merged, name, v);
    }
    app_tenant_cfg cfg;
    app_admin_status st = APP_ADMIN_INVALID;
    if (!app_tenant_cfg_make(a->config, merged, &cfg, errors))
        goto cleanup;
    const ltvd_config *cur = app_tenant_config(t);
    if (cur->has_as_of != cfg.config.has_as_of ||
        (cur->has_as_of && cur->as_of_day != cfg.config.as_of_day)) {
        json_array_append_new(
            errors, json_pack("{s:i, s:s, s:s}", "index", -1, "field", "as_of", "reason",
                              "cannot change: it is fixed when the tenant is "
                              "created (create another tenant)"));
        json_decref(cfg.settings);
        goto cleanup;
    }
    if (json_equal(cfg.settings, app_tenant_settings(t)->settings)) {
        /* nothing changes: no new version (each is kept until the tenant
         * goes, so a client that PATCHes the same settings on every sync
         * would grow the process ~4 KB a time) */
        json_decref(cfg.settings);
        st = APP_ADMIN_OK;
        goto cleanup;
    }
    char *text = settings_text(cfg.settings);
    store_db *db = text != NULL ? app_db_acquire(a, detail) : NULL;
    st = text == NULL ? APP_ADMIN_NO_MEMORY : APP_ADMIN_UNAVAILABLE;
    int rc = db != NULL ? store_tenant_update(db, t->id, text) : -2;
    if (rc == -1)
        st = unavailable(a, db, detail);
    else if (rc == 1)
        st = APP_ADMIN_NOT_FOUND;
    else if (rc == 0)
        st = APP_ADMIN_OK;
    if (db != NULL)
        app_db_release(a, db);
    free(text);
    if (st == APP_ADMIN_OK) {
        pthread_mutex_lock(&a->writer); /* one writer of the settings */
        app_tenant_settings_swap(t, &cfg);
        pthread_mutex_unlock(&a->writer);
    } else {
        json_decref(cfg.settings);
    }
cleanup:
    json_decref(merged);
    return st;
}

app_admin_status app_tenant_delete(app *a, const char *id, char detail[APP_DB_DETAIL_MAX])
{
    if (strcmp(id, STORE_TENANT_DEFAULT) == 0)
        return APP_ADMIN_FORBIDDEN;
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_ADMIN_UNAVAILABLE;
    app_tenants_change_lock(a->tenants); /* the row and the registry together */
    int rc = store_tenant_delete(db, id);
    app_admin_status st = rc < 0    ? unavailable(a, db, detail)
                          : rc == 1 ? APP_ADMIN_NOT_FOUND
                                    : APP_ADMIN_OK;
    app_db_release(a, db);
    app_tenant *t = NULL;
    if (st == APP_ADMIN_OK || st == APP_ADMIN_NOT_FOUND) {
        t = app_tenants_remove(a->tenants, id);
        if (t != NULL) {
            atomic_store(&t->deleted, true);
            st = APP_ADMIN_OK; /* gone from here too */
        }
    }
    app_tenants_change_unlock(a->tenants);
    app_tenant_release(t); /* the last one joins its threads: not under the lock */
    return st;
}

app_admin_status app_customer_erase(app_tenant *t, const char *id,
                                    char detail[APP_DB_DETAIL_MAX])
{
    app *a = t->app;
    store_db *db = app_db_acquire(a, detail);
    if (db == NULL)
        return APP_ADMIN_UNAVAILABLE;
    int rc = store_customer_erase(db, t->id, id);
    app_admin_status st = rc < 0 ? unavailable(a, db, detail) : APP_ADMIN_OK;
    app_db_release(a, db);
    if (st != APP_ADMIN_OK)
        return st;
    /* after the rows: a catch-up that re-reads the customer finds none */
    bool cached = app_customer_forget(t, id);
    return rc == 0 || cached ? APP_ADMIN_OK : APP_ADMIN_NOT_FOUND;
}

/* The channels c declares (a new array; [] when none). */
static json_t *declared_channels(const app_tenant_cfg *c)
{
    json_t *list = json_object_get(c->settings, APP_TENANT_CHANNELS_SETTING);
    return list != NULL ? json_deep_copy(list) : json_array();
}

json_t *app_tenant_cfg_effective(const app_tenant_cfg *c)
{
    const ltvd_config *cfg = &c->config;
    json_t *eff = json_pack(
        "{s:s, s:s, s:s?, s:f, s:f, s:I, s:f, s:f, s:I, s:I, s:s?}", "model",
        cfg->model == CONFIG_MODEL_PARETO ? "pareto" : "bgnbd", "period",
        cfg->period == CONFIG_PERIOD_WEEK ? "week" : "day", "as_of",
        cfg->has_as_of ? cfg->as_of : NULL, "churn_medium_below", cfg->churn_medium_below,
        "churn_high_below", cfg->churn_high_below, "horizon_days",
        (json_int_t)cfg->horizon_days, "discount_rate", cfg->discount_rate, "margin",
        cfg->margin, "lifecycle_new_days", (json_int_t)cfg->lifecycle_new_days,
        "lifecycle_established_repeats", (json_int_t)cfg->lifecycle_established_repeats,
        "currency", c->currency[0] != '\0' ? c->currency : NULL);
    /* the subscriptions' settings (app/subs.h) */
    if (eff != NULL &&
        (json_object_set_new(eff, "retention_model",
                             json_string(cfg->retention_model == 1 ? "bdw" : "sbg")) !=
             0 ||
         json_object_set_new(eff, "subscription_grace_days",
                             json_integer((json_int_t)cfg->subscription_grace_days)) !=
             0 ||
         json_object_set_new(eff, "backtest_holdout_days",
                             json_integer((json_int_t)cfg->backtest_holdout_days)) != 0 ||
         json_object_set_new(eff, APP_TENANT_CHANNELS_SETTING, declared_channels(c)) !=
             0)) {
        json_decref(eff);
        eff = NULL;
    }
    return eff;
}

json_t *app_tenant_doc(app_tenant *t)
{
    const app_tenant_cfg *c = app_tenant_settings(t);
    const cache_model *m = cache_snapshot_acquire(t->cache);
    json_t *eff = app_tenant_cfg_effective(c);
    json_t *doc = json_pack(
        "{s:s, s:O, s:o, s:I, s:o}", "id", t->id, "settings", c->settings, "effective",
        eff, "customers", (json_int_t)app_tenant_customers(t), "model_version",
        m != NULL ? json_integer((json_int_t)m->version) : json_null());
    cache_snapshot_release(m);
    return doc;
}

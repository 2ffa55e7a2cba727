/* One tenant (see tenant.h): its settings over the configuration, its
 * cache, worker and lists, and its references. */
#include "app/tenant.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/acq_view.h"
#include "app/app.h"
#include "app/list_table.h"
#include "app/subs.h"
#include "ingest/batch.h"
#include "summary/summary.h"
#include "worker/worker.h"

/* The config keys a tenant may set (the rest are the service's). */
static const char *const setting_keys[] = {
    "model",
    "period",
    "as_of",
    "churn_medium_below",
    "churn_high_below",
    "horizon_days",
    "discount_rate",
    "margin",
    "lifecycle_new_days",
    "lifecycle_established_repeats",
    "currency",
    "retention_model",
    "subscription_grace_days",
    "backtest_holdout_days",
    APP_TENANT_CHANNELS_SETTING,
};
#define N_SETTINGS (sizeof setting_keys / sizeof setting_keys[0])

bool app_tenant_setting_known(const char *name)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(setting_keys[i], name) == 0)
            return true;
    return false;
}

static void bad(json_t *errors, const char *name, const char *detail)
{
    if (errors != NULL && json_array_size(errors) < APP_TENANT_MAX_ERRORS)
        json_array_append_new(errors, json_pack("{s:i, s:s, s:s}", "index", -1, "field",
                                                name, "reason", detail));
}

/* A value's text for config_set: strings as they are, numbers exactly. */
static bool value_text(json_t *v, char *out, size_t len)
{
    if (json_is_string(v)) {
        if (json_string_length(v) >= len ||
            strlen(json_string_value(v)) != json_string_length(v))
            return false;
        snprintf(out, len, "%s", json_string_value(v));
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
        return true;
    }
    if (json_is_real(v) && isfinite(json_real_value(v))) {
        snprintf(out, len, "%.17g", json_real_value(v));
        return true;
    }
    return false;
}

/* The acquisition_channels setting: an array of channel names as
 * customers' acquisition_channel has them (ingest's rule), each once. */
static bool channels_ok(const json_t *v, json_t *errors)
{
    char buf[64], why[128];
    if (!json_is_array(v) || json_array_size(v) > APP_TENANT_CHANNELS_MAX) {
        snprintf(why, sizeof why, "must be an array of at most %d channel names",
                 APP_TENANT_CHANNELS_MAX);
        bad(errors, APP_TENANT_CHANNELS_SETTING, why);
        return false;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *c = json_array_get(v, i);
        const char *reason =
            !json_is_string(c)
                ? "must be a string"
                : ingest_check_id(json_string_value(c), json_string_length(c),
                                  INGEST_ATTR_BYTES, buf, sizeof buf);
        for (size_t j = 0; reason == NULL && j < i; j++)
            if (json_equal(json_array_get(v, j), (json_t *)c))
                reason = "is listed twice";
        if (reason != NULL) {
            snprintf(why, sizeof why, "item %zu %s", i, reason);
            bad(errors, APP_TENANT_CHANNELS_SETTING, why);
            return false;
        }
    }
    return true;
}

static bool currency_ok(const char *s)
{
    return strlen(s) == 3 && isupper((unsigned char)s[0]) &&
           isupper((unsigned char)s[1]) && isupper((unsigned char)s[2]);
}

bool app_tenant_cfg_make(const ltvd_config *base, json_t *settings, app_tenant_cfg *out,
                         json_t *errors)
{
    app_tenant_cfg c = {.config = *base};
    bool ok = json_is_object(settings);
    if (!ok)
        bad(errors, "settings", "must be a JSON object");
    const char *name;
    json_t *v, *walk = ok ? settings : NULL; /* the macro reads it every turn */
    json_object_foreach(walk, name, v)
    {
        char text[64], err[CONFIG_ERR_MAX];
        bool str_key = strcmp(name, "model") == 0 || strcmp(name, "period") == 0 ||
                       strcmp(name, "as_of") == 0 || strcmp(name, "currency") == 0 ||
                       strcmp(name, "retention_model") == 0;
        if (!app_tenant_setting_known(name)) {
            bad(errors, name, "not a tenant setting");
            ok = false;
        } else if (strcmp(name, APP_TENANT_CHANNELS_SETTING) == 0) {
            ok = channels_ok(v, errors) && ok;
        } else if (str_key != json_is_string(v) || !value_text(v, text, sizeof text)) {
            bad(errors, name, str_key ? "must be a string" : "must be a finite number");
            ok = false;
        } else if (strcmp(name, "currency") == 0) {
            if (currency_ok(text)) { /* three letters: text fits */
                memcpy(c.currency, text, sizeof c.currency);
            } else {
                bad(errors, name, "must be an ISO 4217 code (three capital letters)");
                ok = false;
            }
        } else if (!config_set(&c.config, name, text, err)) {
            const char *colon = strstr(err, ": ");
            bad(errors, name, colon != NULL ? colon + 2 : err);
            ok = false;
        }
    }
    char err[CONFIG_ERR_MAX];
    if (ok && !config_check(&c.config, err)) {
        const char *colon = strstr(err, ": ");
        char key[64];
        size_t k = colon != NULL ? (size_t)(colon - err) : 0;
        snprintf(key, sizeof key, "%.*s", (int)(k < sizeof key ? k : 0), err);
        bad(errors, key[0] != '\0' ? key : "settings", colon != NULL ? colon + 2 : err);
        ok = false;
    }
    if (!ok)
        return false;
    c.settings = json_deep_copy(settings);
    if (c.settings == NULL) {
        bad(errors, "settings", "out of memory");
        return false;
    }
    *out = c;
    return true;
}

bool app_tenant_cfg_same_model(const ltvd_config *a, const ltvd_config *b)
{
    return a->model == b->model && a->period == b->period &&
           a->has_as_of == b->has_as_of &&
           (!a->has_as_of || a->as_of_day == b->as_of_day);
}

app_tenant *app_tenant_new(struct app *owner, const char *id, app_tenant_cfg *cfg)
{
    app_tenant *t = calloc(1, sizeof *t);
    app_tenant_cfg *c = malloc(sizeof *c);
    if (t == NULL || c == NULL || strlen(id) > STORE_TENANT_MAX)
        goto failed;
    *c = *cfg;
    c->older = NULL;
    t->app = owner;
    snprintf(t->id, sizeof t->id, "%s", id);
    atomic_init(&t->cfg, c);
    atomic_init(&t->n_snapshots_skipped, 0);
    atomic_init(&t->n_erased, 0);
    atomic_init(&t->follow_rejected, 0);
    atomic_init(&t->refs, 1);
    atomic_init(&t->deleted, false);
    t->cache = cache_new(0);
    t->lists = app_list_state_new(owner->config, owner->list_shared);
    t->acq = app_acq_memo_new();
    t->subs = app_subs_new();
    if (t->cache == NULL || t->lists == NULL || t->acq == NULL || t->subs == NULL) {
        app_subs_free(t->subs);
        cache_free(t->cache);
        app_list_stop(t->lists);
        app_acq_memo_free(t->acq);
        goto failed;
    }
    return t;
failed:
    free(c);
    free(t);
    return NULL;
}

bool app_tenant_start(app_tenant *t)
{
    if (t->worker == NULL && !t->app->read_only) { /* a read-only process never fits */
        worker_env env;
        app_worker_env(t, &env);
        t->worker = worker_start(&env);
        if (t->worker == NULL)
            return false;
    }
    return app_list_start(t);
}

app_tenant *app_tenant_retain(app_tenant *t)
{
    if (t != NULL)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void app_tenant_release(app_tenant *t)
{
    if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    worker_stop(t->worker);
    app_list_stop(t->lists); /* before the cache: its thread reads it */
    app_acq_memo_free(t->acq);
    cache_free(t->cache);
    app_subs_free(t->subs);
    app_tenant_cfg *c = atomic_load(&t->cfg);
    while (c != NULL) {
        app_tenant_cfg *older = c->older;
        json_decref(c->settings);
        free(c);
        c = older;
    }
    free(t);
}

const ltvd_config *app_tenant_config(app_tenant *t)
{
    return &atomic_load(&t->cfg)->config;
}

const app_tenant_cfg *app_tenant_settings(app_tenant *t)
{
    return atomic_load(&t->cfg);
}

void app_tenant_settings_swap(app_tenant *t, app_tenant_cfg *cfg)
{
    app_tenant_cfg *c = malloc(sizeof *c);
    if (c == NULL) {
        json_decref(cfg->settings);
        return;
    }
    *c = *cfg;
    c->older = atomic_load(&t->cfg); /* one writer: the registry's lock */
    atomic_store(&t->cfg, c);
    if (!app_tenant_cfg_same_model(&c->older->config, &c->config) && t->worker != NULL)
        worker_request(t->worker);
}

int64_t app_tenant_as_of_day(app_tenant *t)
{
    const ltvd_config *cfg = app_tenant_config(t);
    if (cfg->has_as_of)
        return cfg->as_of_day;
    return summary_day_of((int64_t)time(NULL));
}

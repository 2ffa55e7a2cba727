/* A tenant: one business the service holds, with its own customers (a
 * cache of their summaries and the model served for them), refit worker,
 * ranked lists and settings. The settings are the service's configuration
 * with the tenant's own values over it (app_tenant_settings_apply); they can
 * change while the tenant serves (PATCH), so every reader takes the current
 * version once per operation (app_tenant_config): versions are kept until
 * the tenant is freed, so a reader's version never goes away under it.
 *
 * A tenant lives in the app's registry (app/tenants.h) from its creation
 * (or the process's start-up) to its deletion; requests and threads hold a
 * reference (app_tenant_retain / app_tenant_release) for as long as they
 * use it, and the last release frees it (its worker and list keeper
 * stopped first). */
#ifndef LTVD_APP_TENANT_H
#define LTVD_APP_TENANT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "config/config.h"
#include "store/db.h"

struct app;

/* The most errors a settings object is answered with (a tenant has 11
 * settings: past that the body is not settings; 200,000 unknown members
 * made a 12 MB answer). */
#define APP_TENANT_MAX_ERRORS 100

/* Longest reason a stored snapshot was not served. */
#define APP_SNAPSHOT_NOTE_MAX 400

/* A version of a tenant's settings (a list, newest first). */
typedef struct app_tenant_cfg {
    ltvd_config config;
    char currency[4]; /* ISO 4217, "" when not set */
    json_t *settings; /* the tenant's own values (an object), owned */
    struct app_tenant_cfg *older;
} app_tenant_cfg;

typedef struct app_tenant {
    struct app *app; /* borrowed: outlives every tenant */
    char id[STORE_TENANT_MAX + 1];
    _Atomic(app_tenant_cfg *) cfg; /* the current settings */
    cache *cache;                  /* its customers and the model served */
    struct worker *worker;         /* NULL in a read-only process, or until started */
    struct app_list_state *lists;  /* list slots and score tables */
    struct app_acq_memo *acq;      /* the last acquisition/cohort view (acq_view.h) */
    struct app_subs *subs;         /* its subscriptions (app/subs.h) */
    atomic_uint_fast64_t n_snapshots_skipped;
    atomic_long n_erased;         /* erased customers' records in the cache (apply.c) */
    atomic_llong follow_rejected; /* the newest snapshot the follower did not serve */
    char snapshot_note[APP_SNAPSHOT_NOTE_MAX]; /* written before it serves only */
    atomic_long refs;
    atomic_bool deleted; /* erased: requests holding it answer 404 */
    /* its row's created_at (0 until known: created here): a row with another
     * is a tenant of the same id created again elsewhere, whose customers
     * this one's cache does not hold. The reconcile's (change lock) */
    double created_at;
    /* the row's updated_at when the reconcile last compared its settings
     * (0: not yet): an unchanged row is not compared again */
    double updated_at;
} app_tenant;

/* The settings a tenant may have, by config key, "currency" and
 * APP_TENANT_CHANNELS_SETTING. */
bool app_tenant_setting_known(const char *name);

/* The setting listing the acquisition channels a tenant declares (an array
 * of 0..APP_TENANT_CHANNELS_MAX channel names): spend may name them before
 * any customer comes through them (app/acquisition.h). */
#define APP_TENANT_CHANNELS_SETTING "acquisition_channels"
#define APP_TENANT_CHANNELS_MAX 1000

/* The config with settings (a JSON object of key to value: a number, a
 * string for model, period, as_of, currency, an array of strings for
 * APP_TENANT_CHANNELS_SETTING) over base, into *out (settings
 * copied). On a bad one, false with errors (a JSON array, may be NULL)
 * given one {"setting", "detail"} per bad key and *out untouched. */
bool app_tenant_cfg_make(const ltvd_config *base, json_t *settings, app_tenant_cfg *out,
                         json_t *errors);

/* Whether two settings versions fit models alike (model, period, as_of):
 * a refit follows a change of any. */
bool app_tenant_cfg_same_model(const ltvd_config *a, const ltvd_config *b);

/* A new tenant of app with the settings cfg (taken over: the caller only
 * frees cfg->settings when this fails), an empty cache and one reference
 * (the caller's). Its worker and list keeper are not started
 * (app_tenant_start). NULL when out of memory. */
app_tenant *app_tenant_new(struct app *app, const char *id, app_tenant_cfg *cfg);

/* Starts the tenant's refit worker (not in a read-only process) and list
 * keeper. False when a thread cannot be created. */
bool app_tenant_start(app_tenant *t);

/* References; the last release stops the tenant's threads and frees it.
 * Both accept NULL. */
app_tenant *app_tenant_retain(app_tenant *t);
void app_tenant_release(app_tenant *t);

/* The current settings (valid while the caller holds a reference). */
const ltvd_config *app_tenant_config(app_tenant *t);
const app_tenant_cfg *app_tenant_settings(app_tenant *t);

/* Publishes cfg (taken over) as the current settings; the previous ones
 * stay readable until the tenant is freed. A change of model, period or
 * as_of asks the worker for a refit. */
void app_tenant_settings_swap(app_tenant *t, app_tenant_cfg *cfg);

/* The UTC day the tenant's scores are computed as of: its as_of, or today. */
int64_t app_tenant_as_of_day(app_tenant *t);

#endif

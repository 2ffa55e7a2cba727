/* A tenant's subscriptions in memory: the records and their indexes, the
 * ingest of a batch, the loads from PostgreSQL and the catch-up (see
 * subs.h). */
#include "app/subs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/subs_impl.h"
#include "app/tenants.h"
#include "log/log.h"
#include "store/mode.h"

/* ------------------------------------------------------------ the records */

app_subs *app_subs_new(void)
{
    app_subs *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->count, 0);
    s->version = -1;
    return s;
}

static void clear_records(app_subs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].customer_id);
    }
    free(s->v);
    free(s->by_id);
    free(s->by_customer);
    s->v = NULL;
    s->by_id = s->by_customer = NULL;
    s->n = s->cap = s->n_slots = 0;
}

void app_subs_free(app_subs *s)
{
    if (s == NULL)
        return;
    clear_records(s);
    subs_fit_cache_clear(&s->fits[0]);
    subs_fit_cache_clear(&s->fits[1]);
    app_subs_starts_free(&s->starts[0].s);
    app_subs_starts_free(&s->starts[1].s);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static size_t hash(const char *k)
{
    size_t h = 1469598103934665603u;
    for (; *k != '\0'; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211u;
    return h;
}

/* The slot of key in table (its record's key read by key_of), or the empty
 * slot where it would go. */
static size_t slot_of(const app_subs *s, const int32_t *table, const char *key,
                      bool by_customer)
{
    size_t mask = s->n_slots - 1, i = hash(key) & mask;
    for (; table[i] >= 0; i = (i + 1) & mask) {
        const sub_rec *r = &s->v[table[i]];
        if (strcmp(by_customer ? r->customer_id : r->id, key) == 0)
            break;
    }
    return i;
}

sub_rec *subs_find(app_subs *s, const char *id)
{
    if (s->n_slots == 0)
        return NULL;
    int32_t k = s->by_id[slot_of(s, s->by_id, id, false)];
    return k >= 0 ? &s->v[k] : NULL;
}

int32_t subs_customer_head(app_subs *s, const char *customer_id)
{
    if (s->n_slots == 0)
        return -1;
    return s->by_customer[slot_of(s, s->by_customer, customer_id, true)];
}

/* Puts record k in both indexes. */
static void index_one(app_subs *s, int32_t k)
{
    sub_rec *r = &s->v[k];
    s->by_id[slot_of(s, s->by_id, r->id, false)] = k;
    size_t c = slot_of(s, s->by_customer, r->customer_id, true);
    r->next_of_customer = s->by_customer[c];
    s->by_customer[c] = k;
}

/* Rebuilds the indexes with room for want records. -1 when out of memory. */
static int reindex(app_subs *s, size_t want)
{
    size_t slots = 16;
    while (slots < 2 * want + 2)
        slots *= 2;
    int32_t *a = malloc(slots * sizeof *a), *b = malloc(slots * sizeof *b);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return -1;
    }
    memset(a, 0xff, slots * sizeof *a);
    memset(b, 0xff, slots * sizeof *b);
    free(s->by_id);
    free(s->by_customer);
    s->by_id = a;
    s->by_customer = b;
    s->n_slots = slots;
    for (size_t i = 0; i < s->n; i++)
        index_one(s, (int32_t)i);
    return 0;
}

/* A new record for (id, customer, period). NULL when out of memory. */
static sub_rec *add_record(app_subs *s, const char *id, const char *customer,
                           subs_period period)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        sub_rec *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    if (2 * (s->n + 1) + 2 > s->n_slots && reindex(s, 2 * s->n + 64) != 0)
        return NULL;
    sub_rec r = {.id = strdup(id),
                 .customer_id = strdup(customer),
                 .period = period,
                 .amount_s = -1,
                 .next_of_customer = -1};
    if (r.id == NULL || r.customer_id == NULL) {
        free(r.id);
        free(r.customer_id);
        return NULL;
    }
    s->v[s->n] = r;
    index_one(s, (int32_t)s->n);
    return &s->v[s->n++];
}

/* One new event into its record. -1 when out of memory. */
static int apply_event(app_subs *s, const subs_item *e)
{
    sub_rec *r = subs_find(s, e->subscription_id);
    if (r == NULL &&
        (r = add_record(s, e->subscription_id, e->customer_id, e->period)) == NULL)
        return -1;
    if (e->event == SUBS_START) {
        r->has_start = true;
        r->start_s = e->occurred_at_s;
        r->start_amount = strtod(e->amount, NULL);
    } else if (e->event == SUBS_RENEW) {
        r->renewals++;
    } else {
        r->cancelled = true;
        r->cancel_s = e->occurred_at_s;
    }
    if (e->event != SUBS_CANCEL && e->occurred_at_s >= r->amount_s) {
        r->amount_s = e->occurred_at_s;
        r->amount = strtod(e->amount, NULL);
    }
    return 0;
}

void app_subs_forget_customer(app_tenant *t, const char *customer_id)
{
    app_subs *s = t->subs;
    pthread_mutex_lock(&s->lock);
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].customer_id, customer_id) == 0) {
            free(s->v[i].id);
            free(s->v[i].customer_id);
        } else {
            s->v[kept++] = s->v[i];
        }
    }
    if (kept != s->n) {
        s->n = kept;
        s->epoch++;
        if (reindex(s, s->n) != 0) { /* unusable indexes: reload everything */
            clear_records(s);
            s->version = -1;
        }
    }
    atomic_store(&s->count, s->n);
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------- the ingest */

/* Applies the committed batch's new events (dup: the duplicates). */
static void apply_committed(app_tenant *t, const subs_batch *b, const bool *dup,
                            const store_subs_result *r)
{
    app_subs *s = t->subs;
    pthread_mutex_lock(&s->lock);
    bool failed = false;
    for (size_t i = 0; i < b->n && r->n_new > 0 && !failed; i++)
        failed = !dup[i] && apply_event(s, &b->items[i]) != 0;
    if (failed) {
        s->version = -1; /* the catch-up reloads */
        log_write(LOG_WARN, "tenant %s: subscriptions: out of memory (reloaded)", t->id);
    } else if (r->n_new > 0 && s->version == r->version_before) {
        s->version = r->version; /* else another writer's batch is missing: reload */
    }
    if (r->n_new > 0)
        s->epoch++;
    atomic_store(&s->count, s->n);
    pthread_mutex_unlock(&s->lock);
}

static app_ingest_status insert_failed(app_tenant *t, store_db *db,
                                       app_ingest_result *out)
{
    if (strcmp(db->sqlstate, PG_FOREIGN_KEY_VIOLATION) == 0) {
        snprintf(out->detail, APP_DB_DETAIL_MAX, "no tenant %s", t->id);
        return APP_INGEST_NO_TENANT;
    }
    app_db_refused(t->app, db);
    snprintf(out->detail, APP_DB_DETAIL_MAX,
             "the batch was not acknowledged (%.120s); resending it is safe: events "
             "already stored count as duplicates",
             store_db_timed_out(db) ? "the database did not answer in time"
                                    : store_db_error(db));
    return APP_INGEST_UNAVAILABLE;
}

app_ingest_status app_subs_ingest(app_tenant *t, const subs_batch *b, size_t max_errors,
                                  ingest_errors *errs, bool *refused,
                                  app_ingest_result *out)
{
    *out = (app_ingest_result){0};
    *refused = false;
    store_sub_event *items = malloc((b->n > 0 ? b->n : 1) * sizeof *items);
    bool *dup = calloc(b->n > 0 ? b->n : 1, sizeof *dup);
    app_ingest_status st = APP_INGEST_NO_MEMORY;
    if (items == NULL || dup == NULL) {
        snprintf(out->detail, APP_DB_DETAIL_MAX, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < b->n; i++)
        subs_item_to_store(&b->items[i], &items[i]);
    char why[APP_DB_DETAIL_MAX];
    store_db *db = app_db_acquire(t->app, why);
    if (db == NULL) {
        snprintf(out->detail, APP_DB_DETAIL_MAX,
                 "%.180s; nothing was sent, resending the batch is safe", why);
        st = APP_INGEST_UNAVAILABLE;
        goto cleanup;
    }
    subs_check_ctx ctx = {b, max_errors, errs, dup};
    store_subs_result r;
    if (store_subs_insert(db, t->id, items, b->n, subs_store_check, &ctx, &r) != 0) {
        st = insert_failed(t, db, out);
    } else {
        app_db_ok(t->app);
        *refused = r.refused;
        if (!r.refused)
            apply_committed(t, b, dup, &r);
        out->n_new = r.n_new;
        out->n_duplicate = r.refused ? 0 : b->n - r.n_new;
        st = APP_INGEST_OK;
    }
    app_db_release(t->app, db);
cleanup:
    free(items);
    free(dup);
    return st;
}

/* ---------------------------------------------------------------- loading */

static int load_row(const store_sub_row *row, void *arg)
{
    app_subs *s = arg;
    subs_period p = SUBS_MONTH;
    subs_period_parse(row->billing_period, &p);
    sub_rec *r = add_record(s, row->subscription_id, row->customer_id, p);
    if (r == NULL)
        return 1;
    r->has_start = row->has_start;
    r->start_s = row->start_s;
    r->renewals = row->renewals;
    r->cancelled = row->cancelled;
    r->cancel_s = row->cancel_s;
    r->amount = strtod(row->amount, NULL);
    r->amount_s = row->last_s;
    r->start_amount = strtod(row->start_amount, NULL);
    return 0;
}

int app_subs_load(app_tenant *t, store_db *db)
{
    app_subs fresh = {.version = -1};
    int64_t version = 0;
    int rc = store_subs_load(db, t->id, load_row, &fresh, &version);
    if (rc != 0) {
        if (rc > 0)
            snprintf(db->err, sizeof db->err, "subscriptions: out of memory");
        clear_records(&fresh);
        return -1;
    }
    app_subs *s = t->subs;
    pthread_mutex_lock(&s->lock);
    clear_records(s);
    s->v = fresh.v;
    s->n = fresh.n;
    s->cap = fresh.cap;
    s->by_id = fresh.by_id;
    s->by_customer = fresh.by_customer;
    s->n_slots = fresh.n_slots;
    s->version = version;
    s->epoch++;
    atomic_store(&s->count, s->n);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* ---------------------------------------------------------------- catch-up */

typedef struct version_list {
    char (*tenant)[STORE_TENANT_MAX + 1];
    int64_t *version;
    size_t n, cap;
    bool oom;
} version_list;

static void collect_version(const char *tenant, int64_t version, void *arg)
{
    version_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        void *a = realloc(l->tenant, cap * sizeof *l->tenant);
        if (a != NULL)
            l->tenant = a;
        void *b = realloc(l->version, cap * sizeof *l->version);
        if (b != NULL)
            l->version = b;
        if (a == NULL || b == NULL) {
            l->oom = true;
            return;
        }
        l->cap = cap;
    }
    snprintf(l->tenant[l->n], sizeof l->tenant[l->n], "%s", tenant);
    l->version[l->n++] = version;
}

int app_subs_sync(app *a, store_db *db)
{
    version_list l = {0};
    int rc = store_subs_versions(db, collect_version, &l);
    if (rc == 0 && l.oom) {
        snprintf(db->err, sizeof db->err, "subscriptions: out of memory");
        rc = -1;
    }
    size_t n = 0;
    app_tenant **v = rc == 0 ? app_tenants_list(a->tenants, &n) : NULL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t want = 0;
        for (size_t j = 0; j < l.n; j++)
            if (strcmp(l.tenant[j], v[i]->id) == 0)
                want = l.version[j];
        pthread_mutex_lock(&v[i]->subs->lock);
        bool stale = v[i]->subs->version != want;
        pthread_mutex_unlock(&v[i]->subs->lock);
        if (stale)
            rc = app_subs_load(v[i], db);
        if (rc == 0)
            app_subs_warm(v[i]);
    }
    if (v != NULL)
        app_tenants_list_free(v, n);
    free(l.tenant);
    free(l.version);
    return rc;
}

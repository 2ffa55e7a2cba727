/* What reaches the cache after start-up: the deltas of this process's own
 * committed batches, and whole summaries re-read by the catch-up for rows
 * other writers stored (see apply.h for the protocol between the two). */
#include "app/apply.h"
#include "app/subs.h"

#include <stdlib.h>
#include <string.h>

#include "log/log.h"

_Static_assert(CACHE_AMOUNT_UNITS == STORE_AMOUNT_UNITS, "one amount scale");

bool app_summary_from_store(const store_customer *c, cache_summary *s)
{
    if (c->first_day < INT32_MIN || c->last_day > INT32_MAX || c->n_days < 1 ||
        c->n_days > UINT32_MAX || c->repeat_units < 0 || c->first_units < 0)
        return false;
    *s = (cache_summary){(int32_t)c->first_day, (int32_t)c->last_day, (uint32_t)c->n_days,
                         c->repeat_units,       c->first_units,       c->month_bits};
    return true;
}

int app_cache_load(cache *c, const store_customer *sc)
{
    cache_entry e = {.id = sc->customer_id,
                     .set_attrs = true,
                     .channel = sc->channel,
                     .campaign = sc->campaign};
    if (!app_summary_from_store(sc, &e.s))
        return CACHE_EINVAL;
    return cache_upsert_many(c, &e, 1);
}

/* True when the delta is one the tenant's cache holds: with a fixed as_of,
 * days after it are stored but not used (as_of never changes for a
 * tenant). */
static bool delta_counts(const ltvd_config *cfg, const store_day_delta *d)
{
    if (d->day < INT32_MIN || d->day > INT32_MAX)
        return false;
    return !cfg->has_as_of || d->day <= cfg->as_of_day;
}

void app_days_hint(void *arg, const char *const *ids, size_t n, int64_t *lo, int64_t *hi)
{
    app_tenant *t = arg;
    const ltvd_config *cfg = app_tenant_config(t);
    cache_summary *s = malloc((n > 0 ? n : 1) * sizeof *s);
    bool *found = malloc((n > 0 ? n : 1) * sizeof *found);
    if (s != NULL && found != NULL)
        cache_get_many(t->cache, ids, n, s, found);
    /* with a fixed as_of, the cache knows nothing of the days after it */
    int64_t unknown_from = cfg->has_as_of ? cfg->as_of_day + 1 : INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (s == NULL || found == NULL) {
            lo[i] = INT64_MIN; /* out of memory: ask PostgreSQL about every day */
            hi[i] = INT64_MAX;
        } else if (found[i]) {
            lo[i] = s[i].first_day;
            hi[i] = unknown_from == INT64_MAX ? s[i].last_day : INT64_MAX;
        } else {
            lo[i] = unknown_from;
            hi[i] = INT64_MAX;
        }
    }
    free(s);
    free(found);
}

/* ------------------------------------------------------------ the window */

/* A delta kept while a catch-up read is in flight (app->window). */
typedef struct app_window_delta {
    const app_tenant *tenant; /* compared by address only (never read) */
    char *customer_id;
    store_day_delta d;
} app_window_delta;

struct app_window {
    app_window_delta *v;
    size_t n, cap;
    bool sorted;
};

/* Keeps a copy of d (writer held, window open). False when out of memory:
 * the window is then marked lost and its replacements skipped. */
static bool window_keep(app *a, const app_tenant *t, const store_day_delta *d)
{
    app_window *w = a->window;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 1024;
        app_window_delta *v = realloc(w->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        w->v = v;
        w->cap = cap;
    }
    char *id = strdup(d->customer_id);
    if (id == NULL)
        return false;
    w->v[w->n] = (app_window_delta){t, id, *d};
    w->v[w->n].d.customer_id = id;
    w->n++;
    w->sorted = false;
    return true;
}

static void window_free(app_window *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i].customer_id);
    free(w->v);
    free(w);
}

static int by_customer(const void *x, const void *y)
{
    const app_window_delta *a = x, *b = y;
    if (a->tenant != b->tenant)
        return (uintptr_t)a->tenant < (uintptr_t)b->tenant ? -1 : 1;
    return strcmp(a->customer_id, b->customer_id);
}

/* ------------------------------------------------------------ own batches */

/* Xids remembered at most: past it (the catch-up failing for long), the
 * catch-up re-reads those batches' customers, which is right, only slower. */
#define OWN_XIDS_MAX ((size_t)1 << 20)

/* Remembers the xid of a batch whose deltas are in the cache (writer held),
 * so the catch-up does not read its customers again; only while a catch-up
 * runs, which forgets them once passed. */
static void own_xid_add(app *a, uint64_t xid)
{
    if (xid == 0 || a->sync == NULL || a->own_n == OWN_XIDS_MAX)
        return;
    if (a->own_n == a->own_cap) {
        size_t cap = a->own_cap ? 2 * a->own_cap : 256;
        uint64_t *v = realloc(a->own_xids, cap * sizeof *v);
        if (v == NULL)
            return; /* the catch-up then re-reads those customers: still right */
        a->own_xids = v;
        a->own_cap = cap;
    }
    a->own_xids[a->own_n++] = xid;
}

size_t app_own_xids(app *a, uint64_t **out)
{
    pthread_mutex_lock(&a->writer);
    size_t n = a->own_n;
    *out = malloc((n > 0 ? n : 1) * sizeof **out);
    if (*out == NULL)
        n = 0;
    else if (n > 0)
        memcpy(*out, a->own_xids, n * sizeof **out);
    pthread_mutex_unlock(&a->writer);
    return n;
}

void app_own_xids_forget(app *a, uint64_t below)
{
    pthread_mutex_lock(&a->writer);
    size_t k = 0;
    for (size_t i = 0; i < a->own_n; i++) {
        if (a->own_xids[i] >= below)
            a->own_xids[k++] = a->own_xids[i];
    }
    a->own_n = k;
    pthread_mutex_unlock(&a->writer);
}

/* ------------------------------------------------------------ batches */

int app_batch_committed(app_tenant *t, const store_batch_result *r)
{
    app *a = t->app;
    const ltvd_config *cfg = app_tenant_config(t);
    /* at most one customer per day: sized by the days, filled once */
    size_t cap = r->n_days > 0 ? r->n_days : 1, n_cust = 0;
    cache_entry *e = calloc(cap, sizeof *e);
    const char **ids = calloc(cap, sizeof *ids);
    cache_summary *cur = calloc(cap, sizeof *cur);
    bool *found = calloc(cap, sizeof *found), *revive = calloc(cap, sizeof *revive);
    long revived = 0; /* erased customers who bought again */
    int rc = CACHE_ENOMEM;
    pthread_mutex_lock(&a->writer);
    if (e == NULL || ids == NULL || cur == NULL || found == NULL || revive == NULL)
        goto cleanup;
    for (size_t i = 0; i < r->n_days; i++) {
        if (i == 0 || strcmp(r->days[i].customer_id, r->days[i - 1].customer_id) != 0)
            ids[n_cust++] = r->days[i].customer_id;
    }
    cache_get_many(t->cache, ids, n_cust, cur, found);
    for (size_t i = 0; i < n_cust; i++)
        if (found[i] && app_summary_erased(&cur[i]))
            found[i] = false, revive[i] = true; /* bought again: from scratch */
    size_t n_e = 0, c = 0;
    for (size_t i = 0; i < r->n_days; i++) {
        const store_day_delta *d = &r->days[i];
        if (i > 0 && strcmp(d->customer_id, r->days[i - 1].customer_id) != 0)
            c++;
        if (a->window != NULL && !window_keep(a, t, d))
            a->window_lost = true;
        if (!delta_counts(cfg, d))
            continue;
        cache_summary_add_day(&cur[c], &found[c], (int32_t)d->day, d->new_day, d->units);
        if (n_e == 0 || e[n_e - 1].id != ids[c]) {
            n_e++;
            revived += revive[c];
        }
        e[n_e - 1] = (cache_entry){.id = ids[c], .s = cur[c]};
    }
    rc = cache_upsert_many(t->cache, e, n_e);
    if (rc == CACHE_OK) {
        own_xid_add(a, r->xid);
        atomic_fetch_sub(&t->n_erased, revived);
    }
    /* the first-touch attributes the batch stored (a customer the cache does
     * not hold, a day after a fixed as_of, has none to set) */
    for (size_t i = 0; rc == CACHE_OK && i < r->n_attrs; i++) {
        int set = cache_set_attrs(t->cache, r->attrs[i].customer_id, r->attrs[i].channel,
                                  r->attrs[i].campaign);
        rc = set == CACHE_NOT_FOUND ? CACHE_OK : set;
    }
cleanup:
    pthread_mutex_unlock(&a->writer);
    free(revive);
    free(found);
    free(cur);
    free(ids);
    free(e);
    return rc;
}

/* ------------------------------------------------------------ erasure */

/* What an erased customer's record holds: no day (hidden from every
 * reader, as a record waiting for its first day), at a day no summary has. */
static const cache_summary erased = {INT32_MIN, INT32_MIN, 0, 0, 0, 0};

bool app_summary_erased(const cache_summary *s)
{
    return s->n_days == 0 && s->first_day == INT32_MIN && s->last_day == INT32_MIN &&
           s->first_units == 0 && s->repeat_units == 0 && s->month_bits == 0;
}

bool app_customer_forget(app_tenant *t, const char *id)
{
    app *a = t->app;
    cache_summary cur;
    bool found = false;
    pthread_mutex_lock(&a->writer);
    const char *ids[1] = {id};
    if (cache_get_many(t->cache, ids, 1, &cur, &found) == 1 && !app_summary_erased(&cur))
        found = cache_upsert_many(
                    t->cache, &(cache_entry){.id = id, .s = erased, .set_attrs = true},
                    1) == CACHE_OK;
    else
        found = false;
    if (found)
        atomic_fetch_add(&t->n_erased, 1);
    pthread_mutex_unlock(&a->writer);
    app_subs_forget_customer(t, id); /* the subscriptions' records too */
    return found;
}

int app_customer_attrs(app_tenant *t, const char *id, const char *channel,
                       const char *campaign)
{
    pthread_mutex_lock(&t->app->writer);
    int rc = cache_set_attrs(t->cache, id, channel, campaign);
    pthread_mutex_unlock(&t->app->writer);
    return rc;
}

size_t app_tenant_customers(app_tenant *t)
{
    size_t n = cache_count(t->cache);
    long gone = atomic_load(&t->n_erased);
    return gone <= 0 ? n : (size_t)gone >= n ? 0 : n - (size_t)gone;
}

/* How many of the customers of e[0..n) have an erased customer's record in
 * t's cache (called with a->writer held). */
static long erased_among(app_tenant *t, const cache_entry *e, size_t n)
{
    const char **ids = malloc((n > 0 ? n : 1) * sizeof *ids);
    cache_summary *cur = malloc((n > 0 ? n : 1) * sizeof *cur);
    bool *found = calloc(n > 0 ? n : 1, sizeof *found);
    long k = 0;
    if (ids != NULL && cur != NULL && found != NULL) {
        for (size_t i = 0; i < n; i++)
            ids[i] = e[i].id;
        cache_get_many(t->cache, ids, n, cur, found);
        for (size_t i = 0; i < n; i++)
            k += found[i] && app_summary_erased(&cur[i]);
    }
    free(found);
    free(cur);
    free(ids);
    return k;
}

/* ------------------------------------------------------------ catch-up */

void app_window_open(app *a)
{
    pthread_mutex_lock(&a->writer);
    if (a->window == NULL)
        a->window = calloc(1, sizeof *a->window);
    a->window_lost = a->window == NULL;
    pthread_mutex_unlock(&a->writer);
}

void app_window_close(app *a)
{
    pthread_mutex_lock(&a->writer);
    window_free(a->window);
    a->window = NULL;
    pthread_mutex_unlock(&a->writer);
}

int app_cache_replace(app_tenant *t, const store_customer *c, size_t n)
{
    app *a = t->app;
    const ltvd_config *cfg = app_tenant_config(t);
    cache_entry *e = calloc(n > 0 ? n : 1, sizeof *e);
    if (e == NULL)
        return CACHE_ENOMEM;
    int rc = CACHE_OK;
    pthread_mutex_lock(&a->writer);
    app_window *w = a->window;
    if (a->window_lost) {
        rc = CACHE_ENOMEM;
        goto cleanup;
    }
    if (w != NULL && w->n == 0)
        w = NULL; /* nothing applied during the read */
    if (w != NULL && !w->sorted) {
        qsort(w->v, w->n, sizeof *w->v, by_customer);
        w->sorted = true;
    }
    for (size_t i = 0; i < n && rc == CACHE_OK; i++) {
        bool exists = true;
        if (!app_summary_from_store(&c[i], &e[i].s)) {
            rc = CACHE_EINVAL;
            break;
        }
        e[i].id = c[i].customer_id;
        /* the attributes as the read saw them (a newer PUT of this process
         * is read again by the next catch-up: its row is past the horizon) */
        e[i].set_attrs = true;
        e[i].channel = c[i].channel;
        e[i].campaign = c[i].campaign;
        /* batches committed after the read's snapshot, applied meanwhile */
        app_window_delta key = {.tenant = t, .customer_id = c[i].customer_id};
        app_window_delta *hit =
            w != NULL ? bsearch(&key, w->v, w->n, sizeof *w->v, by_customer) : NULL;
        while (hit != NULL && hit > w->v && by_customer(&hit[-1], &key) == 0)
            hit--;
        for (; hit != NULL && hit < w->v + w->n && by_customer(hit, &key) == 0; hit++) {
            if (delta_counts(cfg, &hit->d))
                cache_summary_add_day(&e[i].s, &exists, (int32_t)hit->d.day,
                                      hit->d.new_day, hit->d.units);
        }
    }
    long revived = rc == CACHE_OK ? erased_among(t, e, n) : 0;
    if (rc == CACHE_OK)
        rc = cache_upsert_many(t->cache, e, n);
    if (rc == CACHE_OK)
        atomic_fetch_sub(&t->n_erased, revived);
cleanup:
    pthread_mutex_unlock(&a->writer);
    free(e);
    if (rc != CACHE_OK)
        log_write(LOG_WARN, "cache catch-up: %zu summaries not applied (%s)", n,
                  rc == CACHE_EINVAL ? "invalid summary" : "out of memory");
    return rc;
}

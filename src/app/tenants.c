/* The registry of tenants (see tenants.h): a sorted array of references
 * under a read-write lock. */
#include "app/tenants.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct app_tenants {
    pthread_rwlock_t lock;
    pthread_mutex_t change; /* app_tenants_change_lock */
    app_tenant **v;         /* sorted by id */
    size_t n, cap;
};

bool app_tenant_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > STORE_TENANT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '-')))
            return false;
    }
    return true;
}

app_tenants *app_tenants_new(void)
{
    app_tenants *r = calloc(1, sizeof *r);
    if (r != NULL && pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r);
        r = NULL;
    }
    if (r != NULL && pthread_mutex_init(&r->change, NULL) != 0) {
        pthread_rwlock_destroy(&r->lock);
        free(r);
        r = NULL;
    }
    return r;
}

void app_tenants_free(app_tenants *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        app_tenant_release(r->v[i]);
    free(r->v);
    pthread_rwlock_destroy(&r->lock);
    pthread_mutex_destroy(&r->change);
    free(r);
}

void app_tenants_change_lock(app_tenants *r)
{
    pthread_mutex_lock(&r->change);
}

void app_tenants_change_unlock(app_tenants *r)
{
    pthread_mutex_unlock(&r->change);
}

/* The index of id, or where it would go (*found false). Lock held. */
static size_t position(const app_tenants *r, const char *id, bool *found)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->v[mid]->id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

app_tenant *app_tenants_find(app_tenants *r, const char *id)
{
    bool found;
    pthread_rwlock_rdlock(&r->lock);
    size_t i = position(r, id, &found);
    app_tenant *t = found ? app_tenant_retain(r->v[i]) : NULL;
    pthread_rwlock_unlock(&r->lock);
    return t;
}

bool app_tenants_add(app_tenants *r, app_tenant *t)
{
    bool found, ok = false;
    pthread_rwlock_wrlock(&r->lock);
    size_t i = position(r, t->id, &found);
    if (found)
        goto cleanup;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        app_tenant **v = realloc(r->v, cap * sizeof *v);
        if (v == NULL)
            goto cleanup;
        r->v = v;
        r->cap = cap;
    }
    memmove(r->v + i + 1, r->v + i, (r->n - i) * sizeof *r->v);
    r->v[i] = t;
    r->n++;
    ok = true;
cleanup:
    pthread_rwlock_unlock(&r->lock);
    return ok;
}

app_tenant *app_tenants_replace(app_tenants *r, app_tenant *t, bool *taken)
{
    bool found;
    pthread_rwlock_wrlock(&r->lock);
    size_t i = position(r, t->id, &found);
    app_tenant *old = NULL;
    *taken = true;
    if (found) {
        old = r->v[i];
        r->v[i] = t;
    }
    pthread_rwlock_unlock(&r->lock);
    if (!found)
        *taken = app_tenants_add(r, t);
    return old;
}

app_tenant *app_tenants_remove(app_tenants *r, const char *id)
{
    bool found;
    pthread_rwlock_wrlock(&r->lock);
    size_t i = position(r, id, &found);
    app_tenant *t = NULL;
    if (found) {
        t = r->v[i];
        memmove(r->v + i, r->v + i + 1, (r->n - i - 1) * sizeof *r->v);
        r->n--;
    }
    pthread_rwlock_unlock(&r->lock);
    return t;
}

app_tenant **app_tenants_list(app_tenants *r, size_t *n)
{
    pthread_rwlock_rdlock(&r->lock);
    app_tenant **v = r->n > 0 ? malloc(r->n * sizeof *v) : NULL;
    *n = v != NULL ? r->n : 0;
    for (size_t i = 0; i < *n; i++)
        v[i] = app_tenant_retain(r->v[i]);
    pthread_rwlock_unlock(&r->lock);
    return v;
}

void app_tenants_list_free(app_tenant **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        app_tenant_release(v[i]);
    free(v);
}

size_t app_tenants_count(app_tenants *r)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->n;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

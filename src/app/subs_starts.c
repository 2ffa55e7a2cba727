/* A tenant's subscriptions by acquisition channel: the start amounts that
 * GET /v1/acquisition values new subscribers with (subs.h,
 * app_subs_starts_by_channel), kept per period while the records and the
 * cache are unchanged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/subs_impl.h"
#include "app/tenant.h"
#include "cache/cache.h"

void app_subs_starts_free(app_subs_starts *s)
{
    free(s->ch);
    memset(s, 0, sizeof *s);
}

/* A subscription's channel (the cache's string) and start amount. */
typedef struct start {
    const char *channel;
    double amount;
} start;

static int by_channel(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t)((const start *)x)->channel;
    uintptr_t b = (uintptr_t)((const start *)y)->channel;
    return a < b ? -1 : a > b;
}

/* One pass over the records (lock held) into out. -1 when out of memory. */
static int starts_make(app_subs *s, cache *c, subs_period p, app_subs_starts *out)
{
    start *v = malloc((s->n > 0 ? s->n : 1) * sizeof *v);
    if (v == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const sub_rec *r = &s->v[i];
        if (r->period != p || !r->has_start || !isfinite(r->start_amount))
            continue;
        out->all_sum += r->start_amount;
        out->all_count++;
        const char *ch = NULL, *campaign = NULL;
        if (cache_get_attrs(c, r->customer_id, &ch, &campaign) == CACHE_OK)
            v[n++] = (start){ch, r->start_amount}; /* else in no channel */
    }
    qsort(v, n, sizeof *v, by_channel);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        groups += i == 0 || v[i].channel != v[i - 1].channel;
    out->ch = calloc(groups > 0 ? groups : 1, sizeof *out->ch);
    for (size_t i = 0; out->ch != NULL && i < n; i++) {
        if (i == 0 || v[i].channel != v[i - 1].channel)
            out->ch[out->n++].channel = v[i].channel;
        out->ch[out->n - 1].sum += v[i].amount;
        out->ch[out->n - 1].count++;
    }
    free(v);
    return out->ch != NULL ? 0 : -1;
}

static int starts_copy(const app_subs_starts *from, app_subs_starts *to)
{
    *to = *from;
    to->ch = malloc((from->n > 0 ? from->n : 1) * sizeof *to->ch);
    if (to->ch == NULL) {
        memset(to, 0, sizeof *to);
        return -1;
    }
    memcpy(to->ch, from->ch, from->n * sizeof *to->ch);
    return 0;
}

int app_subs_starts_by_channel(app_tenant *t, subs_period p, app_subs_starts *out)
{
    app_subs *s = t->subs;
    memset(out, 0, sizeof *out);
    if (atomic_load(&s->count) == 0)
        return 0;
    uint64_t generation = cache_generation(t->cache); /* before the pass */
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    subs_starts_memo *m = &s->starts[p];
    if (!m->valid || m->epoch != s->epoch || m->generation != generation) {
        app_subs_starts_free(&m->s);
        m->valid = false;
        rc = starts_make(s, t->cache, p, &m->s);
        if (rc == 0) {
            m->valid = true;
            m->epoch = s->epoch;
            m->generation = generation;
        } else {
            app_subs_starts_free(&m->s);
        }
    }
    if (rc == 0)
        rc = starts_copy(&m->s, out);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

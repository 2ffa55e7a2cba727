/* The background per-channel fit of a tenant (acq_chan.h). */
#include "app/acq_chan.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "log/log.h"

/* One fit in the process at a time. */
static atomic_bool busy;
static atomic_ulong fits;

struct app_acq_chan {
    pthread_mutex_t lock;
    app_acq_chan_fit *fit; /* the last finished one (one reference), or NULL */
    bool running;          /* a fit thread of this tenant runs */
    bool joinable;         /* thread was started and not joined */
    pthread_t thread;
    atomic_bool stop;
};

/* One kept set of values (app_acq_chan_values). */
struct app_acq_chan_kept {
    bool has;
    clv_options clv;
    acq_value d[ACQ_CHANNELS_DISTINCT];
    long *index; /* per channel: into d, or -1 */
};

/* What a fit thread works on. */
typedef struct job {
    struct app_acq_chan *s;
    cache *c;
    const cache_model *m; /* held */
    size_t n_dict;
    app_acq_chan_fit *vf; /* a values job: the fit (held); NULL: a fit job */
    bool has_a;           /* a: the values to compute after the fit */
    acq_model a;
} job;

struct app_acq_chan *app_acq_chan_new(void)
{
    struct app_acq_chan *s = calloc(1, sizeof *s);
    if (s != NULL && pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void app_acq_chan_release(app_acq_chan_fit *f)
{
    if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    acq_channels_free(&f->f);
    for (unsigned i = 0; f->kept != NULL && i < APP_ACQ_CHAN_KEPT; i++)
        free(f->kept[i].index);
    free(f->kept);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void app_acq_chan_free(struct app_acq_chan *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_mutex_lock(&s->lock);
    bool join = s->joinable;
    s->joinable = false;
    pthread_mutex_unlock(&s->lock);
    if (join)
        pthread_join(s->thread, NULL);
    app_acq_chan_release(s->fit);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

unsigned long app_acq_chan_fits(void)
{
    return atomic_load(&fits);
}

/* ------------------------------------------------------------ the scan */

/* One channel's patterns, collapsed whenever the array is full. */
typedef struct bucket {
    btyd_pattern *p;
    size_t n, cap;
} bucket;

static bool bucket_add(bucket *b, btyd_pattern p)
{
    if (b->n == b->cap) {
        if (b->n > 0)
            b->n = btyd_patterns_collapse(b->p, b->n);
        if (b->cap == 0 || b->n > b->cap / 2) {
            size_t cap = b->cap ? 2 * b->cap : 64;
            btyd_pattern *q = realloc(b->p, cap * sizeof *q);
            if (q == NULL)
                return false;
            b->p = q;
            b->cap = cap;
        }
    }
    b->p[b->n++] = p;
    return true;
}

/* The customers of j's snapshot (as its fit took them: first purchase on
 * or before its as_of day, the last not after it) into per-channel buckets
 * (b[n_dict - 1]: channel k is dictionary index k + 1). False when out of
 * memory or stopped. */
static bool scan(job *j, bucket *b, size_t n_ch)
{
    enum { CHUNK = 4096 };
    cache_summary *sm = malloc(CHUNK * sizeof *sm);
    cache_attrs *at = malloc(CHUNK * sizeof *at);
    int64_t as_of = (int64_t)floor(j->m->as_of / 86400.0);
    double pd = j->m->period_days;
    bool ok = sm != NULL && at != NULL;
    size_t got;
    for (size_t from = 0;
         ok && (got = cache_records_attrs(j->c, from, CHUNK, sm, at, NULL)) > 0;
         from += got) {
        ok = !atomic_load(&j->s->stop);
        for (size_t i = 0; ok && i < got; i++) {
            const cache_summary *x = &sm[i];
            uint16_t ch = at[i].channel;
            if (x->n_days == 0 || x->first_day > as_of || x->last_day > as_of ||
                ch == CACHE_ATTR_NONE || ch == CACHE_ATTR_OVERFLOW || ch > n_ch)
                continue;
            ok = bucket_add(&b[ch - 1],
                            (btyd_pattern){(double)x->n_days - 1,
                                           (double)(x->last_day - x->first_day) / pd,
                                           (double)(as_of - x->first_day) / pd, 1});
        }
    }
    free(sm);
    free(at);
    return ok;
}

/* Scans and fits into f. */
static void fit_job(job *j, app_acq_chan_fit *f)
{
    size_t n_ch = j->n_dict, n = 0;
    bucket *b = calloc(n_ch + 1, sizeof *b);
    btyd_pattern *pat = NULL;
    uint32_t *ch = NULL;
    f->rc = GSL_ENOMEM;
    f->why = "out of memory";
    if (b == NULL || !scan(j, b, n_ch))
        goto cleanup;
    for (size_t k = 0; k < n_ch; k++)
        n += b[k].n = b[k].n > 0 ? btyd_patterns_collapse(b[k].p, b[k].n) : 0;
    pat = malloc((n ? n : 1) * sizeof *pat);
    ch = malloc((n ? n : 1) * sizeof *ch);
    if (pat == NULL || ch == NULL)
        goto cleanup;
    for (size_t k = 0, i = 0; k < n_ch; k++)
        for (size_t q = 0; q < b[k].n; q++, i++) {
            pat[i] = b[k].p[q];
            ch[i] = (uint32_t)k;
        }
    f->rc = acq_channels_fit(j->m->model, pat, ch, n, n_ch, COV_MIN_CUSTOMERS_DEFAULT,
                             &f->f, &f->why);
cleanup:
    for (size_t k = 0; b != NULL && k < n_ch; k++)
        free(b[k].p);
    free(b);
    free(pat);
    free(ch);
}

static void values_job(app_acq_chan_fit *f, const acq_model *a);

/* A fit job: the fit (and the values the request asked for). NULL when
 * out of memory. */
static app_acq_chan_fit *fit_run(job *j)
{
    app_acq_chan_fit *f = calloc(1, sizeof *f);
    if (f != NULL && pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f);
        return NULL;
    }
    if (f == NULL)
        return NULL;
    int64_t t0 = base_mono_ms();
    atomic_init(&f->refs, 1);
    f->serial = j->m->serial;
    f->n_dict = j->n_dict;
    f->generation = cache_generation(j->c);
    fit_job(j, f);
    f->seconds = (double)(base_mono_ms() - t0) / 1000;
    atomic_fetch_add(&fits, 1);
    log_write(LOG_INFO, "acquisition channel model of snapshot %llu: %s in %.3f s",
              (unsigned long long)j->m->version, f->rc == GSL_SUCCESS ? "fitted" : f->why,
              f->seconds);
    if (f->rc == GSL_SUCCESS && j->has_a)
        values_job(f, &j->a);
    return f;
}

static void *run(void *arg)
{
    job *j = arg;
    app_acq_chan_fit *f = NULL;
    if (j->vf != NULL)
        values_job(j->vf, &j->a);
    else
        f = fit_run(j);
    struct app_acq_chan *s = j->s;
    pthread_mutex_lock(&s->lock);
    app_acq_chan_fit *old = f != NULL ? s->fit : NULL;
    if (f != NULL)
        s->fit = f;
    s->running = false;
    pthread_mutex_unlock(&s->lock);
    atomic_store(&busy, false);
    app_acq_chan_release(old);
    app_acq_chan_release(j->vf);
    cache_snapshot_release(j->m);
    free(j);
    return NULL;
}

/* Starts job j (under s->lock, not running; j's references are taken
 * over); false when another job runs in the process or a thread cannot be
 * made (then j is released). */
static bool start(struct app_acq_chan *s, job *j)
{
    bool expected = false;
    if (!atomic_load(&s->stop) &&
        atomic_compare_exchange_strong(&busy, &expected, true)) {
        if (s->joinable) { /* the last one has ended (not running) */
            pthread_join(s->thread, NULL);
            s->joinable = false;
        }
        if (pthread_create(&s->thread, NULL, run, j) == 0) {
            s->running = s->joinable = true;
            return true;
        }
        atomic_store(&busy, false);
    }
    cache_snapshot_release(j->m);
    app_acq_chan_release(j->vf);
    free(j);
    return false;
}

/* A job on s's cache c and snapshot m (a new reference), or NULL. */
static job *job_new(struct app_acq_chan *s, cache *c, const cache_model *m, size_t n_dict,
                    const acq_model *a)
{
    job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    *j = (job){.s = s, .c = c, .m = cache_snapshot_ref(m), .n_dict = n_dict};
    if (a != NULL) {
        j->a = *a;
        j->has_a = true;
    }
    return j;
}

app_acq_chan_status app_acq_chan_get(struct app_acq_chan *s, cache *c,
                                     const cache_model *m, const acq_model *a,
                                     app_acq_chan_fit **out, const char **why)
{
    *out = NULL;
    *why = "per-channel parameters need bgnbd or pareto (covariates)";
    if (!cov_model_supported(m->model))
        return APP_ACQ_CHAN_NOT_APPLICABLE;
    size_t names = cache_channel_names(c, NULL, 0);
    size_t n_dict = names > 0 ? names - 1 : 0;
    *why = "fewer than two channels: one model for every customer";
    if (n_dict < 2)
        return APP_ACQ_CHAN_NOT_APPLICABLE;
    pthread_mutex_lock(&s->lock);
    app_acq_chan_fit *f = s->fit;
    bool same = f != NULL && f->serial == m->serial;
    job *j = NULL;
    if (!s->running && (!same || f->n_dict < n_dict) &&
        (j = job_new(s, c, m, n_dict, a)) != NULL)
        start(s, j);
    if (same)
        atomic_fetch_add(&f->refs, 1);
    pthread_mutex_unlock(&s->lock);
    *why = "the per-channel model of this snapshot is being fitted in the background; "
           "every channel has the pooled model's value until it is ready";
    if (!same)
        return APP_ACQ_CHAN_FITTING;
    *why = f->why; /* static text */
    int rc = f->rc;
    if (rc == GSL_SUCCESS) {
        *out = f;
        return APP_ACQ_CHAN_READY;
    }
    app_acq_chan_release(f);
    return rc == GSL_EINVAL ? APP_ACQ_CHAN_NOT_APPLICABLE : APP_ACQ_CHAN_FAILED;
}

static bool same_clv(const clv_options *x, const clv_options *y)
{
    return x->months == y->months && x->discount_rate == y->discount_rate &&
           x->margin == y->margin && x->month_periods == y->month_periods;
}

/* The kept set of clv, or NULL (under f->lock). */
static struct app_acq_chan_kept *kept_find(app_acq_chan_fit *f, const clv_options *clv)
{
    for (unsigned i = 0; f->kept != NULL && i < APP_ACQ_CHAN_KEPT; i++)
        if (f->kept[i].has && same_clv(&f->kept[i].clv, clv))
            return &f->kept[i];
    return NULL;
}

/* Keeps the values d, per of a's options (under f->lock). */
static void kept_store(app_acq_chan_fit *f, const acq_model *a, const acq_value *d,
                       const acq_value *const *per)
{
    size_t n = f->f.n_channels;
    if (kept_find(f, &a->clv) != NULL ||
        (f->kept == NULL &&
         (f->kept = calloc(APP_ACQ_CHAN_KEPT, sizeof *f->kept)) == NULL))
        return;
    struct app_acq_chan_kept *k = &f->kept[f->next];
    if (k->index == NULL && (k->index = malloc((n ? n : 1) * sizeof *k->index)) == NULL)
        return;
    f->next = (f->next + 1) % APP_ACQ_CHAN_KEPT;
    memcpy(k->d, d, sizeof k->d);
    for (size_t c = 0; c < n; c++)
        k->index[c] = per[c] != NULL ? (long)(per[c] - d) : -1;
    k->clv = a->clv;
    k->has = true;
}

/* Computes and keeps the values of a's options (outside the lock). */
static void values_job(app_acq_chan_fit *f, const acq_model *a)
{
    acq_value *d = malloc(ACQ_CHANNELS_DISTINCT * sizeof *d);
    const acq_value **per = malloc((f->f.n_channels + 1) * sizeof *per);
    if (d != NULL && per != NULL) {
        acq_channels_values(&f->f, a, d, per);
        pthread_mutex_lock(&f->lock);
        kept_store(f, a, d, per);
        pthread_mutex_unlock(&f->lock);
    }
    free(d);
    free(per);
}

bool app_acq_chan_values(app_acq_chan_fit *f, const acq_model *a, acq_value *distinct,
                         const acq_value **per)
{
    pthread_mutex_lock(&f->lock);
    struct app_acq_chan_kept *k = kept_find(f, &a->clv);
    if (k != NULL) {
        memcpy(distinct, k->d, sizeof k->d);
        for (size_t c = 0; c < f->f.n_channels; c++)
            per[c] = k->index[c] >= 0 ? &distinct[k->index[c]] : NULL;
    }
    pthread_mutex_unlock(&f->lock);
    if (k != NULL)
        return true;
    if (a->clv.months > APP_ACQ_CHAN_INLINE_MONTHS)
        return false;
    acq_channels_values(&f->f, a, distinct, per);
    pthread_mutex_lock(&f->lock);
    kept_store(f, a, distinct, per);
    pthread_mutex_unlock(&f->lock);
    return true;
}

void app_acq_chan_values_start(struct app_acq_chan *s, app_acq_chan_fit *f,
                               const acq_model *a)
{
    pthread_mutex_lock(&s->lock);
    job *j = NULL;
    if (!s->running && (j = calloc(1, sizeof *j)) != NULL) {
        *j = (job){.s = s, .vf = f, .a = *a, .has_a = true};
        atomic_fetch_add(&f->refs, 1);
        start(s, j);
    }
    pthread_mutex_unlock(&s->lock);
}

/* A tenant's subscriptions: calendar periods, statuses, the start cohorts'
 * survivor counts, the fit of the retention model on them, and the
 * documents and report made from it (see subs.h for the rules). */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/subs_impl.h"

#define DAY_S 86400

/* Taken around every retention fit: a process makes one at a time (as its
 * refit workers do), whichever tenant or thread asks. Never held while a
 * tenant's lock is taken. */
static pthread_mutex_t one_fit = PTHREAD_MUTEX_INITIALIZER;

const char *app_sub_status_name(app_sub_status s)
{
    return s == APP_SUB_ACTIVE      ? "active"
           : s == APP_SUB_CANCELLED ? "cancelled"
                                    : "lapsed";
}

/* ------------------------------------------------------------- calendar */

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m) /* m 0..11 */
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return d[m] + (m == 1 && leap(y));
}

int64_t subs_add_periods(int64_t start_s, int64_t t, subs_period p)
{
    time_t s = (time_t)start_s;
    struct tm tm;
    gmtime_r(&s, &tm);
    int64_t months =
        (int64_t)tm.tm_year * 12 + tm.tm_mon + (p == SUBS_MONTH ? t : 12 * t);
    int64_t y = months / 12;
    int m = (int)(months % 12);
    int mday = tm.tm_mday;
    if (mday > month_days(y + 1900, m))
        mday = month_days(y + 1900, m);
    tm.tm_year = (int)y;
    tm.tm_mon = m;
    tm.tm_mday = mday;
    return (int64_t)timegm(&tm);
}

/* Decisions observed as of now_s: the largest t with decision t's date plus
 * the grace period past (0 when none). */
static int64_t observed(const sub_rec *r, int64_t now_s, long grace_days)
{
    double len = r->period == SUBS_MONTH ? 30.436875 * DAY_S : 365.2425 * DAY_S;
    int64_t t = (int64_t)((double)(now_s - r->start_s - grace_days * DAY_S) / len) + 1;
    if (t < 0)
        t = 0;
    while (t > 0 &&
           subs_add_periods(r->start_s, t, r->period) + grace_days * DAY_S > now_s)
        t--;
    return t;
}

app_sub_status subs_status(const sub_rec *r, int64_t now_s, long grace_days,
                           int64_t *paid_through_s)
{
    *paid_through_s = subs_add_periods(r->start_s, r->renewals + 1, r->period);
    if (r->cancelled)
        return APP_SUB_CANCELLED;
    return *paid_through_s + grace_days * DAY_S < now_s ? APP_SUB_LAPSED : APP_SUB_ACTIVE;
}

static int cohort_key(const sub_rec *r)
{
    time_t s = (time_t)r->start_s;
    struct tm tm;
    gmtime_r(&s, &tm);
    return r->period == SUBS_MONTH ? (tm.tm_year - 70) * 12 + tm.tm_mon
                                   : tm.tm_year + 1900;
}

/* ---------------------------------------------------------------- cohorts */

void subs_fit_cache_clear(subs_fit_cache *c)
{
    for (size_t i = 0; i < c->n_cohorts; i++)
        free(c->cohorts[i].survivors);
    free(c->cohorts);
    memset(c, 0, sizeof *c);
}

/* A subscription of a cohort: its key, decisions observed, renewals. */
typedef struct member {
    int key;
    int64_t obs, k;
} member;

static int by_member(const void *x, const void *y)
{
    const member *a = x, *b = y;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* One cohort's counts from its members m[0..n). -1 when out of memory. */
static int cohort_make(const member *m, size_t n, app_subs_cohort *out)
{
    int64_t T = m[0].obs;
    for (size_t i = 1; i < n; i++)
        T = m[i].obs < T ? m[i].obs : T;
    if (T > APP_SUBS_HORIZON_MAX)
        T = APP_SUBS_HORIZON_MAX;
    out->key = m[0].key;
    out->n = (size_t)T + 1;
    out->survivors = calloc(out->n, sizeof *out->survivors);
    if (out->survivors == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int64_t last = m[i].k < T ? m[i].k : T;
        for (int64_t t = 0; t <= last; t++)
            out->survivors[t] += 1;
    }
    return 0;
}

/* The cohorts of period into c (every cohort, decisions observed or not:
 * those with none have n == 1). -1 when out of memory. */
static int cohorts_make(app_subs *s, subs_period period, int64_t now_s, long grace,
                        subs_fit_cache *c)
{
    member *m = malloc((s->n > 0 ? s->n : 1) * sizeof *m);
    if (m == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const sub_rec *r = &s->v[i];
        if (r->period != period || !r->has_start || r->start_s > now_s)
            continue;
        m[n++] = (member){cohort_key(r), observed(r, now_s, grace), r->renewals};
    }
    qsort(m, n, sizeof *m, by_member);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        groups += i == 0 || m[i].key != m[i - 1].key;
    c->cohorts = calloc(groups > 0 ? groups : 1, sizeof *c->cohorts);
    int rc = c->cohorts != NULL ? 0 : -1;
    for (size_t i = 0, end; rc == 0 && i < n; i = end) {
        for (end = i + 1; end < n && m[end].key == m[i].key;)
            end++;
        rc = cohort_make(m + i, end - i, &c->cohorts[c->n_cohorts]);
        if (rc == 0)
            c->n_cohorts++;
    }
    free(m);
    return rc;
}

static bool params_finite(const retention_fit_result *r)
{
    return isfinite(r->params.alpha) && isfinite(r->params.beta) &&
           isfinite(r->params.c) && isfinite(r->fit.log_likelihood) &&
           r->params.alpha > 0 && r->params.beta > 0 && r->params.c > 0;
}

static void fit_now(subs_fit_cache *c)
{
    retention_cohort *rc = calloc(c->n_cohorts > 0 ? c->n_cohorts : 1, sizeof *rc);
    size_t usable = 0;
    for (size_t i = 0; rc != NULL && i < c->n_cohorts; i++)
        if (c->cohorts[i].n > 1)
            rc[usable++] = (retention_cohort){c->cohorts[i].survivors, c->cohorts[i].n};
    if (rc == NULL) {
        snprintf(c->note, sizeof c->note, "out of memory");
    } else if (usable == 0) {
        snprintf(c->note, sizeof c->note,
                 "no renewal decision of these subscriptions is observed yet: no model "
                 "can be fitted");
    } else {
        /* served only converged and identified, as ltvd retention's
         * `problem` and the purchase models' acceptance (DESIGN.md) */
        pthread_mutex_lock(&one_fit); /* one retention fit at a time in the process */
        int st = retention_fit(c->kind, rc, usable, &c->fit);
        pthread_mutex_unlock(&one_fit);
        const char *why = st != GSL_SUCCESS           ? gsl_strerror(st)
                          : !params_finite(&c->fit)   ? "non-finite parameters"
                          : !c->fit.fit.converged     ? "it did not converge"
                          : !c->fit.fit.std_errors_ok ? "the counts do not determine the "
                                                        "parameters: more periods are "
                                                        "needed, with some but not all "
                                                        "subscribers leaving"
                                                      : NULL;
        c->ok = why == NULL;
        if (!c->ok)
            snprintf(c->note, sizeof c->note, "no %s model is served (%zu cohort(s)): %s",
                     retention_kind_name(c->kind), usable, why);
    }
    free(rc);
}

const subs_fit_cache *subs_fit(app_subs *s, subs_period period, const ltvd_config *cfg,
                               int64_t now_s)
{
    subs_fit_cache *c = &s->fits[period];
    retention_kind kind = (retention_kind)cfg->retention_model;
    int64_t day = now_s / DAY_S;
    if (c->valid && c->epoch == s->epoch && c->kind == kind &&
        c->grace_days == cfg->subscription_grace_days && c->day == day)
        return c;
    subs_fit_cache_clear(c);
    c->epoch = s->epoch;
    c->kind = kind;
    c->grace_days = cfg->subscription_grace_days;
    c->day = day;
    if (cohorts_make(s, period, now_s, c->grace_days, c) != 0) {
        subs_fit_cache_clear(c); /* not valid: tried again next time */
        snprintf(c->note, sizeof c->note, "out of memory");
        return c;
    }
    fit_now(c);
    c->valid = true;
    return c;
}

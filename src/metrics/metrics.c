/* Request metrics in C11 atomics, rendered as Prometheus text. */
#include "metrics/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_SLOTS 500 /* 100..599; slot 0 also takes anything odd */

/* Upper bounds of the latency buckets, in microseconds; +Inf is implied. */
static const uint64_t bucket_usec[] = {100,     250,     500,     1000,    2500,   5000,
                                       10000,   25000,   50000,   100000,  250000, 500000,
                                       1000000, 2500000, 5000000, 10000000};
#define NBUCKETS (sizeof bucket_usec / sizeof bucket_usec[0] + 1)

typedef struct route_metrics {
    const char *method, *pattern;
    atomic_uint_fast64_t status[STATUS_SLOTS];
    atomic_uint_fast64_t bucket[NBUCKETS]; /* not cumulative; rendering sums */
    atomic_uint_fast64_t usec_sum;
} route_metrics;

struct metrics {
    size_t nroutes; /* plus the unmatched slot */
    route_metrics *route;
};

metrics *metrics_new(size_t nroutes)
{
    metrics *m = malloc(sizeof *m);
    if (m == NULL)
        return NULL;
    m->nroutes = nroutes;
    m->route = calloc(nroutes + 1, sizeof *m->route);
    if (m->route == NULL) {
        free(m);
        return NULL;
    }
    for (size_t i = 0; i <= nroutes; i++) {
        for (size_t s = 0; s < STATUS_SLOTS; s++)
            atomic_init(&m->route[i].status[s], 0);
        for (size_t b = 0; b < NBUCKETS; b++)
            atomic_init(&m->route[i].bucket[b], 0);
        atomic_init(&m->route[i].usec_sum, 0);
        m->route[i].method = "";
        m->route[i].pattern = "unmatched";
    }
    return m;
}

void metrics_free(metrics *m)
{
    if (m == NULL)
        return;
    free(m->route);
    free(m);
}

void metrics_set_route(metrics *m, size_t route, const char *method, const char *pattern)
{
    if (route < m->nroutes) {
        m->route[route].method = method;
        m->route[route].pattern = pattern;
    }
}

void metrics_observe(metrics *m, size_t route, unsigned status, uint64_t usec)
{
    route_metrics *r = &m->route[route < m->nroutes ? route : m->nroutes];
    size_t slot = status >= 100 && status < 600 ? status - 100 : 0;
    atomic_fetch_add_explicit(&r->status[slot], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKETS - 1 && usec > bucket_usec[b])
        b++;
    atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->usec_sum, usec, memory_order_relaxed);
}

/* ------------------------------------------------------------- rendering */

typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text;

static void text_printf(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_printf(text *t, const char *fmt, ...)
{
    for (int attempt = 0; !t->failed && attempt < 2; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
        } else if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = (t->cap + (size_t)n + 1) * 2;
            char *grown = realloc(t->buf, cap);
            if (grown == NULL)
                t->failed = true;
            else {
                t->buf = grown;
                t->cap = cap;
            }
        }
    }
}

static void render_requests(text *t, const metrics *m)
{
    text_printf(t, "# HELP ltvd_http_requests_total HTTP requests answered, by route "
                   "and status.\n# TYPE ltvd_http_requests_total counter\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        const route_metrics *r = &m->route[i];
        for (size_t s = 0; s < STATUS_SLOTS; s++) {
            uint64_t n = atomic_load_explicit(&r->status[s], memory_order_relaxed);
            if (n > 0)
                text_printf(t,
                            "ltvd_http_requests_total{method=\"%s\",route=\"%s\","
                            "status=\"%zu\"} %llu\n",
                            r->method, r->pattern, s == 0 ? (size_t)0 : s + 100,
                            (unsigned long long)n);
        }
    }
}

static void render_latency(text *t, const metrics *m)
{
    text_printf(t, "# HELP ltvd_http_request_duration_seconds Time from the request "
                   "headers to the response sent.\n"
                   "# TYPE ltvd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        const route_metrics *r = &m->route[i];
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += atomic_load_explicit(&r->bucket[b], memory_order_relaxed);
            if (b < NBUCKETS - 1)
                text_printf(t,
                            "ltvd_http_request_duration_seconds_bucket{method=\"%s\","
                            "route=\"%s\",le=\"%g\"} %llu\n",
                            r->method, r->pattern, (double)bucket_usec[b] / 1e6,
                            (unsigned long long)cumulative);
        }
        text_printf(
            t,
            "ltvd_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
            "le=\"+Inf\"} %llu\n"
            "ltvd_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
            "%.6f\n"
            "ltvd_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
            "%llu\n",
            r->method, r->pattern, (unsigned long long)cumulative, r->method, r->pattern,
            (double)atomic_load_explicit(&r->usec_sum, memory_order_relaxed) / 1e6,
            r->method, r->pattern, (unsigned long long)cumulative);
    }
}

char *metrics_render(const metrics *m, size_t *len)
{
    text t = {malloc(8192), 0, 8192, false};
    if (t.buf == NULL)
        return NULL;
    t.buf[0] = '\0';
    render_requests(&t, m);
    render_latency(&t, m);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}

/* `bench_service lists` and `load`: list pages at scale, and /healthz while
 * lists and ingest run (issue 9).
 *   lists ADDR --paths F [--trials N]  each path of F (one a line) GET N
 *       times in a row on one connection after 2 warm-ups; one line per path
 *       with p50/p99/max, the first warm-up's time (first_ms: the page
 *       before the memo of histories holds any of it) and the statuses,
 *       then the worst over all paths (worst_cold_ms: the slowest first
 *       GET of a path with its own horizon_days).
 *   load ADDR --paths F --clients K [--seconds S]  K threads (K >= 0) GET the paths
 *       of F in rotation, each on its own connection, as fast as answered,
 *       while the main thread GETs /healthz every 5 ms, on a new connection
 *       each time (connect included in the latency):
 *       /healthz latency p50/p99/max, lists answered (200, 503). Ingest at
 *       full load runs beside it as another process (bench/service.sh). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "service.h"
#include "stats.h"

#define MAX_PATHS 64

typedef struct paths {
    char *p[MAX_PATHS];
    size_t n;
} paths;

static bool read_paths(const char *file, paths *ps)
{
    FILE *f = fopen(file, "r");
    char line[2048];
    ps->n = 0;
    if (f == NULL)
        return false;
    while (ps->n < MAX_PATHS && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '/')
            ps->p[ps->n++] = strdup(line);
    }
    fclose(f);
    return ps->n > 0;
}

static void free_paths(paths *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->p[i]);
}

/* Times one GET in ms; *status gets its status (0: network error). */
static double timed_get(bench_client *c, const char *path, int *status)
{
    double t0 = bench_now();
    bool ok = bench_client_request(c, "GET", path, NULL, 0);
    *status = ok ? c->status : 0;
    return (bench_now() - t0) * 1e3;
}

int service_lists(const service_opts *o)
{
    paths ps;
    if (o->paths == NULL || !read_paths(o->paths, &ps)) {
        fprintf(stderr, "lists: no paths in %s\n", o->paths ? o->paths : "(none)");
        return 1;
    }
    size_t trials = o->trials > 0 ? o->trials : 20;
    double *ms = malloc(trials * sizeof *ms), worst_p50 = 0, worst_max = 0,
           worst_cold = 0;
    bench_client c;
    int rc = ms != NULL && bench_client_init(&c, o->addr) ? 0 : 1;
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        int status = 0;
        size_t non200 = 0;
        /* the first GET of a path: nothing of it memoized yet (score_memo.h) */
        double first = timed_get(&c, ps.p[i], &status);
        timed_get(&c, ps.p[i], &status);
        for (size_t k = 0; k < trials; k++) {
            ms[k] = timed_get(&c, ps.p[i], &status);
            non200 += status != 200;
        }
        size_t bytes = c.body_len;
        double p50 = bench_percentile(ms, trials, 50),
               p99 = bench_percentile(ms, trials, 99), max = ms[trials - 1];
        printf("LIST path=%s p50_ms=%.2f p99_ms=%.2f max_ms=%.2f first_ms=%.2f status=%d "
               "non200=%zu bytes=%zu\n",
               ps.p[i], p50, p99, max, first, status, non200, bytes);
        if (non200 > 0)
            rc = 1;
        worst_p50 = p50 > worst_p50 ? p50 : worst_p50;
        worst_max = max > worst_max ? max : worst_max;
        if (strstr(ps.p[i], "horizon_days=") != NULL && first > worst_cold)
            worst_cold = first;
    }
    printf("LISTS paths=%zu trials=%zu worst_p50_ms=%.2f worst_max_ms=%.2f "
           "worst_cold_ms=%.2f\n",
           ps.n, trials, worst_p50, worst_max, worst_cold);
    if (ms != NULL)
        bench_client_close(&c);
    free(ms);
    free_paths(&ps);
    return rc;
}

/* ---------------------------------------------------------------- load */

typedef struct load_run {
    const service_opts *o;
    const paths *ps;
    atomic_bool stop;
    atomic_size_t ok, busy, other;
} load_run;

static void *list_client(void *arg)
{
    load_run *r = arg;
    bench_client c;
    if (!bench_client_init(&c, r->o->addr))
        return NULL;
    for (size_t i = (size_t)rand(); !atomic_load(&r->stop); i++) {
        int status;
        timed_get(&c, r->ps->p[i % r->ps->n], &status);
        atomic_fetch_add(status == 200   ? &r->ok
                         : status == 503 ? &r->busy
                                         : &r->other,
                         1);
        if (status == 503) /* as its Retry-After says (a client spinning on 503s
                              would measure the cost of refusing it) */
            nanosleep(&(struct timespec){1, 0}, NULL);
    }
    bench_client_close(&c);
    return NULL;
}

int service_load(const service_opts *o)
{
    paths ps;
    if (o->paths == NULL || !read_paths(o->paths, &ps)) {
        fprintf(stderr, "load: no paths\n");
        return 1;
    }
    load_run r = {.o = o, .ps = &ps};
    size_t k = o->clients, started = 0; /* 0: /healthz alone (beside other load) */
    double secs = o->seconds > 0 ? (double)o->seconds : 10;
    pthread_t *th = calloc(k + 1, sizeof *th);
    size_t cap = (size_t)(secs * 400) + 16, n = 0, failed = 0;
    double *ms = malloc(cap * sizeof *ms);
    bench_client h;
    if (th == NULL || ms == NULL || !bench_client_init(&h, o->addr)) {
        free(th);
        free(ms);
        free_paths(&ps);
        return 1;
    }
    for (; started < k; started++)
        if (pthread_create(&th[started], NULL, list_client, &r) != 0)
            break;
    double end = bench_now() + secs;
    while (bench_now() < end && n < cap) {
        int status;
        /* a connection per probe, as an orchestrator's: a kept-alive one
         * stays with the server thread that accepted it */
        bench_client_close(&h);
        bench_client_init(&h, o->addr);
        double t = timed_get(&h, "/healthz", &status);
        if (status == 200)
            ms[n++] = t;
        else
            failed++;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    atomic_store(&r.stop, true);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double p50 = bench_percentile(ms, n, 50), p99 = bench_percentile(ms, n, 99);
    printf(
        "LOAD clients=%zu seconds=%.0f health_n=%zu health_failed=%zu health_p50_ms=%.2f "
        "health_p99_ms=%.2f health_max_ms=%.2f lists_200=%zu lists_503=%zu "
        "lists_other=%zu\n",
        started, secs, n, failed, p50, p99, n > 0 ? ms[n - 1] : 0.0, atomic_load(&r.ok),
        atomic_load(&r.busy), atomic_load(&r.other));
    bench_client_close(&h);
    free(th);
    free(ms);
    free_paths(&ps);
    return failed == 0 && n > 0 ? 0 : 1;
}

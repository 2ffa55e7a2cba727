/* `bench_service delay`: the time from a batch's acknowledgement to the new
 * score being served. Per trial: read a known customer's frequency, post a
 * batch holding one purchase of that customer on a new day (as_of) plus
 * filler purchases of new customers, and from the moment the 200 arrives
 * GET the customer on a second connection until the frequency has grown.
 * The cache is updated before the acknowledgement, so the first GET should
 * already see it: the delay is then one GET round trip. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "service.h"
#include "stats.h"

/* How long a trial waits for the new score before counting as a miss. */
#define DELAY_GIVE_UP_S 2.0

typedef struct delay_run {
    bench_client post, get;
    double *delay, *post_latency;
    size_t n, gets, misses;
} delay_run;

/* GETs the customer's frequency and last purchase day. Returns false when
 * it cannot be scored. */
static bool customer_state(bench_client *c, const char *id, long *freq, char last[16])
{
    char path[320];
    snprintf(path, sizeof path, "/v1/customers/%s", id);
    if (!bench_client_request(c, "GET", path, NULL, 0) || c->status != 200)
        return false;
    json_t *doc = json_loadb(c->body, c->body_len, 0, NULL);
    json_t *s = json_object_get(doc, "summary");
    json_t *f = json_object_get(s, "frequency");
    const char *lp = json_string_value(json_object_get(s, "last_purchase"));
    bool ok = json_is_integer(f) && lp != NULL;
    if (ok) {
        *freq = (long)json_integer_value(f);
        snprintf(last, 16, "%s", lp);
    }
    json_decref(doc);
    return ok;
}

/* The trial's body: the customer's purchase first, then batch - 1 fillers. */
static char *trial_body(const service_opts *o, size_t trial, const char *id, size_t *len)
{
    size_t cap = 256 + o->batch * 128;
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    size_t k =
        (size_t)snprintf(b, cap,
                         "{\"transactions\":[{\"id\":\"delay-%zu\",\"customer_id\":"
                         "\"%s\",\"occurred_at\":\"%sT12:00:00Z\",\"amount\":10}",
                         trial, id, o->as_of);
    for (size_t i = 1; i < o->batch; i++)
        k += (size_t)snprintf(b + k, cap - k,
                              ",{\"id\":\"f%zu\",\"customer_id\":\"delay%zu-%zu\","
                              "\"occurred_at\":\"%sT12:00:00Z\",\"amount\":5}",
                              i, trial, i, o->as_of);
    k += (size_t)snprintf(b + k, cap - k, "]}");
    *len = k;
    return b;
}

/* One trial on customer id (frequency f0). Returns false on a failed POST. */
static bool trial(delay_run *r, const service_opts *o, const char *id, long f0)
{
    size_t len;
    char *body = trial_body(o, r->n, id, &len);
    double t0 = bench_now();
    bool ok = body != NULL &&
              bench_client_request(&r->post, "POST", "/v1/transactions", body, len) &&
              r->post.status == 200;
    double acked = bench_now();
    free(body);
    if (!ok) {
        fprintf(stderr, "delay: POST failed (%d %.200s)\n", r->post.status,
                r->post.body != NULL ? r->post.body : "");
        return false;
    }
    long f = f0;
    char last[16];
    double seen = acked;
    while (f == f0 && seen - acked < DELAY_GIVE_UP_S) {
        if (!customer_state(&r->get, id, &f, last))
            f = f0;
        seen = bench_now();
        r->gets++;
    }
    if (f == f0)
        r->misses++;
    r->post_latency[r->n] = acked - t0;
    r->delay[r->n++] = seen - acked;
    return true;
}

static char **read_ids(const char *path, size_t *n)
{
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL)
        return NULL;
    size_t cap = 1024;
    char **ids = malloc(cap * sizeof *ids), line[300];
    *n = 0;
    while (ids != NULL && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (*n == cap) {
            char **g = realloc(ids, 2 * cap * sizeof *ids);
            if (g == NULL)
                break;
            ids = g;
            cap *= 2;
        }
        ids[(*n)++] = strdup(line);
    }
    fclose(f);
    return ids;
}

int service_delay(const service_opts *o)
{
    size_t n_ids = 0;
    char **ids = read_ids(o->ids, &n_ids);
    delay_run r = {0};
    r.delay = calloc(o->trials + 1, sizeof *r.delay);
    r.post_latency = calloc(o->trials + 1, sizeof *r.post_latency);
    if (ids == NULL || n_ids == 0 || o->as_of == NULL || r.delay == NULL ||
        r.post_latency == NULL || !bench_client_init(&r.post, o->addr) ||
        !bench_client_init(&r.get, o->addr)) {
        fprintf(stderr, "delay: needs --ids FILE (non-empty) and --as-of\n");
        return 1;
    }
    size_t skipped = 0;
    int rc = 0;
    for (size_t i = 0; i < n_ids && r.n < o->trials && rc == 0; i++) {
        long f0;
        char last[16];
        /* a customer who already bought on as_of would not change */
        if (!customer_state(&r.get, ids[i], &f0, last) || strcmp(last, o->as_of) == 0) {
            skipped++;
            continue;
        }
        rc = trial(&r, o, ids[i], f0) ? 0 : 1;
    }
    double gets = (double)r.gets / (double)(r.n > 0 ? r.n : 1);
    double post_p50 = bench_percentile(r.post_latency, r.n, 50);
    printf("DELAY trials=%zu skipped=%zu batch=%zu misses=%zu gets_per_trial=%.2f "
           "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f post_p50_ms=%.2f\n",
           r.n, skipped, o->batch, r.misses, gets,
           1e3 * bench_percentile(r.delay, r.n, 50),
           1e3 * bench_percentile(r.delay, r.n, 99),
           1e3 * bench_percentile(r.delay, r.n, 100), 1e3 * post_p50);
    bench_client_close(&r.post);
    bench_client_close(&r.get);
    for (size_t i = 0; i < n_ids; i++)
        free(ids[i]);
    free(ids);
    free(r.delay);
    free(r.post_latency);
    return rc != 0 || r.misses > 0 || r.n < o->trials ? 1 : 0;
}

/* bench_soak: the load of the soak benchmark (bench/soak.sh, make soak).
 *
 *   bench_soak ADDR --ids FILE --seconds S [--clients K] [--batch B]
 *                   [--prefix P]
 *
 * K client threads, each on its own kept-alive connection (bench/service's
 * client), send a mix of requests for S seconds: 15% POST /v1/transactions
 * (B new transactions of the stored customers listed in FILE, one id a
 * line, so that the cache keeps its size; ids "P<thread>-<n>", days in
 * 1997-01-01..1998-06-30), 65% GET
 * /v1/customers/{id}, 10% GET /v1/customers (a page of the at-risk ones),
 * 5% GET /v1/model, 5% GET /metrics. Anything but a 200 is an error. Prints
 * one line "SOAK key=value ..." on stdout (requests, errors, transactions
 * acknowledged as new or duplicate, latency percentiles); the first errors
 * go to stderr. Exit status 0 when there was no error. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../service/client.h"
#include "../service/stats.h"

enum { OP_POST, OP_GET, OP_LIST, OP_MODEL, OP_METRICS, OP_COUNT };
static const char *const OP_NAMES[OP_COUNT] = {"post", "get", "list", "model", "metrics"};

typedef struct soak_opts {
    const char *addr;
    double seconds;
    size_t clients, batch;
    const char *prefix;
    char **ids; /* the customers */
    size_t n_ids;
} soak_opts;

/* One client thread's tallies. */
typedef struct soak_thread {
    const soak_opts *o;
    size_t id;
    double deadline;
    size_t requests[OP_COUNT], errors[OP_COUNT];
    size_t acked_new, acked_dup, acked_received;
    double *lat; /* seconds, every request */
    size_t nlat, caplat;
    uint64_t rng;
} soak_thread;

static atomic_size_t errors_printed;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The body of one batch of new transactions; NULL when out of memory. */
static char *batch_body(soak_thread *t, size_t *seq, size_t *len)
{
    size_t cap = 64 + t->o->batch * 288; /* ids of up to 128 bytes */
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    size_t k = (size_t)snprintf(b, cap, "{\"transactions\":[");
    for (size_t i = 0; i < t->o->batch; i++) {
        time_t day =
            (time_t)(852076800 + (int64_t)(next_rand(&t->rng) % 546) * 86400 + 43200);
        struct tm tm;
        char at[24];
        gmtime_r(&day, &tm);
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        unsigned cents = (unsigned)(next_rand(&t->rng) % 10000);
        k += (size_t)snprintf(b + k, cap - k,
                              "%s{\"id\":\"%s%zu-%zu\",\"customer_id\":\"%s\","
                              "\"occurred_at\":\"%s\",\"amount\":\"%u.%02u\"}",
                              i > 0 ? "," : "", t->o->prefix, t->id, (*seq)++,
                              t->o->ids[next_rand(&t->rng) % t->o->n_ids], at,
                              5 + cents / 100, cents % 100);
    }
    k += (size_t)snprintf(b + k, cap - k, "]}");
    *len = k;
    return b;
}

static void note_latency(soak_thread *t, double s)
{
    if (t->nlat == t->caplat) {
        size_t cap = t->caplat ? 2 * t->caplat : 65536;
        double *p = realloc(t->lat, cap * sizeof *p);
        if (p == NULL)
            return;
        t->lat = p;
        t->caplat = cap;
    }
    t->lat[t->nlat++] = s;
}

/* One request of kind op; false on an error (reported). */
static bool one_request(soak_thread *t, bench_client *c, int op, size_t *seq)
{
    char path[256], *body = NULL;
    size_t len = 0;
    const char *method = "GET";
    switch (op) {
    case OP_POST:
        method = "POST";
        snprintf(path, sizeof path, "/v1/transactions");
        if ((body = batch_body(t, seq, &len)) == NULL)
            return false;
        break;
    case OP_GET:
        snprintf(path, sizeof path, "/v1/customers/%s", /* ids of [A-Za-z0-9] */
                 t->o->ids[next_rand(&t->rng) % t->o->n_ids]);
        break;
    case OP_LIST:
        snprintf(path, sizeof path,
                 "/v1/customers?churn_risk=high&sort=-predicted_ltv&limit=20");
        break;
    case OP_MODEL:
        snprintf(path, sizeof path, "/v1/model");
        break;
    default:
        snprintf(path, sizeof path, "/metrics");
    }
    double t0 = bench_now();
    bool ok = bench_client_request(c, method, path, body, len);
    note_latency(t, bench_now() - t0);
    free(body);
    size_t rec = 0, nw = 0, dup = 0;
    if (ok && c->status == 200 && op == OP_POST &&
        sscanf(c->body, "{\"received\":%zu,\"new\":%zu,\"duplicates\":%zu}", &rec, &nw,
               &dup) != 3)
        ok = false;
    if (ok && c->status == 200) {
        t->acked_received += rec;
        t->acked_new += nw;
        t->acked_dup += dup;
        return true;
    }
    if (atomic_fetch_add(&errors_printed, 1) < 5)
        fprintf(stderr, "soak: %s %s: %s %d %.200s\n", method, path,
                ok ? "status" : "network error", ok ? c->status : 0, ok ? c->body : "");
    return false;
}

static void *client_main(void *arg)
{
    soak_thread *t = arg;
    bench_client c;
    size_t seq = 0;
    if (!bench_client_init(&c, t->o->addr))
        return NULL;
    while (bench_now() < t->deadline) {
        unsigned r = (unsigned)(next_rand(&t->rng) % 100);
        int op = r < 15   ? OP_POST
                 : r < 80 ? OP_GET
                 : r < 90 ? OP_LIST
                 : r < 95 ? OP_MODEL
                          : OP_METRICS;
        t->requests[op]++;
        if (!one_request(t, &c, op, &seq))
            t->errors[op]++;
    }
    bench_client_close(&c);
    return NULL;
}

/* Sums the threads' tallies and prints the SOAK line; returns the errors. */
static size_t report(soak_thread *th, size_t n, double secs)
{
    size_t req[OP_COUNT] = {0}, err[OP_COUNT] = {0}, nlat = 0, nw = 0, dup = 0, rec = 0;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < OP_COUNT; k++) {
            req[k] += th[i].requests[k];
            err[k] += th[i].errors[k];
        }
        nlat += th[i].nlat;
        nw += th[i].acked_new;
        dup += th[i].acked_dup;
        rec += th[i].acked_received;
    }
    double *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
    size_t m = 0;
    for (size_t i = 0; lat != NULL && i < n; i++) {
        memcpy(lat + m, th[i].lat, th[i].nlat * sizeof *lat);
        m += th[i].nlat;
    }
    size_t total = 0, errors = 0;
    printf("SOAK seconds=%.1f clients=%zu", secs, n);
    for (int k = 0; k < OP_COUNT; k++) {
        printf(" %s=%zu", OP_NAMES[k], req[k]);
        total += req[k];
        errors += err[k];
    }
    printf(" requests=%zu errors=%zu req_per_s=%.0f acked_received=%zu acked_new=%zu "
           "acked_duplicates=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           total, errors, (double)total / secs, rec, nw, dup,
           1e3 * bench_percentile(lat, m, 50), 1e3 * bench_percentile(lat, m, 99),
           1e3 * bench_percentile(lat, m, 100));
    free(lat);
    return errors;
}

static const char usage[] = "usage: bench_soak ADDR --ids FILE --seconds S [--clients K] "
                            "[--batch B] [--prefix P]\n";

/* The lines of path into o->ids; false when unreadable or empty. */
static bool read_ids(const char *path, soak_opts *o)
{
    FILE *f = fopen(path, "r");
    char line[160];
    size_t cap = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (o->n_ids == cap) {
            cap = cap ? 2 * cap : 4096;
            char **p = realloc(o->ids, cap * sizeof *p);
            if (p == NULL)
                break;
            o->ids = p;
        }
        if ((o->ids[o->n_ids] = strdup(line)) == NULL)
            break;
        o->n_ids++;
    }
    if (f != NULL)
        fclose(f);
    return o->n_ids > 0;
}

int main(int argc, char **argv)
{
    soak_opts o = {.seconds = 60, .clients = 8, .batch = 100, .prefix = "k"};
    const char *ids = NULL;
    static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
                                         {"clients", required_argument, NULL, 'c'},
                                         {"ids", required_argument, NULL, 'i'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"prefix", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o.seconds = strtod(optarg, NULL);
            break;
        case 'c':
            o.clients = strtoul(optarg, NULL, 10);
            break;
        case 'i':
            ids = optarg;
            break;
        case 'b':
            o.batch = strtoul(optarg, NULL, 10);
            break;
        case 'p':
            o.prefix = optarg;
            break;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || o.clients == 0 || o.clients > 256 || ids == NULL ||
        o.batch == 0 || o.batch > 10000 || o.seconds <= 0) {
        fputs(usage, stderr);
        return 2;
    }
    o.addr = argv[optind];
    if (!read_ids(ids, &o)) {
        fprintf(stderr, "bench_soak: no customer ids in %s\n", ids);
        return 1;
    }
    soak_thread *th = calloc(o.clients, sizeof *th);
    pthread_t *tid = calloc(o.clients, sizeof *tid);
    if (th == NULL || tid == NULL)
        return 1;
    double t0 = bench_now();
    size_t started = 0;
    for (; started < o.clients; started++) {
        th[started] = (soak_thread){.o = &o,
                                    .id = started,
                                    .deadline = t0 + o.seconds,
                                    .rng = 0x9E3779B97F4A7C15u * (started + 1) ^
                                           (uint64_t)time(NULL)};
        if (pthread_create(&tid[started], NULL, client_main, &th[started]) != 0)
            break;
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    size_t errors = report(th, started, bench_now() - t0);
    for (size_t i = 0; i < started; i++)
        free(th[i].lat);
    free(th);
    free(tid);
    for (size_t i = 0; i < o.n_ids; i++)
        free(o.ids[i]);
    free(o.ids);
    return errors == 0 && started == o.clients ? 0 : 1;
}

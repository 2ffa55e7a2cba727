/* make bench-body: the POST /v1/transactions body reader on pathological and
 * ordinary bodies: wall time and peak memory (each case in a child process,
 * so its ru_maxrss is its own). Issue 9's case is the first: 4.8 MB of empty
 * items, which took 47 s and ~430 MB when the jansson arena's free was a
 * search among its blocks and the item limit was checked after the parse.
 *   make bench-body             (results: docs/http.md) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/batch.h"
#include "ingest/json_arena.h"

#define NOW 1900000000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* {"transactions":[item(i), ...]} for i < n, item(i) from fmt with i. */
static char *body_of(const char *fmt, size_t n, size_t *len)
{
    size_t cap = 32 + n * (strlen(fmt) + 24);
    char *b = malloc(cap), *p = b;
    if (b == NULL)
        exit(1);
    p += sprintf(p, "{\"transactions\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *p++ = ',';
        p += sprintf(p, fmt, i, i % 1000);
    }
    p += sprintf(p, "]}");
    *len = (size_t)(p - b);
    return b;
}

static const char *result_name(ingest_result r)
{
    static const char *const names[] = {"ok", "invalid (422)", "malformed (400)",
                                        "too many (413)", "out of memory"};
    return names[r];
}

/* Runs one case in a child: parse, print time, outcome and peak RSS. */
static void run_case(const char *label, const char *fmt, size_t n, size_t max_items)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        size_t len;
        char *body = body_of(fmt, n, &len);
        struct rusage before;
        getrusage(RUSAGE_SELF, &before);
        ingest_limits lim = ingest_limits_default(max_items);
        ingest_batch b;
        ingest_errors e;
        double t0 = now();
        ingest_result r = ingest_batch_parse(body, len, &lim, NOW, &b, &e);
        double dt = now() - t0;
        struct rusage after;
        getrusage(RUSAGE_SELF, &after);
        printf("%-44s %7.2f MB  limit %7zu  %-15s %8.3f s  peak RSS %6.0f MB (body %.0f "
               "MB)\n",
               label, (double)len / 1e6, max_items, result_name(r), dt,
               (double)after.ru_maxrss / 1024, (double)before.ru_maxrss / 1024);
        ingest_batch_free(&b);
        ingest_errors_free(&e);
        free(body);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

int main(void)
{
    ingest_json_arena_init();
    printf("body reader: time of ingest_batch_parse, peak RSS of the whole child\n");
    run_case("issue 9: {} x 1.6M", "{}", 1600000, 10000);
    run_case("{} x 200k, limit 1M (jansson, all refused)", "{}", 200000, 1000000);
    run_case("{} x 1.6M, limit 2M (jansson, all refused)", "{}", 1600000, 2000000);
    run_case("[] x 1.6M", "[]", 1600000, 10000);
    const char *item = "{\"id\":\"t%zu\",\"customer_id\":\"c%zu\","
                       "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":\"12.50\"}";
    const char *utf8 = "{\"id\":\"t%zu\",\"customer_id\":\"\xc3\xa9%zu\","
                       "\"occurred_at\":\"2024-01-01T00:00:00Z\",\"amount\":\"12.50\"}";
    run_case("10k valid items (one-pass reader)", item, 10000, 10000);
    run_case("10k valid items, UTF-8 ids (jansson)", utf8, 10000, 10000);
    return 0;
}

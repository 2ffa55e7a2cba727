/* `bench_service ingest`: end-to-end ingest throughput. Transactions (read
 * from a CDNOW-style CSV, or generated) are cut into batches whose JSON
 * bodies are all built before the clock starts; then K client threads, each
 * on its own kept-alive connection, post them as fast as the server
 * acknowledges. The same rows can be written as a CSV for psql's \copy. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "service.h"
#include "stats.h"

typedef struct txn_row {
    char customer[32];
    char txn[32];
    char occurred[24]; /* RFC 3339, UTC */
    char amount[24];   /* decimal text */
} txn_row;

typedef struct ingest_run {
    const char *addr;
    size_t tenants; /* batch k to tenant t<k % tenants>; 0: /v1/transactions */
    char **bodies;  /* one JSON body per batch */
    size_t *body_len;
    size_t *batch_items; /* items in each batch */
    size_t n_batches;
    atomic_size_t next;  /* the next batch to post */
    atomic_size_t acked; /* items of batches answered 200 */
    atomic_size_t failed;
    double *latency; /* seconds, per batch */
} ingest_run;

/* 1997-01-01 + day as "YYYY-MM-DDT12:00:00Z" (noon: the UTC day is clear). */
static void format_day(int day, char out[24])
{
    time_t t = (time_t)(852076800 + (int64_t)day * 86400 + 43200);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* n rows over n / per_customer customers "PREFIX%07zu", on days from
 * 1997-01-01 to 1998-06-30 (546 days), amounts 5.00..104.99. Customers are
 * drawn from all of them (concurrent batches then share some, and wait for
 * each other's row locks), or, when disjoint, each batch of `batch` rows
 * from a range of its own (no two batches share a customer). */
static txn_row *generate_rows(size_t n, size_t per_customer, const char *prefix,
                              bool disjoint, size_t batch)
{
    txn_row *rows = calloc(n > 0 ? n : 1, sizeof *rows);
    size_t n_customers = n / per_customer > 0 ? n / per_customer : 1;
    size_t per_batch = batch / per_customer > 0 ? batch / per_customer : 1;
    uint64_t s = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; rows != NULL && i < n; i++) {
        txn_row *r = &rows[i];
        size_t cust = disjoint
                          ? i / batch * per_batch + (size_t)(next_rand(&s) % per_batch)
                          : (size_t)(next_rand(&s) % n_customers);
        snprintf(r->customer, sizeof r->customer, "%s%07zu", prefix, cust);
        snprintf(r->txn, sizeof r->txn, "%st%zu", prefix, i);
        format_day((int)(next_rand(&s) % 546), r->occurred);
        unsigned cents = (unsigned)(next_rand(&s) % 10000);
        snprintf(r->amount, sizeof r->amount, "%u.%02u", 5 + cents / 100, cents % 100);
    }
    return rows;
}

/* Rows of a CSV "customer_id,YYYY-MM-DD,amount" with a header line (the
 * CDNOW sample); transaction ids are "PREFIX<line>". */
static txn_row *read_csv_rows(const char *path, const char *prefix, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 8192;
    txn_row *rows = malloc(cap * sizeof *rows);
    char line[256], cust[32], date[11], amount[24];
    *n = 0;
    for (size_t lineno = 1; rows != NULL && fgets(line, sizeof line, f) != NULL;
         lineno++) {
        if (lineno == 1 ||
            sscanf(line, "%31[^,],%10[^,],%23[^,\r\n]", cust, date, amount) != 3)
            continue;
        if (*n == cap) {
            txn_row *r = realloc(rows, 2 * cap * sizeof *rows);
            if (r == NULL) {
                free(rows);
                rows = NULL;
                break;
            }
            rows = r;
            cap *= 2;
        }
        txn_row *r = &rows[(*n)++];
        snprintf(r->customer, sizeof r->customer, "%s", cust);
        snprintf(r->txn, sizeof r->txn, "%s%zu", prefix, lineno);
        snprintf(r->occurred, sizeof r->occurred, "%sT12:00:00Z", date);
        snprintf(r->amount, sizeof r->amount, "%s", amount);
    }
    fclose(f);
    return rows;
}

/* The JSON body of rows[0..n), or NULL when out of memory. */
static char *batch_body(const txn_row *rows, size_t n, size_t *len)
{
    size_t cap = 32 + n * (sizeof(txn_row) + 64);
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    size_t k = (size_t)snprintf(b, cap, "{\"transactions\":[");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(
            b + k, cap - k,
            "%s{\"id\":\"%s\",\"customer_id\":\"%s\",\"occurred_at\":\"%s\","
            "\"amount\":%s}",
            i > 0 ? "," : "", rows[i].txn, rows[i].customer, rows[i].occurred,
            rows[i].amount);
    k += (size_t)snprintf(b + k, cap - k, "]}");
    *len = k;
    return b;
}

/* customer_id,txn_id,occurred_at,amount: the column order of psql's \copy
 * in bench/service.sh. */
static bool write_csv(const char *path, const txn_row *rows, size_t n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s,%s,%s,%s\n", rows[i].customer, rows[i].txn, rows[i].occurred,
                rows[i].amount);
    return fclose(f) == 0;
}

static void *post_batches(void *arg)
{
    ingest_run *run = arg;
    bench_client c;
    if (!bench_client_init(&c, run->addr))
        return NULL;
    for (;;) {
        size_t k = atomic_fetch_add(&run->next, 1);
        if (k >= run->n_batches)
            break;
        char path[64] = "/v1/transactions";
        if (run->tenants > 0)
            snprintf(path, sizeof path, "/v1/tenants/t%zu/transactions",
                     k % run->tenants);
        double t0 = bench_now();
        bool ok =
            bench_client_request(&c, "POST", path, run->bodies[k], run->body_len[k]);
        run->latency[k] = bench_now() - t0;
        if (ok && c.status == 200) {
            atomic_fetch_add(&run->acked, run->batch_items[k]);
        } else {
            atomic_fetch_add(&run->failed, 1);
            if (atomic_load(&run->failed) <= 3)
                fprintf(stderr, "ingest: batch %zu: %s %d %.200s\n", k,
                        ok ? "status" : "network error", ok ? c.status : 0,
                        ok ? c.body : "");
        }
    }
    bench_client_close(&c);
    return NULL;
}

/* Posts every batch with `clients` threads; prints the INGEST line. */
static int run_clients(ingest_run *run, size_t n_rows, size_t clients)
{
    pthread_t th[64];
    double t0 = bench_now();
    size_t started = 0;
    for (; started < clients; started++)
        if (pthread_create(&th[started], NULL, post_batches, run) != 0)
            break;
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double secs = bench_now() - t0;
    size_t acked = atomic_load(&run->acked);
    printf("INGEST rows=%zu batches=%zu clients=%zu acked=%zu failed_batches=%zu "
           "seconds=%.3f txn_per_s=%.0f batch_p50_ms=%.1f batch_p99_ms=%.1f\n",
           n_rows, run->n_batches, started, acked, atomic_load(&run->failed), secs,
           (double)acked / secs, 1e3 * bench_percentile(run->latency, run->n_batches, 50),
           1e3 * bench_percentile(run->latency, run->n_batches, 99));
    return started == clients && atomic_load(&run->failed) == 0 ? 0 : 1;
}

int service_ingest(const service_opts *o)
{
    size_t n = o->n;
    txn_row *rows = o->csv_in != NULL ? read_csv_rows(o->csv_in, o->prefix, &n)
                                      : generate_rows(n, o->per_customer, o->prefix,
                                                      o->disjoint, o->batch);
    if (rows == NULL || n == 0 || o->clients == 0 || o->clients > 64 || o->batch == 0) {
        fprintf(stderr, "ingest: no rows (or bad --clients/--batch)\n");
        free(rows);
        return 1;
    }
    if (o->csv_out != NULL && !write_csv(o->csv_out, rows, n)) {
        fprintf(stderr, "ingest: cannot write %s\n", o->csv_out);
        free(rows);
        return 1;
    }
    ingest_run run = {.addr = o->addr,
                      .tenants = o->tenants,
                      .n_batches = (n + o->batch - 1) / o->batch};
    run.bodies = calloc(run.n_batches, sizeof *run.bodies);
    run.body_len = calloc(run.n_batches, sizeof *run.body_len);
    run.batch_items = calloc(run.n_batches, sizeof *run.batch_items);
    run.latency = calloc(run.n_batches, sizeof *run.latency);
    bool ok = run.bodies && run.body_len && run.batch_items && run.latency;
    for (size_t k = 0; ok && k < run.n_batches; k++) {
        size_t from = k * o->batch, m = n - from < o->batch ? n - from : o->batch;
        run.batch_items[k] = m;
        run.bodies[k] = batch_body(rows + from, m, &run.body_len[k]);
        ok = run.bodies[k] != NULL;
    }
    free(rows);
    int rc = ok ? run_clients(&run, n, o->clients) : 1;
    for (size_t k = 0; run.bodies != NULL && k < run.n_batches; k++)
        free(run.bodies[k]);
    free(run.bodies);
    free(run.body_len);
    free(run.batch_items);
    free(run.latency);
    return rc;
}

/* The subcommands of bench_service (see main.c) and their shared options. */
#ifndef LTVD_BENCH_SERVICE_H
#define LTVD_BENCH_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct service_opts {
    const char *addr;    /* HOST:PORT of `ltvd serve` */
    size_t n;            /* ingest: rows to generate; cache: customers */
    size_t clients;      /* ingest: concurrent connections */
    size_t batch;        /* items per POST */
    size_t per_customer; /* ingest: mean transactions per generated customer */
    bool disjoint;       /* ingest: each batch has customers of its own */
    const char *prefix;  /* ids of generated customers and transactions */
    size_t tenants;      /* ingest: batch k to /v1/tenants/t<k % tenants>/... (0: /v1) */
    const char *csv_in;  /* ingest: CDNOW-style CSV instead of generated rows */
    const char *csv_out; /* ingest: the same rows for psql \copy */
    size_t trials;       /* delay */
    const char *ids;     /* delay: file of customer ids, one a line */
    const char *as_of;   /* delay: the server's as_of, YYYY-MM-DD */
    size_t id_len;       /* cache: 12 or 36 */
    const char *paths;   /* lists, load: file of request paths, one a line */
    size_t seconds;      /* load: how long */
} service_opts;

/* Each returns the process exit status and prints one result line
 * "NAME key=value ..." on stdout (bench/service.sh reads those). */
int service_ingest(const service_opts *o);
int service_delay(const service_opts *o);
int service_cache(const service_opts *o);
int service_rebuild(const service_opts *o);
int service_lists(const service_opts *o);
int service_load(const service_opts *o);

#endif

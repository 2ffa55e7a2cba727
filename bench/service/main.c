/* bench_service: the C half of the service benchmarks of `make bench`
 * (bench/service.sh runs the servers and prints the table):
 *   ingest ADDR   batches posted by concurrent clients, transactions/s
 *   delay ADDR    from a batch's acknowledgement to its score being served
 *   cache         in-process cache memory per customer
 *   rebuild       time of app_open (migrate + cache rebuild) on DATABASE_URL
 *   lists ADDR    list page latency per path (lists.c)
 *   load ADDR     /healthz latency while lists run (lists.c) */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

static const char usage[] =
    "usage: bench_service ingest ADDR [--n N] [--clients K] [--batch B]\n"
    "                            [--per-customer M] [--disjoint] [--prefix P]\n"
    "                            [--csv-in F] [--csv-out F] [--tenants T]\n"
    "       bench_service delay ADDR --ids FILE --as-of YYYY-MM-DD [--trials T] [--batch "
    "B]\n"
    "       bench_service cache [--n N] [--id-len 12|36]\n"
    "       bench_service rebuild        (DATABASE_URL, LTVD_* as for ltvd serve)\n"
    "       bench_service lists ADDR --paths FILE [--trials N]\n"
    "       bench_service load ADDR --paths FILE --clients K [--seconds S]\n";

static int parse(int argc, char **argv, service_opts *o)
{
    static const struct option opts[] = {{"n", required_argument, NULL, 'n'},
                                         {"clients", required_argument, NULL, 'c'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"per-customer", required_argument, NULL, 'm'},
                                         {"prefix", required_argument, NULL, 'p'},
                                         {"csv-in", required_argument, NULL, 'i'},
                                         {"csv-out", required_argument, NULL, 'o'},
                                         {"trials", required_argument, NULL, 't'},
                                         {"ids", required_argument, NULL, 'd'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {"id-len", required_argument, NULL, 'l'},
                                         {"disjoint", no_argument, NULL, 'j'},
                                         {"paths", required_argument, NULL, 'P'},
                                         {"seconds", required_argument, NULL, 's'},
                                         {"tenants", required_argument, NULL, 'T'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        size_t v = optarg != NULL ? strtoul(optarg, NULL, 10) : 0;
        switch (c) {
        case 'n':
            o->n = v;
            break;
        case 'c':
            o->clients = v;
            break;
        case 'b':
            o->batch = v;
            break;
        case 'm':
            o->per_customer = v > 0 ? v : 1;
            break;
        case 'p':
            o->prefix = optarg;
            break;
        case 'i':
            o->csv_in = optarg;
            break;
        case 'o':
            o->csv_out = optarg;
            break;
        case 't':
            o->trials = v;
            break;
        case 'd':
            o->ids = optarg;
            break;
        case 'a':
            o->as_of = optarg;
            break;
        case 'l':
            o->id_len = v;
            break;
        case 'j':
            o->disjoint = true;
            break;
        case 'P':
            o->paths = optarg;
            break;
        case 's':
            o->seconds = v;
            break;
        case 'T':
            o->tenants = v;
            break;
        default:
            return -1;
        }
    }
    return optind;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    service_opts o = {.n = 400000,
                      .clients = 8,
                      .batch = 1000,
                      .per_customer = 4,
                      .prefix = "g",
                      .trials = 200,
                      .id_len = 12};
    bool needs_addr = strcmp(cmd, "ingest") == 0 || strcmp(cmd, "delay") == 0 ||
                      strcmp(cmd, "lists") == 0 || strcmp(cmd, "load") == 0;
    int first = needs_addr ? 2 : 1;
    if (needs_addr && (argc < 3 || argv[2][0] == '-')) {
        fputs(usage, stderr);
        return 2;
    }
    o.addr = needs_addr ? argv[2] : NULL;
    int end = parse(argc - first, argv + first, &o);
    if (end < 0 || end != argc - first) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(cmd, "ingest") == 0)
        return service_ingest(&o);
    if (strcmp(cmd, "delay") == 0)
        return service_delay(&o);
    if (strcmp(cmd, "cache") == 0)
        return service_cache(&o);
    if (strcmp(cmd, "rebuild") == 0)
        return service_rebuild(&o);
    if (strcmp(cmd, "lists") == 0)
        return service_lists(&o);
    if (strcmp(cmd, "load") == 0)
        return service_load(&o);
    fputs(usage, stderr);
    return 2;
}

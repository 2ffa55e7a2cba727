/* Percentiles of measured durations, for the service benchmarks. */
#ifndef LTVD_BENCH_STATS_H
#define LTVD_BENCH_STATS_H

#include <stddef.h>

/* Sorts v[0..n) in place and returns its p-th percentile (0..100, nearest
 * rank); 0 when n is 0. */
double bench_percentile(double *v, size_t n, double p);

#endif

/* Request metrics: counters by route and status and latency histograms by
 * route, kept in C11 atomics (no lock on the request path) and rendered as
 * Prometheus text in one place. */
#ifndef LTVD_METRICS_H
#define LTVD_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics;

/* Room for nroutes routes plus one "unmatched" slot (index nroutes).
 * Returns NULL when out of memory. Free with metrics_free. */
metrics *metrics_new(size_t nroutes);
void metrics_free(metrics *m);

/* Labels route i (method and pattern are borrowed and must outlive m). */
void metrics_set_route(metrics *m, size_t route, const char *method, const char *pattern);

/* Counts one finished request. route == nroutes (or anything larger) is
 * the unmatched slot; status outside 100..599 is counted as 0. */
void metrics_observe(metrics *m, size_t route, unsigned status, uint64_t usec);

/* The Prometheus text exposition (format 0.0.4). Returns a malloc'd,
 * NUL-terminated string the caller frees, and its length in *len; NULL when
 * out of memory. */
char *metrics_render(const metrics *m, size_t *len);

#endif

/* The service's own Prometheus metrics (app_metrics.c). */
#ifndef LTVD_APP_APP_METRICS_H
#define LTVD_APP_APP_METRICS_H

#include <stddef.h>

/* The service's Prometheus text for GET /metrics (an http_metrics_source;
 * cls is the app): ingest counters, refits and their duration, cache size,
 * model version. */
char *app_metrics_render(void *cls, size_t *len);

#endif

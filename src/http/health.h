/* Operations endpoints: GET /healthz, GET /readyz, GET /metrics. `ltvd
 * serve` adds them with http_server_add_probe_routes: they answer while
 * the service starts (their callbacks read only what start-up published). */
#ifndef LTVD_HTTP_HEALTH_H
#define LTVD_HTTP_HEALTH_H

#include <stddef.h>

#include "http/http.h"

extern const http_route health_routes[];
extern const size_t health_nroutes;

#endif
